import { assert, assertEquals, assertThrows } from "@std/assert";
import { Extent, ExtentError } from "./extent.ts";
import { NdsliceParseError, Region, RegionError } from "./region.ts";
import { Slice, SliceError } from "./slice.ts";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

const LABEL_CHARS = [
  "a",
  "z",
  "_",
  "0",
  "9",
  "/",
  ",",
  "=",
  "+",
  " ",
  '"',
  "\\",
  "\n",
  "\r",
  "\t",
  "é",
  "@",
];

function randomRegion(r: () => number): Region {
  const dims = Math.floor(r() * 5);
  const labels = new Set<string>();
  while (labels.size < dims) {
    const len = Math.floor(r() * 5);
    labels.add(Array.from({ length: len }, () => pick(r, LABEL_CHARS)).join(""));
  }
  let region = Region.fromExtent(
    new Extent([...labels], [...labels].map(() => 1 + Math.floor(r() * 6))),
  );
  for (const label of labels) {
    if (r() < 0.5) continue;
    const size = region.extent().size(label)!;
    const start = Math.floor(r() * size);
    region = region.range(label, { start, step: 1 + Math.floor(r() * 3) });
  }
  if (r() < 0.3) {
    const { sizes, strides } = region.slice;
    region = new Region(region.labels, new Slice(Math.floor(r() * 200), sizes, strides));
  }
  return region;
}

Deno.test("ND-1: Region text matches the seed examples", () => {
  const hosts = Region.fromExtent(Extent.of({ replica: 2, host: 2 }));
  assertEquals(hosts.toString(), "replica=2/2,host=2/1");
  assertEquals(hosts.range("replica", 1).toString(), "2+replica=1/2,host=2/1");
  assert(Region.parse("replica=2/2,host=2/1").equals(hosts), "ND-1: parse");
  assertEquals(Region.parse("2+replica=1/2,host=2/1").ranks(), [2, 3]);
  assertEquals(
    new Region(["dim/0"], new Slice(8, [4], [1])).toString(),
    '8+"dim/0"=4/1',
  );
});

Deno.test("ND-1: the host-mesh-ref subset example selects hosts 3 and 4", () => {
  // "test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1" → range("replica", 1)
  const hosts = ["local:1", "local:2", "local:3", "local:4"];
  const region = Region.parse("replica=2/2,host=2/1");
  const sub = region.range("replica", 1);
  const picked = sub.ranks().map((r) => hosts[r]);
  assertEquals(`test:${picked.join(",")}@${sub}`, "test:local:3,local:4@2+replica=1/2,host=2/1");
});

Deno.test("ND-1: Region text round-trips for random strided regions with odd labels", () => {
  const r = rng(42);
  for (let i = 0; i < 500; i++) {
    const region = randomRegion(r);
    const text = region.toString();
    const parsed = Region.parse(text);
    assert(parsed.equals(region), `ND-1: ${JSON.stringify(text)}`);
    assertEquals(parsed.toString(), text, "ND-1: canonical text");
  }
});

Deno.test("ND-1: Region text round-trips for the unity region and numeric labels", () => {
  for (
    const region of [
      Region.fromExtent(Extent.unity()),
      new Region([], new Slice(5, [], [])),
      new Region(["0", "12"], Slice.rowMajor([2, 3])),
      new Region(["7"], new Slice(3, [2], [1])),
    ]
  ) {
    assert(Region.parse(region.toString()).equals(region), `ND-1: ${region}`);
  }
  assertEquals(new Region(["7"], new Slice(3, [2], [1])).toString(), "3+7=2/1");
});

Deno.test("ND-1: Region.parse() rejects malformed text, naming the input", () => {
  const bad = [
    "x",
    "x=",
    "x=2",
    "x=2/",
    "x=2/1,",
    ",x=2/1",
    "x=2/1,,y=1/1",
    "+x=2/1",
    "2++x=1/1",
    "x=2/1 ",
    " x=2/1",
    "x = 2/1",
    "x=a/1",
    "x=2/1;y=1/1",
    '"x=2/1',
    '"x\\q"=2/1',
    "x/y=2/1",
    "x=-2/1",
    "x=2/0",
    "x=2/1,x=2/2",
    "x=2/1,y=2/1",
    "x=99999999999999999999/1",
    "é=2/1",
  ];
  for (const text of bad) {
    const err = assertThrows(() => Region.parse(text), NdsliceParseError, undefined, text);
    assertEquals([err.input, err.what], [text, "Region"]);
    assert(err.message.includes(JSON.stringify(text)), "ND-1: message names the input");
  }
  assert(
    assertThrows(() => Region.parse("x=2/1,y=2/1"), NdsliceParseError).cause instanceof SliceError,
  );
  assert(
    assertThrows(() => Region.parse("x=2/2,x=2/1"), NdsliceParseError).cause instanceof ExtentError,
  );
});

Deno.test("ND-1: Region.parse() throws only NdsliceParseError on random input (fuzz)", () => {
  const r = rng(7);
  const alphabet = [
    "x",
    "y",
    "0",
    "1",
    "2",
    "9",
    "+",
    "=",
    ",",
    "/",
    '"',
    "\\",
    "n",
    " ",
    "-",
    "é",
  ];
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    const len = Math.floor(r() * 14);
    const text = Array.from({ length: len }, () => pick(r, alphabet)).join("");
    try {
      const region = Region.parse(text);
      accepted++;
      assert(Region.parse(region.toString()).equals(region), `ND-1: reparse ${text}`);
    } catch (err) {
      if (!(err instanceof NdsliceParseError)) {
        throw new Error(`ND-1: ${JSON.stringify(text)} threw ${err}`, { cause: err });
      }
      assertEquals(err.input, text);
    }
  }
  assert(accepted > 0, "fuzz should hit some valid regions");
});

Deno.test("ND-1: Region.parse() survives mutations of valid texts (fuzz)", () => {
  const r = rng(99);
  for (let i = 0; i < 2000; i++) {
    const chars = [...randomRegion(r).toString()];
    const n = 1 + Math.floor(r() * 3);
    for (let k = 0; k < n && chars.length > 0; k++) {
      const at = Math.floor(r() * chars.length);
      if (r() < 0.5) chars.splice(at, 1);
      else chars.splice(at, 0, pick(r, [...LABEL_CHARS, "1", "+"]));
    }
    const text = chars.join("");
    try {
      const region = Region.parse(text);
      assert(Region.parse(region.toString()).equals(region));
    } catch (err) {
      assert(err instanceof NdsliceParseError, `ND-1: ${JSON.stringify(text)} threw ${err}`);
    }
  }
});

Deno.test("ND-7: Region.range() follows the reference view examples", () => {
  const e = Region.fromExtent(Extent.of({ x: 4, y: 4 }));
  assertEquals(e.range("x", { start: 0, end: 2 }).ranks(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(e.range("x", 1).range("y", { start: 2 }).ranks(), [6, 7]);
  assertEquals(e.range("y", { start: 0, step: 2 }).ranks(), [0, 2, 4, 6, 8, 10, 12, 14]);
  const e2 = Region.fromExtent(Extent.of({ x: 10, y: 2 }));
  const v = e2.range("x", { start: 0, step: 2 }).range("x", { start: 2 }).range("y", 1);
  assertEquals(v.extent().toString(), "{x: 3, y: 1}");
  assertEquals(v.ranks(), [9, 13, 17]);
  const e3 = Region.fromExtent(Extent.of({ zone: 4, host: 2, gpu: 8 }));
  assertEquals(
    e3.range("zone", 0).range("gpu", { start: 0, step: 2 }).ranks(),
    [0, 2, 4, 6, 8, 10, 12, 14],
  );
  assertEquals(Region.fromExtent(Extent.of({ x: 3 })).range("x", { start: 0, step: 2 }).ranks(), [
    0,
    2,
  ]);
  for (const sub of [v, e.range("x", 1)]) assert(sub.isSubset(sub === v ? e2 : e), "ND-7");
});

Deno.test("ND-7: Region.range() with a step that does not divide the size", () => {
  const r = Region.fromExtent(Extent.of({ x: 3, y: 4 })).range("y", { start: 0, step: 3 });
  assertEquals(r.toString(), "x=3/4,y=2/3");
  assertEquals(r.ranks(), [0, 3, 4, 7, 8, 11]);
  assert(Region.parse(r.toString()).equals(r), "ND-1");
  assert(r.isSubset(Region.parse("x=3/4,y=4/1")), "ND-7");
});

Deno.test("ND-7: Region.range() errors: empty selection, unknown label, bad bounds", () => {
  const r = Region.fromExtent(Extent.of({ x: 4 }));
  for (const spec of [4, { start: 4 }, { start: 2, end: 2 }, { start: 3, end: 1 }]) {
    assertEquals(assertThrows(() => r.range("x", spec), RegionError).kind, "EmptyRange");
  }
  assertEquals(assertThrows(() => r.range("y", 0), RegionError).kind, "InvalidDim");
  assertThrows(() => r.range("x", -1), RangeError);
  assertThrows(() => r.range("x", { start: 0, step: 0 }), RangeError);
  assertThrows(() => r.range("x", 1.5), RangeError);
  assertEquals(r.range("x", { start: 1, end: 100 }).ranks(), [1, 2, 3], "end clamps to size");
});

Deno.test("ND-7: Region.groupBy() yields one group per index of the leading dims", () => {
  const e = Region.fromExtent(Extent.of({ zone: 4, host: 4, gpu: 8 }));
  assertEquals(e.groupBy("gpu").length, 16);
  assertEquals(e.groupBy("zone").length, 1);
  const groups = e.groupBy("gpu");
  assertEquals(groups[0].ranks(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(groups[1].ranks(), [8, 9, 10, 11, 12, 13, 14, 15]);
  const zones = Region.fromExtent(Extent.of({ zone: 4, host: 2, gpu: 8 })).groupBy("host");
  assertEquals(zones[1].extent().toString(), "{host: 2, gpu: 8}");
  assertEquals(zones[1].get(0), 16);
  for (const g of groups) assert(g.isSubset(e), "ND-7: groups are subsets");
  assertThrows(() => e.groupBy("nope"), RegionError);
});

Deno.test("Region.isSubset() follows the reference subset algebra", () => {
  const e = Region.fromExtent(Extent.of({ x: 5, y: 4 }));
  const a = e.range("x", { start: 1, end: 4 });
  const b = a.range("y", { start: 1, end: 3 });
  const c = e.range("x", { start: 0, end: 2 });
  assert(b.isSubset(a) && b.isSubset(e) && a.isSubset(e));
  assert(!c.isSubset(a) && c.isSubset(e));
});

Deno.test("ND-8: Region.remap() maps target ranks to indices in this region", () => {
  const region = Region.fromExtent(Extent.of({ x: 4, y: 4 }));
  assertEquals(region.remap(region), Array.from({ length: 16 }, (_, i) => i));
  const sub = region.range("x", { start: 2 });
  assertEquals(region.remap(sub), [8, 9, 10, 11, 12, 13, 14, 15]);
  const sub2 = sub.range("y", 1);
  assertEquals(region.remap(sub2), [9, 13]);
  for (const [i, idx] of region.remap(sub2)!.entries()) {
    assertEquals(region.get(idx), sub2.get(i), "ND-8");
  }
  const replica1 = Region.fromExtent(Extent.of({ replica: 8, gpu: 4 })).range("replica", 1);
  assertEquals(replica1.remap(replica1.range("gpu", { start: 1, end: 3 })), [1, 2]);
  assertEquals(sub2.remap(region), undefined, "not a subset");
});

Deno.test("Region base-rank and point conversions follow the reference", () => {
  const extent = Extent.of({ replicas: 4, gpus: 2 });
  const region = Region.fromExtent(extent).range("replicas", { start: 1, end: 3 });
  assertThrows(() => region.baseRankOfPoint(extent.pointOfRank(0)), RegionError);
  for (let i = 0; i < 4; i++) {
    assertEquals(region.baseRankOfPoint(region.pointOf(i)), i + 2);
    assert(region.pointOfBaseRank(i + 2).equals(region.pointOf(i)));
  }
  assertThrows(() => region.pointOfBaseRank(1), RegionError);
  assertThrows(() => region.pointOfBaseRank(6), RegionError);
  const subset = region.range("replicas", { start: 1, end: 2 }).range("gpus", { start: 1, end: 2 });
  assertEquals(subset.baseRankOfPoint(subset.pointOf(0)), 5);
  assertThrows(() => subset.pointOfBaseRank(4), RegionError);
  assertThrows(() => region.get(4), RangeError);
});

Deno.test("Region constructor validates labels against the slice", () => {
  assertThrows(() => new Region(["x"], Slice.rowMajor([2, 2])), ExtentError);
  assertThrows(() => new Region(["x", "x"], Slice.rowMajor([2, 2])), ExtentError);
  assertEquals(JSON.stringify(Region.parse("2+x=1/2,y=2/1")), '"2+x=1/2,y=2/1"');
});
