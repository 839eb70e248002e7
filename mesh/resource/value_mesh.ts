/**
 * `ValueMesh<T>`: exactly one value per rank of a `Region`, stored run-length
 * encoded. `StatusMesh` is `ValueMesh<Status>`. Meshes are immutable: merging
 * returns a new mesh.
 *
 * Ranks here are region indices `0 ≤ i < region.numRanks` (the `i`-th point of
 * the region), not base-space ranks.
 *
 * ## Invariants (MS-*)
 * - **MS-12 (dense).** A mesh's runs tile `[0, numRanks)` exactly, sorted,
 *   with touching equal runs coalesced (equality by the mesh's value key).
 *
 * @module
 */

import type { Region } from "../../ndslice/region.ts";
import type { Status } from "./status.ts";
import {
  defaultKey,
  findRun,
  formatValue,
  type KeyOf,
  mergeRuns,
  normalizeRuns,
  OverlayError,
  pushRun,
  type Run,
} from "./runs.ts";

export type { KeyOf, Run } from "./runs.ts";

/** Options for meshes of values that are not plain JSON data. */
export interface ValueMeshOptions<T> {
  /** Canonical key: equal keys ⇔ equal values. Default: structural (sorted-key JSON; `statusKey` for statuses). */
  keyOf?: KeyOf<T>;
}

/** JSON form of a mesh. */
export interface ValueMeshJSON<T> {
  /** Region text form. */
  region: string;
  /** Runs tiling `[0, numRanks)`. */
  runs: Run<T>[];
}

/**
 * One value per rank of a region, run-length encoded (MS-12).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Region } from "../../ndslice/region.ts";
 * import { ValueMesh } from "./value_mesh.ts";
 * const m = ValueMesh.fromValues(Region.parse("hosts=4/1"), ["a", "a", "b", "a"]);
 * assertEquals(m.runs().length, 3);
 * assertEquals(m.get(2), "b");
 * assertEquals(m.values(), ["a", "a", "b", "a"]);
 * ```
 */
export class ValueMesh<T> {
  /** The ranks this mesh has values for. */
  readonly region: Region;
  readonly #runs: readonly Run<T>[];
  readonly #keyOf: KeyOf<T>;

  private constructor(region: Region, runs: readonly Run<T>[], keyOf: KeyOf<T>) {
    this.region = region;
    this.#runs = Object.freeze(runs);
    this.#keyOf = keyOf;
  }

  /**
   * Every rank of `region` holds `value`.
   * @param region The ranks.
   * @param value The value.
   * @param options Value key.
   * @returns The mesh.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { Status } from "./status.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * const m = ValueMesh.fromSingle(Region.parse("replica=2/2,host=2/1"), Status.NotExist);
   * assertEquals(m.values().length, 4);
   * ```
   */
  static fromSingle<T>(region: Region, value: T, options: ValueMeshOptions<T> = {}): ValueMesh<T> {
    const n = region.numRanks;
    return new ValueMesh(region, n > 0 ? [{ start: 0, end: n, value }] : [], keyOr(options));
  }

  /**
   * One value per rank, in region order.
   * @param region The ranks.
   * @param values Exactly `region.numRanks` values.
   * @param options Value key.
   * @returns The mesh.
   * @throws {RangeError} When the count differs from `region.numRanks`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * assertEquals(ValueMesh.fromValues(Region.parse("x=2/1"), [1, 2]).get(1), 2);
   * ```
   */
  static fromValues<T>(
    region: Region,
    values: readonly T[],
    options: ValueMeshOptions<T> = {},
  ): ValueMesh<T> {
    if (values.length !== region.numRanks) {
      throw new RangeError(
        `Cannot build mesh over ${region}: ${values.length} values for ${region.numRanks} ranks`,
      );
    }
    const keyOf = keyOr(options);
    const runs: Run<T>[] = [];
    values.forEach((value, i) => pushRun(runs, { start: i, end: i + 1, value }, keyOf));
    return new ValueMesh(region, runs, keyOf);
  }

  /**
   * From runs that tile `[0, region.numRanks)` exactly.
   * @param region The ranks.
   * @param runs Sorted, non-overlapping, gap-free runs.
   * @param options Value key.
   * @returns The mesh.
   * @throws {OverlayError} When the runs are invalid, leave a gap, or overrun the region.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * const m = ValueMesh.fromRuns(Region.parse("x=3/1"), [{ start: 0, end: 3, value: "a" }]);
   * assertEquals(m.values(), ["a", "a", "a"]);
   * ```
   */
  static fromRuns<T>(
    region: Region,
    runs: Iterable<Run<T>>,
    options: ValueMeshOptions<T> = {},
  ): ValueMesh<T> {
    const keyOf = keyOr(options);
    const norm = normalizeRuns(runs, keyOf);
    let expect = 0;
    for (const r of norm) {
      if (r.start !== expect) {
        throw new OverlayError("OutOfRange", `Cannot build mesh over ${region}: gap at ${expect}`);
      }
      expect = r.end;
    }
    if (expect !== region.numRanks) {
      throw new OverlayError(
        "OutOfRange",
        `Cannot build mesh over ${region}: runs cover ${expect} of ${region.numRanks} ranks`,
      );
    }
    return new ValueMesh(region, norm, keyOf);
  }

  /**
   * Number of ranks (values).
   * @returns `region.numRanks`.
   */
  get numRanks(): number {
    return this.region.numRanks;
  }

  /**
   * The value at region index `rank`.
   * @param rank In `[0, numRanks)`.
   * @returns The value.
   * @throws {RangeError} When out of range.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * assertEquals(ValueMesh.fromSingle(Region.parse("x=2/1"), "v").get(1), "v");
   * ```
   */
  get(rank: number): T {
    const i = Number.isSafeInteger(rank) ? findRun(this.#runs, rank) : -1;
    if (i < 0) {
      throw new RangeError(`Cannot read rank ${rank}: mesh has ${this.numRanks} ranks`);
    }
    return this.#runs[i].value;
  }

  /**
   * All values in region order.
   * @returns A fresh array of `numRanks` values.
   */
  values(): T[] {
    const out: T[] = [];
    for (const r of this.#runs) for (let i = r.start; i < r.end; i++) out.push(r.value);
    return out;
  }

  /**
   * Every `[rank, value]` pair in region order (like `Array#entries`).
   * @returns The pairs.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * const m = ValueMesh.fromValues(Region.parse("x=3/1"), ["a", "a", "b"]);
   * assertEquals([...m.entries()], [[0, "a"], [1, "a"], [2, "b"]]);
   * ```
   */
  *entries(): IterableIterator<[number, T]> {
    for (const r of this.#runs) for (let i = r.start; i < r.end; i++) yield [i, r.value];
  }

  /**
   * The runs (MS-12).
   * @returns Sorted, coalesced runs tiling `[0, numRanks)`.
   */
  runs(): readonly Run<T>[] {
    return this.#runs;
  }

  /**
   * A mesh with `runs` written over this one (right wins).
   * @param runs Sorted, non-overlapping runs inside `[0, numRanks)`.
   * @returns The merged mesh.
   * @throws {OverlayError} For invalid runs or runs past `numRanks` (`OutOfRange`).
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * const m = ValueMesh.fromSingle(Region.parse("x=3/1"), 0).merge([{ start: 1, end: 2, value: 9 }]);
   * assertEquals(m.values(), [0, 9, 0]);
   * ```
   */
  merge(runs: Iterable<Run<T>>): ValueMesh<T> {
    const top = normalizeRuns(runs, this.#keyOf);
    const last = top[top.length - 1];
    if (last && last.end > this.numRanks) {
      throw new OverlayError(
        "OutOfRange",
        `Cannot merge run ${last.start}..${last.end}: mesh has ${this.numRanks} ranks`,
      );
    }
    return new ValueMesh(this.region, mergeRuns(this.#runs, top, this.#keyOf), this.#keyOf);
  }

  /**
   * Maps every value.
   * @param fn The mapping (called once per run).
   * @param options Key for the new values.
   * @returns A mesh over the same region.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Region } from "../../ndslice/region.ts";
   * import { ValueMesh } from "./value_mesh.ts";
   * assertEquals(ValueMesh.fromValues(Region.parse("x=2/1"), [1, 2]).map((v) => v * 2).values(), [2, 4]);
   * ```
   */
  map<U>(fn: (value: T) => U, options: ValueMeshOptions<U> = {}): ValueMesh<U> {
    const keyOf = keyOr(options);
    const runs: Run<U>[] = [];
    for (const r of this.#runs) {
      pushRun(runs, { start: r.start, end: r.end, value: fn(r.value) }, keyOf);
    }
    return new ValueMesh(this.region, runs, keyOf);
  }

  /**
   * Same region and structurally equal values.
   * @param other Another mesh.
   * @returns Whether equal.
   */
  equals(other: ValueMesh<T>): boolean {
    const a = this.#runs;
    const b = other.#runs;
    return this.region.equals(other.region) && a.length === b.length &&
      a.every((r, i) =>
        r.start === b[i].start && r.end === b[i].end &&
        this.#keyOf(r.value) === this.#keyOf(b[i].value)
      );
  }

  /**
   * JSON form.
   * @returns `{region, runs}`.
   */
  toJSON(): ValueMeshJSON<T> {
    return { region: this.region.toString(), runs: this.#runs.map((r) => ({ ...r })) };
  }

  /**
   * Display form: `<region>{a..b: v, …}`.
   * @returns The text.
   */
  toString(): string {
    const runs = this.#runs.map((r) => `${r.start}..${r.end}: ${formatValue(r.value)}`);
    return `${this.region}{${runs.join(", ")}}`;
  }
}

/** One `Status` per rank of a region. */
export type StatusMesh = ValueMesh<Status>;

function keyOr<T>(options: ValueMeshOptions<T>): KeyOf<T> {
  return options.keyOf ?? defaultKey;
}
