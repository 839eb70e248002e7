import { assertEquals, assertThrows } from "@std/assert";
import { Region } from "../../ndslice/region.ts";
import { OverlayError } from "./overlay.ts";
import { RankedValues } from "./ranked_values.ts";
import { isNotExist, Status } from "./status.ts";
import { ValueMesh } from "./value_mesh.ts";

Deno.test("MS-13: RankedValues.mergeFrom() lets other win and coalesces", () => {
  const rv = RankedValues.fromRange({ start: 0, end: 10 }, "a");
  rv.mergeFrom(RankedValues.fromRange({ start: 3, end: 5 }, "b"));
  assertEquals(rv.intervals().map((r) => [r.start, r.end, r.value]), [
    [0, 3, "a"],
    [3, 5, "b"],
    [5, 10, "a"],
  ]);
  rv.mergeFrom(RankedValues.fromRange({ start: 3, end: 5 }, "a"));
  assertEquals(rv.intervals().length, 1, "MS-13: coalesced back");
  rv.mergeFrom(RankedValues.fromRange({ start: 12, end: 14 }, "c"));
  assertEquals(rv.toString(), "a=0..10;c=12..14");
  assertEquals([rv.get(11), rv.get(13), rv.numRanks], [undefined, "c", 12]);
});

Deno.test("MS-13: RankedValues.mergeFrom() keeps gaps and partial overlaps", () => {
  const rv = new RankedValues([{ start: 0, end: 2, value: 1 }, { start: 4, end: 6, value: 1 }]);
  rv.mergeFrom(new RankedValues([{ start: 1, end: 5, value: 2 }]));
  assertEquals(rv.toJSON(), [
    { start: 0, end: 1, value: 1 },
    { start: 1, end: 5, value: 2 },
    { start: 5, end: 6, value: 1 },
  ]);
  assertThrows(() => RankedValues.fromRange({ start: 2, end: 2 }, 1), OverlayError);
});

Deno.test("RankedValues.firstTerminating() / firstFailed()", () => {
  const rv = RankedValues.fromRange({ start: 0, end: 6 }, Status.Running)
    .mergeFrom(RankedValues.fromRank(2, Status.Stopping))
    .mergeFrom(RankedValues.fromRank(4, Status.failed("boom")));
  assertEquals(rv.firstTerminating(), { rank: 2, value: Status.Stopping });
  assertEquals(rv.firstFailed(), { rank: 4, value: Status.failed("boom") });
  assertEquals(
    RankedValues.fromRange({ start: 0, end: 2 }, Status.Running).firstTerminating(),
    undefined,
  );
  assertEquals(RankedValues.fromRank(0, Status.timeout(1)).firstFailed(), undefined);
});

Deno.test("RankedValues.invert() groups by value with the reference display", () => {
  const rv = RankedValues.fromRange({ start: 0, end: 4 }, Status.Running)
    .mergeFrom(RankedValues.fromRank(1, Status.failed("x")))
    .mergeFrom(RankedValues.fromRank(3, { kind: "Failed", message: "x" } as Status));
  const inv = rv.invert();
  assertEquals(inv.groups.length, 2);
  assertEquals(inv.toString(), "Running=0..1,2..3;Failed(x)=1..2,3..4");
  const custom = RankedValues.fromRange({ start: 0, end: 2 }, 5, { format: (v) => `#${v}` });
  assertEquals(custom.toString(), "#5=0..2");
});

Deno.test("RankedValues.fromMesh() is the legacy timeout shim", () => {
  const region = Region.parse("hosts=4/1");
  const mesh = ValueMesh.fromValues(region, [
    Status.Running,
    Status.NotExist,
    Status.NotExist,
    Status.failed("x"),
  ]);
  const rv = RankedValues.fromMesh(mesh, {
    fallback: Status.timeout(30_000),
    isSentinel: isNotExist,
    len: 4,
  });
  assertEquals(rv.toString(), "Running=0..1;Timeout(30s)=1..3;Failed(x)=3..4");
  assertEquals(
    RankedValues.fromMesh(mesh, { fallback: Status.NotExist, isSentinel: isNotExist, len: 0 })
      .numRanks,
    2,
  );
});
