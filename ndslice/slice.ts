/**
 * `Slice`: a compact, validated description of a (possibly strided) set of
 * ranks in a flat base space, as `offset + Σ coordᵢ·strideᵢ`.
 *
 * ## Invariants (ND-*)
 * - **ND-2 (valid slices).** A constructed `Slice` has as many strides as
 *   sizes, every stride ≥ 1, and — sorting the dimensions of size > 1 by
 *   stride — each stride exceeds the largest offset the smaller-stride
 *   dimensions can reach, so distinct coordinates never map to the same rank.
 *   (Deliberate deviation: the reference also demands that each stride divide
 *   the next, which makes its own `range()` panic for steps such as 3 over a
 *   dimension of 4; we only require non-overlap.)
 * - **ND-3 (row-major).** `Slice.rowMajor(sizes)` has suffix-product strides,
 *   and `get(i)` is the location of the i-th point in row-major order.
 *
 * @module
 */

/** Why a `Slice` (or an operation on one) was rejected. */
export type SliceErrorKind =
  | "InvalidDims"
  | "NonuniqueStrides"
  | "StrideTooSmall"
  | "IndexOutOfRange"
  | "ValueNotInSlice"
  | "EmptyRange";

/**
 * A slice that cannot be built, or an index that does not fit a slice.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Slice, SliceError } from "./slice.ts";
 * const err = assertThrows(() => new Slice(0, [2, 2], [1, 1]), SliceError);
 * assertEquals(err.kind, "NonuniqueStrides");
 * ```
 */
export class SliceError extends Error {
  /** The kind of failure. */
  readonly kind: SliceErrorKind;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param kind The kind of failure.
   * @param message Full message ("Cannot …: …").
   * @param options Standard error options.
   */
  constructor(kind: SliceErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SliceError";
    this.kind = kind;
  }
}

/** JSON form of a slice. */
export interface SliceJSON {
  /** First rank. */
  offset: number;
  /** Size of every dimension. */
  sizes: number[];
  /** Stride of every dimension. */
  strides: number[];
}

function checkNatural(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot use ${what} ${String(value)}: expected a non-negative integer`);
  }
  return value;
}

/**
 * An offset plus per-dimension sizes and strides.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Slice } from "./slice.ts";
 * const s = new Slice(0, [2, 4, 2], [8, 2, 1]);
 * assertEquals(s.location([1, 3, 1]), 15);
 * const sub = new Slice(6, [2, 2], [8, 1]); // fix the middle coordinate at 3
 * assertEquals(sub.location([1, 1]), s.location([1, 3, 1]));
 * ```
 */
export class Slice {
  /** The first rank (location of the all-zero coordinate). */
  readonly offset: number;
  /** Size of every dimension. */
  readonly sizes: readonly number[];
  /** Stride of every dimension. */
  readonly strides: readonly number[];

  /**
   * Validates and builds a slice (ND-2).
   * @param offset First rank.
   * @param sizes Size of every dimension.
   * @param strides Stride of every dimension.
   * @throws {RangeError} When a number is not a non-negative safe integer.
   * @throws {SliceError} For mismatched lengths or overlapping / non-nested strides.
   */
  constructor(offset: number, sizes: readonly number[], strides: readonly number[]) {
    checkNatural(offset, "slice offset");
    sizes.forEach((s, i) => checkNatural(s, `size[${i}]`));
    strides.forEach((s, i) => checkNatural(s, `stride[${i}]`));
    if (sizes.length !== strides.length) { // ND-2
      throw new SliceError(
        "InvalidDims",
        `Cannot build slice: ${sizes.length} sizes but ${strides.length} strides`,
      );
    }
    for (const stride of strides) {
      if (stride < 1) { // ND-2
        throw new SliceError("StrideTooSmall", `Cannot build slice: stride 0 is not allowed`);
      }
    }
    // ND-2: sorted by stride, each dimension with more than one index must step
    // past everything the smaller dimensions can reach (injectivity).
    const dims = sizes.map((size, i) => ({ stride: strides[i], size }))
      .filter((d) => d.size > 1)
      .sort((a, b) => a.stride - b.stride);
    let reach = 0;
    let prevStride = 0;
    for (const d of dims) {
      if (d.stride === prevStride) {
        throw new SliceError(
          "NonuniqueStrides",
          `Cannot build slice: stride ${d.stride} is used by two dimensions`,
        );
      }
      if (d.stride <= reach) {
        throw new SliceError(
          "StrideTooSmall",
          `Cannot build slice: stride ${d.stride} overlaps the ${
            reach + 1
          } ranks spanned by smaller strides`,
        );
      }
      reach += d.stride * (d.size - 1);
      prevStride = d.stride;
    }
    this.offset = offset;
    this.sizes = Object.freeze([...sizes]);
    this.strides = Object.freeze([...strides]);
  }

  /**
   * A dense row-major slice at offset 0 (ND-3). Dimensions of size 0 count as
   * size 1 when computing strides, so the strides stay valid.
   * @param sizes Size of every dimension.
   * @returns The slice.
   * @throws {RangeError} When a size is not a non-negative integer.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assertEquals(Slice.rowMajor([4, 4, 4]).strides, [16, 4, 1]);
   * ```
   */
  static rowMajor(sizes: readonly number[]): Slice {
    const strides = new Array<number>(sizes.length);
    let acc = 1;
    for (let i = sizes.length - 1; i >= 0; i--) {
      strides[i] = acc; // ND-3
      acc *= Math.max(1, checkNatural(sizes[i], `size[${i}]`));
    }
    return new Slice(0, sizes, strides);
  }

  /**
   * Number of dimensions.
   * @returns `sizes.length`.
   */
  get numDims(): number {
    return this.sizes.length;
  }

  /**
   * Number of ranks (product of the sizes; 1 for zero dimensions).
   * @returns The count.
   */
  get length(): number {
    return this.sizes.reduce((a, b) => a * b, 1);
  }

  /**
   * The rank at `coords`: `offset + Σ coordᵢ·strideᵢ`.
   * @param coords One coordinate per dimension, each below its size.
   * @returns The rank in the base space.
   * @throws {SliceError} `InvalidDims` or `IndexOutOfRange`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assertEquals(new Slice(2, [2, 3], [3, 1]).location([1, 2]), 7);
   * ```
   */
  location(coords: readonly number[]): number {
    if (coords.length !== this.sizes.length) {
      throw new SliceError(
        "InvalidDims",
        `Cannot locate coordinates: expected ${this.sizes.length} dims, got ${coords.length}`,
      );
    }
    let loc = this.offset;
    for (let i = 0; i < coords.length; i++) {
      const c = coords[i];
      if (!Number.isSafeInteger(c) || c < 0 || c >= this.sizes[i]) {
        throw new SliceError(
          "IndexOutOfRange",
          `Cannot locate coordinates: index ${c} out of range for size ${this.sizes[i]}`,
        );
      }
      loc += c * this.strides[i];
    }
    return loc;
  }

  /**
   * Row-major coordinates of the `index`-th point of this slice.
   * @param index In `[0, length)`.
   * @returns The coordinates.
   * @throws {SliceError} `IndexOutOfRange`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assertEquals(Slice.rowMajor([2, 3]).coordsOf(4), [1, 1]);
   * ```
   */
  coordsOf(index: number): number[] {
    const total = this.length;
    if (!Number.isSafeInteger(index) || index < 0 || index >= total) {
      throw new SliceError(
        "IndexOutOfRange",
        `Cannot index slice: index ${index} out of range ${total}`,
      );
    }
    const coords = new Array<number>(this.sizes.length);
    let rest = index;
    for (let i = this.sizes.length - 1; i >= 0; i--) {
      coords[i] = rest % this.sizes[i];
      rest = Math.floor(rest / this.sizes[i]);
    }
    return coords;
  }

  /**
   * The rank of the `index`-th point in row-major order (ND-3).
   * @param index In `[0, length)`.
   * @returns The rank in the base space.
   * @throws {SliceError} `IndexOutOfRange`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assertEquals(new Slice(1, [2, 2], [4, 2]).get(3), 7);
   * ```
   */
  get(index: number): number {
    return this.location(this.coordsOf(index));
  }

  /**
   * Coordinates of a base-space rank in this slice.
   * @param rank A rank of the base space.
   * @returns The coordinates.
   * @throws {SliceError} `ValueNotInSlice`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assertEquals(new Slice(1, [2, 2], [4, 2]).coordinates(7), [1, 1]);
   * ```
   */
  coordinates(rank: number): number[] {
    const notIn = () =>
      new SliceError("ValueNotInSlice", `Cannot find rank ${rank}: not in slice ${this}`);
    if (!Number.isSafeInteger(rank) || rank < this.offset) throw notIn();
    let pos = rank - this.offset;
    const result = new Array<number>(this.sizes.length).fill(0);
    const order = this.sizes.map((_, i) => i).sort((a, b) => this.strides[b] - this.strides[a]);
    for (const i of order) {
      const size = this.sizes[i];
      if (size <= 1) {
        if (size === 0) throw notIn();
        continue;
      }
      const idx = Math.floor(pos / this.strides[i]);
      if (idx >= size) throw notIn();
      result[i] = idx;
      pos %= this.strides[i];
    }
    if (pos !== 0) throw notIn();
    return result;
  }

  /**
   * Whether `rank` is one of this slice's ranks.
   * @param rank A base-space rank.
   * @returns Membership.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assert(new Slice(0, [3], [2]).contains(4) && !new Slice(0, [3], [2]).contains(3));
   * ```
   */
  contains(rank: number): boolean {
    try {
      this.coordinates(rank);
      return true;
    } catch (err) {
      if (err instanceof SliceError) return false;
      throw err;
    }
  }

  /**
   * Restricts dimension `dim` to `begin..end` by `step`:
   * `offset += begin·stride`, `size = ⌈(end-begin)/step⌉`, `stride *= step`.
   * @param dim Dimension index.
   * @param range `begin` (inclusive), `end` (exclusive, clamped to the size), `step` ≥ 1.
   * @returns The sub-slice.
   * @throws {RangeError} For a bad dimension or step.
   * @throws {SliceError} `EmptyRange` when nothing is selected.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * const s = Slice.rowMajor([4, 4]).select(1, { begin: 0, end: 4, step: 2 });
   * assertEquals([...s], [0, 2, 4, 6, 8, 10, 12, 14]);
   * ```
   */
  select(dim: number, range: { begin: number; end: number; step: number }): Slice {
    if (!Number.isSafeInteger(dim) || dim < 0 || dim >= this.sizes.length) {
      throw new RangeError(`Cannot select dimension ${dim}: slice has ${this.sizes.length}`);
    }
    const begin = checkNatural(range.begin, "range start");
    const end = Math.min(checkNatural(range.end, "range end"), this.sizes[dim]);
    const step = checkNatural(range.step, "range step");
    if (step < 1) throw new RangeError(`Cannot use range step ${step}: expected ≥ 1`);
    if (end <= begin) {
      throw new SliceError(
        "EmptyRange",
        `Cannot select ${range.begin}..${range.end} (step ${step}): empty for size ${
          this.sizes[dim]
        }`,
      );
    }
    const sizes = [...this.sizes];
    const strides = [...this.strides];
    const offset = this.offset + begin * strides[dim];
    sizes[dim] = Math.ceil((end - begin) / step);
    strides[dim] *= step;
    return new Slice(offset, sizes, strides);
  }

  /**
   * Iterates the ranks in row-major order.
   * @returns An iterator of base-space ranks.
   */
  *[Symbol.iterator](): IterableIterator<number> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.get(i);
  }

  /**
   * Structural equality.
   * @param other Another slice.
   * @returns Whether offset, sizes and strides are equal.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Slice } from "./slice.ts";
   * assert(Slice.rowMajor([2, 3]).equals(new Slice(0, [2, 3], [3, 1])));
   * ```
   */
  equals(other: Slice): boolean {
    return this.offset === other.offset &&
      this.sizes.length === other.sizes.length &&
      this.sizes.every((s, i) => s === other.sizes[i] && this.strides[i] === other.strides[i]);
  }

  /**
   * JSON form.
   * @returns `{offset, sizes, strides}`.
   */
  toJSON(): SliceJSON {
    return { offset: this.offset, sizes: [...this.sizes], strides: [...this.strides] };
  }

  /**
   * Debug form `offset+[sizes]/[strides]`.
   * @returns e.g. `2+[1,2]/[2,1]`.
   */
  toString(): string {
    return `${this.offset}+[${this.sizes.join(",")}]/[${this.strides.join(",")}]`;
  }
}
