/**
 * `Region`: labelled dimensions over a `Slice` — a rectangular, possibly
 * strided, subset of a base rank space. Regions are what meshes are indexed
 * by: index `i` of a region (`0 ≤ i < numRanks`) is its `i`-th point in
 * row-major order, and `get(i)` is that point's rank in the base space.
 *
 * Text form (as in the reference): `[OFFSET+]label=SIZE/STRIDE[,…]`, the offset
 * printed only when nonzero, labels not matching `[A-Za-z0-9_]+` double-quoted
 * with `\" \\ \n \r \t` escapes. A full 2×2 mesh is `replica=2/2,host=2/1`;
 * `range("replica", 1)` of it is `2+replica=1/2,host=2/1`. The region with no
 * dimensions prints as `""` (or `"5+"` with an offset).
 *
 * ## Invariants (ND-*)
 * - **ND-1 (region text round-trips).** `Region.parse(r.toString())` equals
 *   `r` for every region, whatever its labels; `Region.parse` throws only
 *   `NdsliceParseError`, naming the input.
 * - **ND-7 (views stay inside).** `range` and `groupBy` return regions that
 *   are subsets of the region they came from, with the same labels (groupBy:
 *   the trailing labels); an empty selection throws `RegionError`.
 * - **ND-8 (remap).** For `t` a subset of `r`, `r.remap(t)[i]` is the index in
 *   `r` of `t.get(i)`, so `r.get(r.remap(t)[i]) === t.get(i)`.
 *
 * @module
 */

import { Extent, ExtentError, type Point } from "./extent.ts";
import { formatLabel, NdsliceParseError, Scanner } from "./text.ts";
import { Slice, SliceError } from "./slice.ts";

export { NdsliceParseError };

/**
 * What `Region.range` selects along a dimension: an index `n` (≡ `n..n+1`) or
 * `{start, end?, step?}` (end exclusive, defaulting to — and clamped to — the
 * dimension size; step ≥ 1, default 1).
 */
export type RangeSpec = number | { start: number; end?: number; step?: number };

/** Why a region operation failed. */
export type RegionErrorKind = "InvalidDim" | "EmptyRange" | "InvalidPoint" | "NotInRegion";

/**
 * A view operation that does not apply to a region.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Region, RegionError } from "./region.ts";
 * const r = Region.parse("replica=2/2,host=2/1");
 * assertEquals(assertThrows(() => r.range("replica", 2), RegionError).kind, "EmptyRange");
 * assertEquals(assertThrows(() => r.range("gpu", 0), RegionError).kind, "InvalidDim");
 * ```
 */
export class RegionError extends Error {
  /** The kind of failure. */
  readonly kind: RegionErrorKind;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param kind The kind of failure.
   * @param message Full message.
   * @param options Standard error options.
   */
  constructor(kind: RegionErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RegionError";
    this.kind = kind;
  }
}

/**
 * A labelled slice of a base rank space.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Extent } from "./extent.ts";
 * import { Region } from "./region.ts";
 * const r = Region.fromExtent(Extent.of({ replica: 2, host: 2 }));
 * assertEquals(r.toString(), "replica=2/2,host=2/1");
 * const sub = r.range("replica", 1);
 * assertEquals(sub.toString(), "2+replica=1/2,host=2/1");
 * assertEquals(sub.ranks(), [2, 3]);
 * ```
 */
export class Region {
  /** Dimension labels, one per slice dimension. */
  readonly labels: readonly string[];
  /** The ranks, as a slice of the base space. */
  readonly slice: Slice;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param labels Distinct labels, one per slice dimension.
   * @param slice The ranks.
   * @throws {ExtentError} When the label count differs from the slice's dims,
   *   or a label repeats.
   */
  constructor(labels: readonly string[], slice: Slice) {
    new Extent(labels, slice.sizes); // validates count + uniqueness
    this.labels = Object.freeze([...labels]);
    this.slice = slice;
  }

  /**
   * The dense region covering a whole extent.
   * @param extent The extent.
   * @returns A row-major region at offset 0.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * import { Region } from "./region.ts";
   * assertEquals(Region.fromExtent(Extent.of({ hosts: 3 })).toString(), "hosts=3/1");
   * ```
   */
  static fromExtent(extent: Extent): Region {
    return new Region(extent.labels, Slice.rowMajor(extent.sizes));
  }

  /**
   * Strictly parses the text form (ND-1): an optional `OFFSET+` (digits then
   * `+`), then `label=SIZE/STRIDE` pairs separated by `,` with no spaces.
   * @param text The text.
   * @returns The region.
   * @throws {NdsliceParseError} For malformed text, invalid slices (cause:
   *   `SliceError`) or duplicate labels (cause: `ExtentError`).
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * const r = Region.parse('8+"dim/0"=4/1');
   * assertEquals(r.labels, ["dim/0"]);
   * assertEquals(r.slice.offset, 8);
   * ```
   */
  static parse(text: string): Region {
    const s = new Scanner("Region", text);
    let offset = 0;
    if (s.digitsFollowedBy("+")) {
      offset = s.natural("offset");
      s.expect("+");
    }
    const labels: string[] = [];
    const sizes: number[] = [];
    const strides: number[] = [];
    while (!s.done) {
      if (labels.length > 0) s.expect(",");
      labels.push(s.label());
      s.expect("=");
      sizes.push(s.natural("size"));
      s.expect("/");
      strides.push(s.natural("stride"));
    }
    try {
      return new Region(labels, new Slice(offset, sizes, strides));
    } catch (err) {
      if (err instanceof SliceError || err instanceof ExtentError || err instanceof RangeError) {
        throw s.fail(err.message, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Number of ranks in the region.
   * @returns The slice length.
   */
  get numRanks(): number {
    return this.slice.length;
  }

  /**
   * The region's own extent (labels and sizes).
   * @returns The extent.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * assertEquals(Region.parse("2+replica=1/2,host=2/1").extent().toString(), "{replica: 1, host: 2}");
   * ```
   */
  extent(): Extent {
    return new Extent(this.labels, this.slice.sizes);
  }

  /**
   * Base-space rank of the region's `index`-th point.
   * @param index In `[0, numRanks)`.
   * @returns The base rank.
   * @throws {RangeError} When `index` is out of range.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * assertEquals(Region.parse("2+replica=1/2,host=2/1").get(1), 3);
   * ```
   */
  get(index: number): number {
    try {
      return this.slice.get(index);
    } catch (err) {
      if (err instanceof SliceError) {
        throw new RangeError(`Cannot index region ${this}: index ${index} out of range`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * All base ranks in region order.
   * @returns The ranks.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * assertEquals(Region.parse("x=2/4,y=2/1").ranks(), [0, 1, 4, 5]);
   * ```
   */
  ranks(): number[] {
    return [...this.slice];
  }

  /**
   * The point (in `extent()`) of the region's `index`-th rank.
   * @param index In `[0, numRanks)`.
   * @returns The point.
   * @throws {PointError} When `index` is out of range.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * assertEquals(Region.parse("x=2/2,y=2/1").pointOf(2).toString(), "x=1/2,y=0/2");
   * ```
   */
  pointOf(index: number): Point {
    return this.extent().pointOfRank(index);
  }

  /**
   * The point of a base-space rank, if the rank is in the region.
   * @param rank A base rank.
   * @returns The point.
   * @throws {RegionError} `NotInRegion`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * assertEquals(Region.parse("2+replica=1/2,host=2/1").pointOfBaseRank(3).rank, 1);
   * ```
   */
  pointOfBaseRank(rank: number): Point {
    try {
      return this.extent().point(this.slice.coordinates(rank));
    } catch (err) {
      throw new RegionError(
        "NotInRegion",
        `Cannot find base rank ${rank}: not in region ${this}`,
        { cause: err },
      );
    }
  }

  /**
   * The base rank of a point of this region's extent.
   * @param point A point whose extent equals `extent()`.
   * @returns The base rank.
   * @throws {RegionError} `InvalidPoint` for a point of another extent.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * const r = Region.parse("2+replica=1/2,host=2/1");
   * assertEquals(r.baseRankOfPoint(r.pointOf(1)), 3);
   * ```
   */
  baseRankOfPoint(point: Point): number {
    if (!point.extent.equals(this.extent())) {
      throw new RegionError(
        "InvalidPoint",
        `Cannot map point ${point}: its extent ${point.extent} is not ${this.extent()}`,
      );
    }
    return this.slice.location(point.coords);
  }

  /**
   * Selects part of one dimension (ND-7): the new slice has
   * `offset += stride·start`, `size = ⌈(end-start)/step⌉`, `stride *= step`.
   * @param label The dimension.
   * @param range An index, or `{start, end?, step?}`.
   * @returns The sub-region.
   * @throws {RangeError} For negative / non-integer bounds or a step < 1.
   * @throws {RegionError} `InvalidDim` or `EmptyRange`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "./region.ts";
   * const r = Region.parse("x=4/4,y=4/1");
   * assertEquals(r.range("y", { start: 0, step: 2 }).range("x", { start: 2 }).ranks(), [8, 10, 12, 14]);
   * ```
   */
  range(label: string, range: RangeSpec): Region {
    const dim = this.#dim(label);
    const { start, end, step } = typeof range === "number"
      ? { start: range, end: range + 1, step: 1 }
      : { start: range.start, end: range.end ?? this.slice.sizes[dim], step: range.step ?? 1 };
    for (const [what, v] of [["start", start], ["end", end], ["step", step]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`Cannot use range ${what} ${v}: expected a non-negative integer`);
      }
    }
    if (step < 1) throw new RangeError(`Cannot use range step ${step}: expected ≥ 1`);
    const size = this.slice.sizes[dim];
    if (Math.min(end, size) <= start) {
      throw new RegionError(
        "EmptyRange",
        `Cannot select ${start}..${end} (step ${step}) of "${label}": empty for size ${size}`,
      );
    }
    return new Region(this.labels, this.slice.select(dim, { begin: start, end, step })); // ND-7
  }

  /**
   * One sub-region per index of the dimensions before `label`, each spanning
   * `label` and the dimensions after it (ND-7).
   * @param label The first dimension kept.
   * @returns The groups, in rank order.
   * @throws {RegionError} `InvalidDim`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * import { Region } from "./region.ts";
   * const r = Region.fromExtent(Extent.of({ zone: 4, host: 2, gpu: 8 }));
   * const groups = r.groupBy("host");
   * assertEquals(groups.length, 4);
   * assertEquals(groups[1].toString(), "16+host=2/8,gpu=8/1");
   * ```
   */
  groupBy(label: string): Region[] {
    const dim = this.#dim(label);
    const { offset, sizes, strides } = this.slice;
    const outer = new Slice(offset, sizes.slice(0, dim), strides.slice(0, dim));
    const labels = this.labels.slice(dim);
    return [...outer].map((base) =>
      new Region(labels, new Slice(base, sizes.slice(dim), strides.slice(dim)))
    );
  }

  /**
   * Whether every rank of this region is also in `other`.
   * @param other The candidate superset.
   * @returns Subset-ness (by base ranks).
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Region } from "./region.ts";
   * const r = Region.parse("x=5/4,y=4/1");
   * assert(r.range("x", { start: 1, end: 4 }).isSubset(r));
   * assert(!r.isSubset(r.range("x", 0)));
   * ```
   */
  isSubset(other: Region): boolean {
    if (this.numRanks === 0) return true;
    for (const rank of this.slice) if (!other.slice.contains(rank)) return false;
    return true;
  }

  /**
   * For each rank of `target` (in target order), its index in this region (ND-8).
   * @param target A subset of this region.
   * @returns The indices, or `undefined` when `target` is not a subset.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * import { Region } from "./region.ts";
   * const replica1 = Region.fromExtent(Extent.of({ replica: 8, gpu: 4 })).range("replica", 1);
   * const gpus12 = replica1.range("gpu", { start: 1, end: 3 });
   * assertEquals(replica1.remap(gpus12), [1, 2]);
   * ```
   */
  remap(target: Region): number[] | undefined {
    const extent = this.extent();
    const out: number[] = [];
    for (const rank of target.slice) {
      if (!this.slice.contains(rank)) return undefined;
      out.push(extent.rankOf(this.slice.coordinates(rank))); // ND-8
    }
    return out;
  }

  /**
   * Structural equality (labels and slice).
   * @param other Another region.
   * @returns Whether equal.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Region } from "./region.ts";
   * assert(Region.parse("x=2/1").equals(Region.parse("0+x=2/1")));
   * ```
   */
  equals(other: Region): boolean {
    return this.labels.length === other.labels.length &&
      this.labels.every((l, i) => l === other.labels[i]) && this.slice.equals(other.slice);
  }

  /**
   * The text form (ND-1).
   * @returns e.g. `2+replica=1/2,host=2/1`.
   */
  toString(): string {
    const { offset, sizes, strides } = this.slice;
    const dims = this.labels.map((l, i) => `${formatLabel(l)}=${sizes[i]}/${strides[i]}`);
    return (offset !== 0 ? `${offset}+` : "") + dims.join(",");
  }

  /**
   * JSON form: the text form.
   * @returns The text.
   */
  toJSON(): string {
    return this.toString();
  }

  #dim(label: string): number {
    const dim = this.labels.indexOf(label);
    if (dim < 0) {
      throw new RegionError("InvalidDim", `Cannot select "${label}": no such dimension in ${this}`);
    }
    return dim;
  }
}
