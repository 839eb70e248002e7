/**
 * `RankedValues<T>`: a sparse, sorted list of `[start, end)` intervals with a
 * value each — the legacy per-rank status carrier of error types
 * (`ProcSpawnError{statuses}` and friends).
 *
 * ## Invariants (MS-*)
 * - **MS-13 (other wins).** After `a.mergeFrom(b)`, every rank covered by `b`
 *   has `b`'s value, every other rank keeps `a`'s; intervals stay sorted,
 *   non-overlapping, and touching equal intervals are coalesced.
 *
 * @module
 */

import { isTerminating, type Status } from "./status.ts";
import {
  defaultKey,
  findRun,
  formatValue,
  type KeyOf,
  mergeRuns,
  normalizeRuns,
  type Run,
} from "./runs.ts";
import type { ValueMesh } from "./value_mesh.ts";

/** Options for `RankedValues` of values that are not plain JSON data. */
export interface RankedValuesOptions<T> {
  /** Canonical key: equal keys ⇔ equal values. Default: structural. */
  keyOf?: KeyOf<T>;
  /** Display of a value. Default: `formatStatus` for statuses, else string / JSON. */
  format?: (value: T) => string;
}

/** A value with the ranges that carry it (see `RankedValues.invert`). */
export interface RankedGroup<T> {
  /** The value. */
  readonly value: T;
  /** Its ranges, sorted. */
  readonly ranges: readonly { readonly start: number; readonly end: number }[];
}

/**
 * The groups of `RankedValues.invert()`, displayed as `v=a..b,c..d;w=…`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RankedValues } from "./ranked_values.ts";
 * const rv = RankedValues.fromRange({ start: 0, end: 4 }, "ok").mergeFrom(RankedValues.fromRank(2, "bad"));
 * assertEquals(rv.invert().toString(), "ok=0..2,3..4;bad=2..3");
 * ```
 */
export class RankedGroups<T> {
  /** Groups in order of first appearance. */
  readonly groups: readonly RankedGroup<T>[];
  readonly #format: (value: T) => string;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param groups The groups.
   * @param format Value display.
   */
  constructor(groups: readonly RankedGroup<T>[], format: (value: T) => string) {
    this.groups = Object.freeze([...groups]);
    this.#format = format;
  }

  /**
   * `v=a..b,c..d;w=…`.
   * @returns The text.
   */
  toString(): string {
    return this.groups
      .map((g) =>
        `${this.#format(g.value)}=${g.ranges.map((r) => `${r.start}..${r.end}`).join(",")}`
      )
      .join(";");
  }
}

/**
 * Sorted `[start, end)` intervals with values; gaps are allowed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Status } from "./status.ts";
 * import { RankedValues } from "./ranked_values.ts";
 * const rv = RankedValues.fromRange({ start: 0, end: 4 }, Status.Running);
 * rv.mergeFrom(RankedValues.fromRank(1, Status.failed("boom")));
 * assertEquals(rv.firstFailed(), { rank: 1, value: Status.failed("boom") });
 * assertEquals(rv.toString(), "Running=0..1,2..4;Failed(boom)=1..2");
 * ```
 */
export class RankedValues<T> {
  #runs: Run<T>[];
  readonly #keyOf: KeyOf<T>;
  readonly #format: (value: T) => string;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param intervals Sorted, non-overlapping, non-empty intervals.
   * @param options Value key and display.
   * @throws {OverlayError} For invalid intervals.
   */
  constructor(intervals: Iterable<Run<T>> = [], options: RankedValuesOptions<T> = {}) {
    this.#keyOf = options.keyOf ?? defaultKey;
    this.#format = options.format ?? formatValue;
    this.#runs = normalizeRuns(intervals, this.#keyOf);
  }

  /**
   * A single rank.
   * @param rank The rank.
   * @param value Its value.
   * @param options Value key and display.
   * @returns `{rank..rank+1: value}`.
   * @throws {OverlayError} For an invalid rank.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RankedValues } from "./ranked_values.ts";
   * assertEquals(RankedValues.fromRank(3, "x").get(3), "x");
   * ```
   */
  static fromRank<T>(rank: number, value: T, options?: RankedValuesOptions<T>): RankedValues<T> {
    return new RankedValues([{ start: rank, end: rank + 1, value }], options);
  }

  /**
   * A single interval.
   * @param range `start` (first rank) and `end` (one past the last, > start).
   * @param value The value.
   * @param options Value key and display.
   * @returns `{start..end: value}`.
   * @throws {OverlayError} For an invalid or empty interval.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RankedValues } from "./ranked_values.ts";
   * assertEquals(RankedValues.fromRange({ start: 0, end: 2 }, "x").numRanks, 2);
   * ```
   */
  static fromRange<T>(
    range: { start: number; end: number },
    value: T,
    options?: RankedValuesOptions<T>,
  ): RankedValues<T> {
    return new RankedValues([{ start: range.start, end: range.end, value }], options);
  }

  /**
   * The legacy shim of the reference (`mesh_to_rankedvalues_with_default`):
   * `[0, len)` filled with `fallback`, overwritten by every mesh value that is
   * not a sentinel.
   * @param mesh Per-rank values.
   * @param options `fallback`: value for sentinel (and missing) ranks;
   * `isSentinel`: which mesh values to replace; `len`: number of ranks covered.
   * @returns The ranked values.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { isNotExist, Status } from "./status.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * import { RankedValues } from "./ranked_values.ts";
   * const mesh = ValueMesh.fromValues(Region.parse("x=2/1"), [Status.Running, Status.NotExist]);
   * const rv = RankedValues.fromMesh(mesh, { fallback: Status.timeout(30_000), isSentinel: isNotExist, len: 2 });
   * assertEquals(rv.toString(), "Running=0..1;Timeout(30s)=1..2");
   * ```
   */
  static fromMesh<T>(
    mesh: ValueMesh<T>,
    options: { fallback: T; isSentinel: (value: T) => boolean; len: number },
  ): RankedValues<T> {
    const { fallback, isSentinel, len } = options;
    const out = len > 0
      ? RankedValues.fromRange({ start: 0, end: len }, fallback)
      : new RankedValues<T>();
    const keep = mesh.runs().filter((r) => !isSentinel(r.value));
    return out.mergeFrom(new RankedValues(keep));
  }

  /**
   * Writes `other` over this (MS-13). Mutates and returns `this`.
   * @param other Intervals that win on overlap.
   * @returns `this`.
   */
  mergeFrom(other: RankedValues<T>): this {
    this.#runs = mergeRuns(this.#runs, other.#runs, this.#keyOf); // MS-13
    return this;
  }

  /**
   * The intervals.
   * @returns Sorted, coalesced intervals.
   */
  intervals(): readonly Run<T>[] {
    return [...this.#runs];
  }

  /**
   * Number of ranks covered.
   * @returns The count.
   */
  get numRanks(): number {
    return this.#runs.reduce((n, r) => n + r.end - r.start, 0);
  }

  /**
   * The value of a rank.
   * @param rank A rank.
   * @returns Its value or `undefined` when not covered.
   */
  get(rank: number): T | undefined {
    const i = findRun(this.#runs, rank);
    return i < 0 ? undefined : this.#runs[i].value;
  }

  /**
   * The first interval whose status is terminating.
   * @returns Its start rank and status, or `undefined`.
   */
  firstTerminating(this: RankedValues<Status>): { rank: number; value: Status } | undefined {
    const r = this.#runs.find((r) => isTerminating(r.value));
    return r && { rank: r.start, value: r.value };
  }

  /**
   * The first interval whose status is `Failed` (not `Timeout`).
   * @returns Its start rank and status, or `undefined`.
   */
  firstFailed(this: RankedValues<Status>): { rank: number; value: Status } | undefined {
    const r = this.#runs.find((r) => r.value.kind === "Failed");
    return r && { rank: r.start, value: r.value };
  }

  /**
   * Groups the intervals by value, in order of first appearance.
   * @returns The groups (display `v=a..b,c..d;w=…`).
   */
  invert(): RankedGroups<T> {
    const byKey = new Map<string, { value: T; ranges: { start: number; end: number }[] }>();
    for (const r of this.#runs) {
      const k = this.#keyOf(r.value);
      const g = byKey.get(k) ?? { value: r.value, ranges: [] };
      g.ranges.push({ start: r.start, end: r.end });
      byKey.set(k, g);
    }
    return new RankedGroups([...byKey.values()], this.#format);
  }

  /**
   * Display: same as `invert().toString()`.
   * @returns The text.
   */
  toString(): string {
    return this.invert().toString();
  }

  /**
   * JSON form.
   * @returns The intervals.
   */
  toJSON(): Run<T>[] {
    return this.#runs.map((r) => ({ ...r }));
  }
}
