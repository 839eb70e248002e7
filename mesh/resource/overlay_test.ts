import { assert, assertEquals, assertThrows } from "@std/assert";
import { Region } from "../../ndslice/region.ts";
import { applyOverlay, OverlayError, StatusOverlay } from "./overlay.ts";
import { Status } from "./status.ts";
import { ValueMesh } from "./value_mesh.ts";

const run = (start: number, end: number, value: Status) => ({ start, end, value });

Deno.test("MS-14: StatusOverlay validates runs", () => {
  const cases: [ReturnType<typeof run>[], string][] = [
    [[run(1, 1, Status.Running)], "EmptyRun"],
    [[run(2, 1, Status.Running)], "EmptyRun"],
    [[run(0, 2, Status.Running), run(1, 3, Status.Stopped)], "Unsorted"],
    [[run(2, 3, Status.Running), run(0, 1, Status.Stopped)], "Unsorted"],
    [[run(-1, 1, Status.Running)], "InvalidRun"],
    [[run(0, 1.5, Status.Running)], "InvalidRun"],
    [[{ start: 0, end: 1, value: { kind: "Nope" } as unknown as Status }], "InvalidRun"],
  ];
  for (const [runs, kind] of cases) {
    const err = assertThrows(() => new StatusOverlay(runs), OverlayError);
    assertEquals(err.kind, kind, `MS-14: ${JSON.stringify(runs)}`);
  }
});

Deno.test("MS-14: StatusOverlay coalesces touching equal runs only", () => {
  const o = new StatusOverlay([
    run(0, 1, Status.failed("x")),
    run(1, 2, { kind: "Failed", message: "x" }),
    run(3, 4, Status.failed("x")),
    run(4, 5, Status.failed("y")),
  ]);
  assertEquals(o.runs().map((r) => [r.start, r.end]), [[0, 2], [3, 4], [4, 5]]);
  assert(new StatusOverlay().isEmpty);
  assertEquals(StatusOverlay.single(7, Status.Stopped).runs(), [run(7, 8, Status.Stopped)]);
  assertThrows(() => StatusOverlay.single(-1, Status.Stopped), OverlayError);
});

Deno.test("StatusOverlay JSON round-trips and fromJSON() validates", () => {
  const o = new StatusOverlay([run(0, 2, Status.Running), run(5, 6, Status.timeout(10))]);
  const back = StatusOverlay.fromJSON(JSON.parse(JSON.stringify(o)));
  assertEquals(back.runs(), o.runs());
  for (const bad of [null, 1, {}, { runs: 1 }, { runs: [{ start: 0, end: 1 }] }]) {
    assertThrows(() => StatusOverlay.fromJSON(bad), OverlayError);
  }
});

Deno.test("StatusOverlay.merge() lets the later overlay win", () => {
  const a = new StatusOverlay([run(0, 4, Status.Running)]);
  const b = new StatusOverlay([run(2, 6, Status.Stopped)]);
  assertEquals(a.merge(b).toString(), "[0..2: Running, 2..6: Stopped]");
  assertEquals(b.merge(a).toString(), "[0..4: Running, 4..6: Stopped]");
});

Deno.test("MS-15: applyOverlay() is right-wins and rejects out-of-range runs", () => {
  const region = Region.parse("replica=2/2,host=2/1");
  let mesh = ValueMesh.fromSingle(region, Status.NotExist);
  mesh = applyOverlay(mesh, StatusOverlay.single(2, Status.Running));
  mesh = applyOverlay(mesh, new StatusOverlay([run(0, 3, Status.Initializing)]));
  mesh = applyOverlay(mesh, StatusOverlay.single(1, Status.failed("boom")));
  assertEquals(
    mesh.values().map((s) => s.kind),
    ["Initializing", "Failed", "Initializing", "NotExist"],
    "MS-15",
  );
  const err = assertThrows(
    () => applyOverlay(mesh, StatusOverlay.single(4, Status.Running)),
    OverlayError,
  );
  assertEquals(err.kind, "OutOfRange", "MS-15: out of range");
  assertEquals(applyOverlay(mesh, new StatusOverlay()).values(), mesh.values());
});

Deno.test("MS-15: applyOverlay() matches a per-rank model on random overlays", () => {
  let seed = 1;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const statuses = [Status.Running, Status.Stopped, Status.failed("a"), Status.failed("b")];
  const region = Region.parse("x=4/4,y=4/1");
  let mesh = ValueMesh.fromSingle(region, Status.NotExist);
  const model: Status[] = Array(16).fill(Status.NotExist);
  for (let i = 0; i < 300; i++) {
    const runs = [];
    let at = rand(4);
    while (at < 16) {
      const end = Math.min(16, at + 1 + rand(5));
      runs.push(run(at, end, statuses[rand(statuses.length)]));
      at = end + rand(3);
    }
    mesh = applyOverlay(mesh, new StatusOverlay(runs));
    for (const r of runs) for (let k = r.start; k < r.end; k++) model[k] = r.value;
    assertEquals(mesh.values(), model, "MS-15");
    const rs = mesh.runs();
    for (let k = 1; k < rs.length; k++) {
      assert(JSON.stringify(rs[k - 1].value) !== JSON.stringify(rs[k].value), "MS-12");
    }
  }
});
