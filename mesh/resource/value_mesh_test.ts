import { assert, assertEquals, assertThrows } from "@std/assert";
import { Region } from "../../ndslice/region.ts";
import { Status } from "./status.ts";
import { OverlayError } from "./overlay.ts";
import { ValueMesh } from "./value_mesh.ts";

const R4 = Region.parse("replica=2/2,host=2/1");

Deno.test("MS-12: ValueMesh.fromValues() run-length encodes and coalesces", () => {
  const m = ValueMesh.fromValues(R4, [Status.Running, Status.Running, Status.failed("x"), {
    kind: "Failed",
    message: "x",
  } as Status]);
  assertEquals(m.runs().map((r) => [r.start, r.end]), [[0, 2], [2, 4]], "MS-12: coalesced");
  assertEquals(m.values().map((s) => s.kind), ["Running", "Running", "Failed", "Failed"]);
  assertEquals(m.get(3), Status.failed("x"));
  assertThrows(() => m.get(4), RangeError);
  assertThrows(() => m.get(-1), RangeError);
  assertThrows(() => ValueMesh.fromValues(R4, [1, 2, 3]), RangeError);
});

Deno.test("MS-12: ValueMesh.fromSingle() covers the region, also a sliced one", () => {
  const sub = R4.range("replica", 1);
  const m = ValueMesh.fromSingle(sub, Status.NotExist);
  assertEquals(m.numRanks, 2);
  assertEquals(m.runs(), [{ start: 0, end: 2, value: Status.NotExist }]);
  assertEquals(ValueMesh.fromSingle(Region.parse("x=0/1"), 1).runs(), []);
});

Deno.test("MS-12: ValueMesh.fromRuns() requires gap-free coverage", () => {
  const ok = ValueMesh.fromRuns(R4, [{ start: 0, end: 1, value: "a" }, {
    start: 1,
    end: 4,
    value: "b",
  }]);
  assertEquals(ok.values(), ["a", "b", "b", "b"]);
  for (
    const runs of [
      [{ start: 0, end: 3, value: "a" }],
      [{ start: 1, end: 4, value: "a" }],
      [{ start: 0, end: 1, value: "a" }, { start: 2, end: 4, value: "a" }],
      [{ start: 0, end: 5, value: "a" }],
    ]
  ) {
    assertThrows(() => ValueMesh.fromRuns(R4, runs), OverlayError);
  }
});

Deno.test("ValueMesh.merge() is right-wins and leaves the original unchanged", () => {
  const base = ValueMesh.fromSingle(R4, 0);
  const next = base.merge([{ start: 1, end: 3, value: 7 }]);
  assertEquals(next.values(), [0, 7, 7, 0]);
  assertEquals(base.values(), [0, 0, 0, 0]);
  assertEquals(next.merge([{ start: 1, end: 3, value: 0 }]).runs().length, 1);
  assertThrows(() => base.merge([{ start: 3, end: 5, value: 1 }]), OverlayError);
});

Deno.test("ValueMesh.map(), equals() and JSON", () => {
  const m = ValueMesh.fromValues(R4, [1, 2, 3, 4]);
  const odd = m.map((v) => v % 2 === 1);
  assertEquals(odd.values(), [true, false, true, false]);
  assert(m.equals(ValueMesh.fromValues(R4, [1, 2, 3, 4])));
  assert(!m.equals(ValueMesh.fromValues(R4, [1, 2, 3, 5])));
  assertEquals(JSON.parse(JSON.stringify(ValueMesh.fromSingle(R4, "x"))), {
    region: "replica=2/2,host=2/1",
    runs: [{ start: 0, end: 4, value: "x" }],
  });
  assertEquals(
    ValueMesh.fromValues(R4, [Status.Running, Status.Running, Status.NotExist, Status.timeout(5)])
      .toString(),
    "replica=2/2,host=2/1{0..2: Running, 2..3: NotExist, 3..4: Timeout(5ms)}",
  );
});

Deno.test("ValueMesh uses a custom key when given", () => {
  const byLen = { keyOf: (s: string) => String(s.length) };
  const m = ValueMesh.fromValues(R4, ["a", "b", "cc", "dd"], byLen);
  assertEquals(m.runs().length, 2);
});
