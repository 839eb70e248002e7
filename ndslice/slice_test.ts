import { assert, assertEquals, assertThrows } from "@std/assert";
import { Slice, SliceError } from "./slice.ts";

Deno.test("ND-2: Slice rejects mismatched sizes and strides", () => {
  const err = assertThrows(() => new Slice(0, [2, 2], [1]), SliceError);
  assertEquals(err.kind, "InvalidDims", "ND-2: length mismatch");
});

Deno.test("ND-2: Slice rejects overlapping, non-nested and zero strides", () => {
  const cases: [number[], number[], string][] = [
    [[2, 2], [1, 1], "NonuniqueStrides"],
    [[2, 3], [2, 1], "StrideTooSmall"], // dim 1 spans 3 > stride 2
    [[3, 2], [1, 2], "StrideTooSmall"], // 0,1,2 and 2,3,4 overlap at 2
    [[2], [0], "StrideTooSmall"],
  ];
  for (const [sizes, strides, kind] of cases) {
    const err = assertThrows(() => new Slice(0, sizes, strides), SliceError);
    assertEquals(err.kind, kind, `ND-2: ${sizes}/${strides}`);
  }
});

Deno.test("ND-2: Slice accepts repeated strides on size-1 dims and strided layouts", () => {
  new Slice(0, [1, 1, 1], [1, 1, 1]);
  new Slice(0, [2, 1, 3], [3, 3, 1]);
  new Slice(5, [2, 2], [8, 2]);
});

Deno.test("ND-2: Slice accepts non-dividing strides that do not overlap", () => {
  // The reference rejects these (and panics in range()); they are injective.
  const s = new Slice(0, [3, 2], [4, 3]); // x=3 (stride 4), y stepped by 3
  assertEquals([...s], [0, 3, 4, 7, 8, 11]);
  assertEquals(new Set(s).size, s.length);
  for (const r of s) assertEquals(s.location(s.coordinates(r)), r);
});

Deno.test("Slice constructor rejects negative or fractional numbers with RangeError", () => {
  assertThrows(() => new Slice(-1, [1], [1]), RangeError);
  assertThrows(() => new Slice(0, [1.5], [1]), RangeError);
  assertThrows(() => new Slice(0, [1], [NaN]), RangeError);
});

Deno.test("ND-3: Slice.rowMajor() has suffix-product strides and dense ranks", () => {
  const s = Slice.rowMajor([4, 4, 4]);
  assertEquals(s.strides, [16, 4, 1]);
  assertEquals([...s], Array.from({ length: 64 }, (_, i) => i));
  assertEquals(Slice.rowMajor([]).length, 1);
  assertEquals([...Slice.rowMajor([])], [0]);
  assertEquals(Slice.rowMajor([2, 0, 3]).length, 0);
  assertEquals([...Slice.rowMajor([2, 0, 3])], []);
});

Deno.test("Slice.location() and get() agree with the reference example", () => {
  const s = new Slice(0, [2, 4, 2], [8, 2, 1]);
  const sub = new Slice(2 * 3, [2, 2], [8, 1]);
  for (const [x, y] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    assertEquals(sub.location([x, y]), s.location([x, 3, y]));
  }
  assertThrows(() => s.location([0, 0]), SliceError);
  assertThrows(() => s.location([0, 4, 0]), SliceError);
  assertEquals(sub.get(3), 6 + 8 + 1);
  assertThrows(() => sub.get(4), SliceError);
});

Deno.test("Slice.coordinates() inverts location() and rejects foreign ranks", () => {
  const s = new Slice(3, [3, 2, 2], [20, 5, 2]);
  for (let i = 0; i < s.length; i++) {
    const rank = s.get(i);
    assertEquals(s.location(s.coordinates(rank)), rank);
    assert(s.contains(rank));
  }
  for (const bad of [0, 2, 4, 6, 9, 11, 13, 63, 100]) assert(!s.contains(bad), `rank ${bad}`);
  assertThrows(() => s.coordinates(4), SliceError);
});

Deno.test("Slice.select() applies offset/size/stride arithmetic", () => {
  const s = Slice.rowMajor([10, 2]);
  const even = s.select(0, { begin: 0, end: 10, step: 2 });
  assertEquals([even.offset, even.sizes, even.strides], [0, [5, 2], [4, 1]]);
  const tail = even.select(0, { begin: 2, end: 99, step: 1 });
  assertEquals([...tail.select(1, { begin: 1, end: 2, step: 1 })], [9, 13, 17]);
  assertThrows(() => s.select(0, { begin: 10, end: 11, step: 1 }), SliceError);
  assertThrows(() => s.select(0, { begin: 0, end: 2, step: 0 }), RangeError);
  assertThrows(() => s.select(2, { begin: 0, end: 1, step: 1 }), RangeError);
});

Deno.test("Slice.equals() and toJSON() are structural", () => {
  const a = new Slice(2, [1, 2], [2, 1]);
  assert(a.equals(new Slice(2, [1, 2], [2, 1])));
  assert(!a.equals(new Slice(0, [1, 2], [2, 1])));
  assertEquals(JSON.parse(JSON.stringify(a)), { offset: 2, sizes: [1, 2], strides: [2, 1] });
});
