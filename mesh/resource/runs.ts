/**
 * Folder-private helpers for run-length data: `[start, end)` runs carrying a
 * value, structural value keys, validation, and right-wins merging.
 * @module
 */

import { formatStatus, isStatus, statusKey } from "./status.ts";

/** A half-open run of ranks `[start, end)` that all carry `value`. */
export interface Run<T> {
  /** First rank (inclusive). */
  readonly start: number;
  /** One past the last rank (exclusive). */
  readonly end: number;
  /** The value of every rank in the run. */
  readonly value: T;
}

/** Maps a value to a canonical string: equal keys ⇔ equal values. */
export type KeyOf<T> = (value: T) => string;

/** Why run-length data was rejected. */
export type OverlayErrorKind = "InvalidRun" | "EmptyRun" | "Unsorted" | "OutOfRange";

/**
 * Run-length data that breaks the run rules: runs must be non-empty, sorted,
 * non-overlapping, and (when applied to a mesh) inside the mesh.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Status } from "./status.ts";
 * import { OverlayError, StatusOverlay } from "./overlay.ts";
 * const err = assertThrows(
 *   () => new StatusOverlay([{ start: 2, end: 2, value: Status.Running }]),
 *   OverlayError,
 * );
 * assertEquals(err.kind, "EmptyRun");
 * ```
 */
export class OverlayError extends Error {
  /** The kind of failure. */
  readonly kind: OverlayErrorKind;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param kind The kind of failure.
   * @param message Full message.
   */
  constructor(kind: OverlayErrorKind, message: string) {
    super(message);
    this.name = "OverlayError";
    this.kind = kind;
  }
}

/**
 * JSON with object keys sorted, so structurally equal values share one key.
 * @param value Any JSON-ish value.
 * @returns The key.
 */
export function stableStringify(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(",")}}`;
}

/**
 * The default structural key: `statusKey` for statuses, sorted-key JSON otherwise.
 * @param value Any value.
 * @returns The key.
 */
export function defaultKey(value: unknown): string {
  return isStatus(value) ? `S:${statusKey(value)}` : `J:${stableStringify(value)}`;
}

/**
 * Appends a run, coalescing with the last one when touching and equal.
 * @param out Runs so far (mutated).
 * @param run The run to append (must start at or after the last end).
 * @param keyOf Value key.
 */
export function pushRun<T>(out: Run<T>[], run: Run<T>, keyOf: KeyOf<T>): void {
  const last = out[out.length - 1];
  if (last && last.end === run.start && keyOf(last.value) === keyOf(run.value)) {
    out[out.length - 1] = { start: last.start, end: run.end, value: last.value };
  } else {
    out.push({ start: run.start, end: run.end, value: run.value });
  }
}

/**
 * Validates runs (non-empty, integer, sorted, non-overlapping) and coalesces
 * touching equal neighbours.
 * @param runs Candidate runs.
 * @param keyOf Value key.
 * @returns Normalized runs.
 * @throws {OverlayError} `InvalidRun`, `EmptyRun` or `Unsorted`.
 */
export function normalizeRuns<T>(runs: Iterable<Run<T>>, keyOf: KeyOf<T>): Run<T>[] {
  const out: Run<T>[] = [];
  let prevEnd = 0;
  for (const run of runs) {
    const { start, end } = run ?? {};
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0) {
      throw new OverlayError(
        "InvalidRun",
        `Cannot use run ${start}..${end}: bounds must be non-negative integers`,
      );
    }
    if (end <= start) {
      throw new OverlayError("EmptyRun", `Cannot use run ${start}..${end}: it is empty`);
    }
    if (start < prevEnd) {
      throw new OverlayError(
        "Unsorted",
        `Cannot use run ${start}..${end}: it overlaps or precedes a run ending at ${prevEnd}`,
      );
    }
    pushRun(out, run, keyOf);
    prevEnd = end;
  }
  return out;
}

/**
 * Merges two normalized run lists; `top` wins wherever both cover a rank.
 * @param base Lower runs.
 * @param top Upper runs.
 * @param keyOf Value key.
 * @returns Normalized merged runs.
 */
export function mergeRuns<T>(
  base: readonly Run<T>[],
  top: readonly Run<T>[],
  keyOf: KeyOf<T>,
): Run<T>[] {
  const cuts = [...new Set([...base, ...top].flatMap((r) => [r.start, r.end]))]
    .sort((a, b) => a - b);
  const out: Run<T>[] = [];
  let i = 0;
  let j = 0;
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k];
    while (j < top.length && top[j].end <= a) j++;
    while (i < base.length && base[i].end <= a) i++;
    const src = j < top.length && top[j].start <= a
      ? top[j]
      : i < base.length && base[i].start <= a
      ? base[i]
      : undefined;
    if (src) pushRun(out, { start: a, end: cuts[k + 1], value: src.value }, keyOf);
  }
  return out;
}

/**
 * Index of the run containing `rank`, by binary search.
 * @param runs Normalized runs.
 * @param rank A rank.
 * @returns The run index or -1.
 */
export function findRun<T>(runs: readonly Run<T>[], rank: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rank < runs[mid].start) hi = mid - 1;
    else if (rank >= runs[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Formats a value for display: statuses by `formatStatus`, strings as is,
 * other values as JSON.
 * @param value Any value.
 * @returns The text.
 */
export function formatValue(value: unknown): string {
  if (isStatus(value)) return formatStatus(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? String(value);
}
