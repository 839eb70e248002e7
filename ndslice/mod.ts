/**
 * ndslice: the shapes a mesh is laid out on — labelled extents, points,
 * strided slices and regions, with the seed's text forms.
 *
 * - {@linkcode Extent} — ordered labelled dimensions (`hosts=2,gpus=4`);
 *   ranks are row-major.
 * - {@linkcode Point} — one coordinate of an extent, and its rank.
 * - {@linkcode Slice} — offset, sizes and strides over a flat rank space.
 * - {@linkcode Region} — an extent laid over a slice: what a sliced mesh
 *   covers (`replica=2/2,host=2/1`), with `range` to slice it further.
 * - {@linkcode NdsliceParseError} — a text form that does not parse, with
 *   the position and what was expected.
 *
 * No processes, no sockets: everything here is plain data.
 *
 * Invariants: MS-1 and MS-7..MS-8 (`region.ts`), MS-2..MS-3 (`slice.ts`),
 * MS-4..MS-6 (`extent.ts`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Extent, Region } from "./mod.ts";
 *
 * const extent = Extent.of({ hosts: 2, gpus: 4 });
 * assertEquals(extent.numRanks, 8);
 * assertEquals(Extent.parse(extent.toCompactString()).toString(), extent.toString());
 * assertEquals(Region.fromExtent(Extent.of({ hosts: 2 })).toString(), "hosts=2/1");
 * ```
 * @module
 */

export {
  Extent,
  ExtentError,
  type ExtentErrorKind,
  type ExtentJSON,
  NdsliceParseError,
  type NdsliceTextKind,
  Point,
  PointError,
  type PointErrorKind,
} from "./extent.ts";
export { Slice, SliceError, type SliceErrorKind, type SliceJSON } from "./slice.ts";
export { type RangeSpec, Region, RegionError, type RegionErrorKind } from "./region.ts";
