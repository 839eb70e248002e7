/**
 * `Extent` (ordered, labelled dimension sizes) and `Point` (one coordinate in
 * an extent, with its row-major rank).
 *
 * Text forms:
 * - `Extent.toString()`: `{replica: 2, host: 2}` (`{}` for the unity extent).
 * - `Extent.toCompactString()` / `Extent.parse()`: `replica=2,host=2` (the CLI
 *   form; the empty string is the unity extent). `parse` also accepts the
 *   `{replica: 2, host: 2}` form and spaces after commas.
 * - `Point.toString()` / `Point.parse()`: `replica=1/2,host=0/2`
 *   (coordinate/size; the empty string is the unity point).
 * Labels that are not `[A-Za-z0-9_]+` are double-quoted with `\" \\ \n \r \t`
 * escapes in every form.
 *
 * ## Invariants (ND-*)
 * - **ND-4 (row-major ranks).** `rankOf(pointOfRank(r).coords) === r` for
 *   every `r < numRanks`, the last dimension varying fastest; the unity
 *   extent (no dimensions) has exactly one rank.
 * - **ND-5 (unique labels).** An extent never holds the same label twice;
 *   `concat` of extents sharing a label throws `ExtentError`.
 * - **ND-6 (extent/point text round-trips).** `Extent.parse(e.toCompactString())`
 *   equals `e`, and `Point.parse(p.toString())` equals `p`.
 *
 * Retired: MS-1..MS-8 (now ND-1..ND-8, since ndslice left `mesh/`).
 *
 * @module
 */

import { formatLabel, Scanner } from "./text.ts";

export { NdsliceParseError } from "./text.ts";
export type { NdsliceTextKind } from "./text.ts";

/** Why an extent could not be built. */
export type ExtentErrorKind = "DimMismatch" | "DuplicateLabel";

/**
 * Mismatched labels/sizes, or a label used twice (ND-5).
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Extent, ExtentError } from "./extent.ts";
 * const err = assertThrows(
 *   () => Extent.of({ host: 2 }).concat(Extent.of({ host: 4 })),
 *   ExtentError,
 * );
 * assertEquals(err.label, "host");
 * ```
 */
export class ExtentError extends Error {
  /** The kind of failure. */
  readonly kind: ExtentErrorKind;
  /** The duplicated label, for `DuplicateLabel`. */
  readonly label: string | undefined;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param kind The kind of failure.
   * @param message Full message.
   * @param label The duplicated label, if any.
   */
  constructor(kind: ExtentErrorKind, message: string, label?: string) {
    super(message);
    this.name = "ExtentError";
    this.kind = kind;
    this.label = label;
  }
}

/** Why a point could not be built. */
export type PointErrorKind = "DimMismatch" | "OutOfRangeIndex" | "OutOfRangeRank";

/**
 * Coordinates or a rank that do not fit an extent.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Extent, PointError } from "./extent.ts";
 * const err = assertThrows(() => Extent.of({ x: 2 }).pointOfRank(2), PointError);
 * assertEquals(err.kind, "OutOfRangeRank");
 * ```
 */
export class PointError extends Error {
  /** The kind of failure. */
  readonly kind: PointErrorKind;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param kind The kind of failure.
   * @param message Full message.
   */
  constructor(kind: PointErrorKind, message: string) {
    super(message);
    this.name = "PointError";
    this.kind = kind;
  }
}

/** JSON form of an extent. */
export interface ExtentJSON {
  /** Dimension labels in order. */
  labels: string[];
  /** Dimension sizes in the same order. */
  sizes: number[];
}

/**
 * Ordered labelled dimensions; ranks are row-major (ND-4).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Extent } from "./extent.ts";
 * const e = Extent.of({ replica: 2, host: 2 });
 * assertEquals(e.numRanks, 4);
 * assertEquals(e.toString(), "{replica: 2, host: 2}");
 * assertEquals(e.pointOfRank(3).toString(), "replica=1/2,host=1/2");
 * ```
 */
export class Extent {
  /** Dimension labels in order. */
  readonly labels: readonly string[];
  /** Dimension sizes in label order. */
  readonly sizes: readonly number[];

  /**
   * Creates the instance (see the class documentation).
   *
   * @param labels Distinct labels.
   * @param sizes Non-negative integer sizes, one per label.
   * @throws {TypeError} When a label is not a string.
   * @throws {RangeError} When a size is not a non-negative safe integer.
   * @throws {ExtentError} `DimMismatch` or `DuplicateLabel` (ND-5).
   */
  constructor(labels: readonly string[], sizes: readonly number[]) {
    if (labels.length !== sizes.length) {
      throw new ExtentError(
        "DimMismatch",
        `Cannot build extent: ${labels.length} labels but ${sizes.length} sizes`,
      );
    }
    const seen = new Set<string>();
    labels.forEach((label, i) => {
      if (typeof label !== "string") {
        throw new TypeError(`Cannot use label ${String(label)}: expected a string`);
      }
      const size = sizes[i];
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw new RangeError(
          `Cannot use size ${String(size)} for "${label}": expected a non-negative integer`,
        );
      }
      if (seen.has(label)) { // ND-5
        throw new ExtentError(
          "DuplicateLabel",
          `Cannot build extent: label "${label}" appears twice`,
          label,
        );
      }
      seen.add(label);
    });
    this.labels = Object.freeze([...labels]);
    this.sizes = Object.freeze([...sizes]);
  }

  /**
   * Builds an extent from an object's entries, in property order. (JavaScript
   * puts integer-like keys first; use the constructor for numeric labels.)
   * @param dims e.g. `{replica: 2, host: 2}`.
   * @returns The extent.
   * @throws {RangeError} When a size is invalid.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ hosts: 3 }).sizes, [3]);
   * ```
   */
  static of(dims: Readonly<Record<string, number>>): Extent {
    const entries = Object.entries(dims);
    return new Extent(entries.map(([l]) => l), entries.map(([, s]) => s));
  }

  /**
   * The extent with no dimensions and exactly one rank.
   * @returns The unity extent.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.unity().numRanks, 1);
   * ```
   */
  static unity(): Extent {
    return new Extent([], []);
  }

  /**
   * Parses `label=size[,label=size…]` (spaces allowed after commas), or the
   * display form `{label: size, …}`. The empty string (or `{}`) is the unity
   * extent. Labels are `[A-Za-z0-9_]+` or quoted.
   * @param text The text.
   * @returns The extent (ND-6).
   * @throws {NdsliceParseError} For anything else, including duplicate labels.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assert(Extent.parse("hosts=2, gpus=8").equals(Extent.of({ hosts: 2, gpus: 8 })));
   * assert(Extent.parse("{hosts: 2}").equals(Extent.of({ hosts: 2 })));
   * ```
   */
  static parse(text: string): Extent {
    const s = new Scanner("Extent", text);
    const braces = s.accept("{");
    const labels: string[] = [];
    const sizes: number[] = [];
    const sep = braces ? ": " : "=";
    while (!(braces ? s.peek() === "}" : s.done)) {
      if (labels.length > 0) {
        s.expect(",");
        s.skipSpaces();
      }
      labels.push(s.label());
      s.expect(sep);
      sizes.push(s.natural("size"));
    }
    if (braces) s.expect("}");
    if (!s.done) throw s.fail("unexpected trailing text");
    try {
      return new Extent(labels, sizes);
    } catch (err) {
      throw s.fail(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  /**
   * Number of dimensions.
   * @returns `labels.length`.
   */
  get numDims(): number {
    return this.labels.length;
  }

  /**
   * Number of ranks: product of sizes (1 for the unity extent).
   * @returns The count.
   */
  get numRanks(): number {
    return this.sizes.reduce((a, b) => a * b, 1);
  }

  /**
   * Position of a label.
   * @param label A label.
   * @returns Its index, or `undefined`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ a: 1, b: 2 }).position("b"), 1);
   * ```
   */
  position(label: string): number | undefined {
    const i = this.labels.indexOf(label);
    return i < 0 ? undefined : i;
  }

  /**
   * Size of a labelled dimension.
   * @param label A label.
   * @returns Its size, or `undefined`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ a: 1, b: 2 }).size("b"), 2);
   * ```
   */
  size(label: string): number | undefined {
    const i = this.position(label);
    return i === undefined ? undefined : this.sizes[i];
  }

  /**
   * Row-major rank of `coords` (ND-4).
   * @param coords One coordinate per dimension.
   * @returns The rank.
   * @throws {PointError} `DimMismatch` or `OutOfRangeIndex`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ x: 2, y: 3, z: 4 }).rankOf([1, 2, 3]), 12 + 8 + 3);
   * ```
   */
  rankOf(coords: readonly number[]): number {
    if (coords.length !== this.sizes.length) {
      throw new PointError(
        "DimMismatch",
        `Cannot locate point: expected ${this.sizes.length} coordinates, got ${coords.length}`,
      );
    }
    let rank = 0;
    let stride = 1;
    for (let i = coords.length - 1; i >= 0; i--) {
      const c = coords[i];
      if (!Number.isSafeInteger(c) || c < 0 || c >= this.sizes[i]) {
        throw new PointError(
          "OutOfRangeIndex",
          `Cannot locate point: index ${c} out of range for "${this.labels[i]}" of size ${
            this.sizes[i]
          }`,
        );
      }
      rank += c * stride;
      stride *= this.sizes[i];
    }
    return rank;
  }

  /**
   * The point at `coords`.
   * @param coords One coordinate per dimension.
   * @returns The point.
   * @throws {PointError} `DimMismatch` or `OutOfRangeIndex`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ x: 2, y: 3 }).point([1, 2]).rank, 5);
   * ```
   */
  point(coords: readonly number[]): Point {
    return new Point(this, this.rankOf(coords));
  }

  /**
   * The point with row-major rank `rank`.
   * @param rank In `[0, numRanks)`.
   * @returns The point.
   * @throws {PointError} `OutOfRangeRank`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ x: 2, y: 3 }).pointOfRank(4).coords, [1, 1]);
   * ```
   */
  pointOfRank(rank: number): Point {
    return new Point(this, rank);
  }

  /**
   * All points in rank order.
   * @returns An iterator of points.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals([...Extent.unity().points()].length, 1);
   * ```
   */
  *points(): IterableIterator<Point> {
    const n = this.numRanks;
    for (let r = 0; r < n; r++) yield new Point(this, r);
  }

  /**
   * Appends `other`'s dimensions after this extent's (ND-5).
   * @param other Dimensions to append.
   * @returns The combined extent.
   * @throws {ExtentError} `DuplicateLabel` when a label appears in both.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * const e = Extent.of({ hosts: 2 }).concat(Extent.of({ gpus: 4 }));
   * assertEquals(e.toString(), "{hosts: 2, gpus: 4}");
   * ```
   */
  concat(other: Extent): Extent {
    return new Extent([...this.labels, ...other.labels], [...this.sizes, ...other.sizes]);
  }

  /**
   * Structural equality (same labels and sizes, in order).
   * @param other Another extent.
   * @returns Whether equal.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assert(!Extent.of({ a: 1, b: 2 }).equals(Extent.of({ b: 2, a: 1 })));
   * ```
   */
  equals(other: Extent): boolean {
    return this.labels.length === other.labels.length &&
      this.labels.every((l, i) => l === other.labels[i] && this.sizes[i] === other.sizes[i]);
  }

  /**
   * Display form `{label: size, …}`.
   * @returns e.g. `{replica: 2, host: 2}`.
   */
  toString(): string {
    return `{${this.labels.map((l, i) => `${formatLabel(l)}: ${this.sizes[i]}`).join(", ")}}`;
  }

  /**
   * Compact form `label=size,…` accepted by `Extent.parse` (ND-6).
   * @returns e.g. `replica=2,host=2`; `""` for the unity extent.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * assertEquals(Extent.of({ replica: 2, host: 2 }).toCompactString(), "replica=2,host=2");
   * ```
   */
  toCompactString(): string {
    return this.labels.map((l, i) => `${formatLabel(l)}=${this.sizes[i]}`).join(",");
  }

  /**
   * JSON form.
   * @returns `{labels, sizes}`.
   */
  toJSON(): ExtentJSON {
    return { labels: [...this.labels], sizes: [...this.sizes] };
  }
}

/**
 * A coordinate in an extent, identified by its row-major rank.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Extent, Point } from "./extent.ts";
 * const p = Extent.of({ replica: 2, host: 2 }).point([1, 0]);
 * assertEquals(p.toString(), "replica=1/2,host=0/2");
 * assertEquals(Point.parse("replica=1/2,host=0/2").rank, p.rank);
 * ```
 */
export class Point {
  /** The extent this point lives in. */
  readonly extent: Extent;
  /** Row-major rank within the extent. */
  readonly rank: number;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param extent The coordinate space.
   * @param rank Row-major rank in `[0, extent.numRanks)`.
   * @throws {PointError} `OutOfRangeRank`.
   */
  constructor(extent: Extent, rank: number) {
    const total = extent.numRanks;
    if (!Number.isSafeInteger(rank) || rank < 0 || rank >= total) {
      throw new PointError(
        "OutOfRangeRank",
        `Cannot build point: rank ${rank} out of range for ${total} ranks`,
      );
    }
    this.extent = extent;
    this.rank = rank;
  }

  /**
   * Parses `label=coord/size[,…]`; the empty string is the unity point.
   * @param text The text.
   * @returns The point (ND-6).
   * @throws {NdsliceParseError} For malformed text or a coordinate ≥ its size.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Point } from "./extent.ts";
   * assertEquals(Point.parse("").extent.numDims, 0);
   * assertEquals(Point.parse("x=1/3").coords, [1]);
   * ```
   */
  static parse(text: string): Point {
    const s = new Scanner("Point", text);
    const labels: string[] = [];
    const sizes: number[] = [];
    const coords: number[] = [];
    while (!s.done) {
      if (labels.length > 0) s.expect(",");
      labels.push(s.label());
      s.expect("=");
      coords.push(s.natural("coordinate"));
      s.expect("/");
      sizes.push(s.natural("size"));
    }
    try {
      return new Extent(labels, sizes).point(coords);
    } catch (err) {
      throw s.fail(err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  /**
   * Coordinates, one per dimension.
   * @returns The coordinates (a fresh array).
   */
  get coords(): number[] {
    const sizes = this.extent.sizes;
    const out = new Array<number>(sizes.length);
    let rest = this.rank;
    for (let i = sizes.length - 1; i >= 0; i--) {
      out[i] = rest % sizes[i];
      rest = Math.floor(rest / sizes[i]);
    }
    return out;
  }

  /**
   * The coordinate along a dimension, by index or label.
   * @param dim Dimension index or label.
   * @returns The coordinate.
   * @throws {RangeError} When there is no such dimension.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * const p = Extent.of({ x: 2, y: 3 }).point([1, 2]);
   * assertEquals([p.coord(0), p.coord("y")], [1, 2]);
   * ```
   */
  coord(dim: number | string): number {
    const i = typeof dim === "string" ? this.extent.position(dim) : dim;
    if (i === undefined || !Number.isInteger(i) || i < 0 || i >= this.extent.numDims) {
      throw new RangeError(`Cannot read coordinate ${String(dim)}: no such dimension`);
    }
    return this.coords[i];
  }

  /**
   * Same extent and rank.
   * @param other Another point.
   * @returns Whether equal.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Extent } from "./extent.ts";
   * const e = Extent.of({ x: 2 });
   * assert(e.point([1]).equals(e.pointOfRank(1)));
   * ```
   */
  equals(other: Point): boolean {
    return this.rank === other.rank && this.extent.equals(other.extent);
  }

  /**
   * Display form `label=coord/size,…` (`""` for the unity point).
   * @returns The text.
   */
  toString(): string {
    const coords = this.coords;
    return this.extent.labels
      .map((l, i) => `${formatLabel(l)}=${coords[i]}/${this.extent.sizes[i]}`)
      .join(",");
  }

  /**
   * JSON form: the display string.
   * @returns The text.
   */
  toJSON(): string {
    return this.toString();
  }
}
