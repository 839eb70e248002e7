import { assert, assertEquals, assertThrows } from "@std/assert";
import { Extent, ExtentError, NdsliceParseError, Point, PointError } from "./extent.ts";

Deno.test("ND-4: Extent ranks are row-major and round-trip through points", () => {
  const e = Extent.of({ x: 4, y: 5, z: 6 });
  assertEquals(e.numRanks, 120);
  assertEquals(e.pointOfRank(6 * 5 + 1).coords, [1, 0, 1]);
  let rank = 0;
  for (const p of e.points()) {
    const [x, y, z] = p.coords;
    assertEquals(z + y * 6 + x * 30, rank, "ND-4: row-major");
    assertEquals(e.rankOf(p.coords), rank++, "ND-4: rankOf inverts pointOfRank");
  }
  assertEquals(rank, 120);
});

Deno.test("ND-4: the unity extent has exactly one rank and an empty point", () => {
  const u = Extent.unity();
  assertEquals([u.numDims, u.numRanks, u.toString(), u.toCompactString()], [0, 1, "{}", ""]);
  const pts = [...u.points()];
  assertEquals(pts.length, 1);
  assertEquals([pts[0].rank, pts[0].coords, pts[0].toString()], [0, [], ""]);
  assert(Point.parse("").equals(pts[0]));
});

Deno.test("Extent point errors carry their kind", () => {
  const e = Extent.of({ x: 2, y: 3 });
  assertEquals(assertThrows(() => e.point([1]), PointError).kind, "DimMismatch");
  assertEquals(assertThrows(() => e.point([1, 3]), PointError).kind, "OutOfRangeIndex");
  assertEquals(assertThrows(() => e.pointOfRank(6), PointError).kind, "OutOfRangeRank");
  assertEquals(assertThrows(() => e.pointOfRank(-1), PointError).kind, "OutOfRangeRank");
});

Deno.test("ND-5: Extent rejects duplicate labels, in the constructor and concat()", () => {
  assertEquals(
    assertThrows(() => new Extent(["a", "a"], [1, 2]), ExtentError).kind,
    "DuplicateLabel",
  );
  const host = Extent.of({ hosts: 2 });
  const err = assertThrows(() => host.concat(Extent.of({ gpus: 2, hosts: 3 })), ExtentError);
  assertEquals([err.kind, err.label], ["DuplicateLabel", "hosts"], "ND-5: concat duplicate");
  assertEquals(
    host.concat(Extent.of({ gpus: 4 })).toCompactString(),
    "hosts=2,gpus=4",
  );
  assertEquals(assertThrows(() => new Extent(["a"], []), ExtentError).kind, "DimMismatch");
  assertThrows(() => new Extent(["a"], [-1]), RangeError);
});

Deno.test("Extent display quotes unsafe labels like the reference", () => {
  assertEquals(Extent.of({ x: 4, y: 5, z: 6 }).toString(), "{x: 4, y: 5, z: 6}");
  assertEquals(new Extent(["dim/0", "dim,1"], [3, 5]).toString(), '{"dim/0": 3, "dim,1": 5}');
  const p = new Extent(["dim/0", "dim,1"], [3, 5]).point([1, 2]);
  assertEquals(p.toString(), '"dim/0"=1/3,"dim,1"=2/5');
  assertEquals(Extent.of({ x: 4, y: 5, z: 6 }).point([1, 2, 3]).toString(), "x=1/4,y=2/5,z=3/6");
});

Deno.test("ND-6: Extent.parse() accepts compact and display forms and round-trips", () => {
  const e = new Extent(["replica", "dim/0", "", 'q"\\\n\r\t'], [2, 3, 1, 4]);
  assert(Extent.parse(e.toCompactString()).equals(e), "ND-6: compact");
  assert(Extent.parse(e.toString()).equals(e), "ND-6: display");
  assert(Extent.parse("hosts=2").equals(Extent.of({ hosts: 2 })));
  assert(Extent.parse("").equals(Extent.unity()));
  assert(Extent.parse("{}").equals(Extent.unity()));
  assert(Extent.parse("a=1, b=2").equals(Extent.of({ a: 1, b: 2 })));
});

Deno.test("ND-6: Extent.parse() rejects malformed text with NdsliceParseError", () => {
  for (
    const bad of ["hosts", "hosts=", "=2", "a=2,", "a=2,a=3", "a b=2", "a=-1", "{a=1}", "a=1}"]
  ) {
    const err = assertThrows(() => Extent.parse(bad), NdsliceParseError, undefined, bad);
    assertEquals([err.input, err.what], [bad, "Extent"]);
  }
});

Deno.test("ND-6: Point.parse() round-trips and rejects out-of-range coordinates", () => {
  const e = new Extent(["replica", "dim/0"], [2, 3]);
  for (const p of e.points()) assert(Point.parse(p.toString()).equals(p), `ND-6: ${p}`);
  const err = assertThrows(() => Point.parse("x=2/2"), NdsliceParseError);
  assert(err.cause instanceof PointError);
  assertThrows(() => Point.parse("x=1"), NdsliceParseError);
  assertThrows(() => Point.parse("x=1/2,"), NdsliceParseError);
});

Deno.test("Point.coord() reads by index or label", () => {
  const p = Extent.of({ zone: 2, host: 4, gpu: 8 }).point([1, 2, 3]);
  assertEquals([p.coord(0), p.coord("host"), p.coord(2)], [1, 2, 3]);
  assertEquals(p.rank, 1 * 32 + 2 * 8 + 3);
  assertThrows(() => p.coord(3), RangeError);
  assertThrows(() => p.coord("nope"), RangeError);
});

Deno.test("Extent.of() keeps insertion order; equals() is order-sensitive", () => {
  const e = Extent.of({ replica: 2, host: 2 });
  assertEquals(e.labels, ["replica", "host"]);
  assertEquals([e.position("host"), e.size("host"), e.size("nope")], [1, 2, undefined]);
  assert(!e.equals(Extent.of({ host: 2, replica: 2 })));
  assertEquals(JSON.parse(JSON.stringify(e)), { labels: ["replica", "host"], sizes: [2, 2] });
});
