/**
 * Termination contracts: {@linkcode SingleTerminate} (one proc),
 * {@linkcode BulkTerminate} (every child, concurrency-bounded), their
 * {@linkcode TerminateSummary}, and {@linkcode bulkTerminate}, the bounded
 * runner managers use to implement `terminateAll`.
 *
 * "Polite shutdown" and "forceful stop" are deliberately abstract: an
 * in-process manager drains and aborts actors, an OS-process manager sends
 * RPCs and signals. Every implementation must be idempotent and tolerate
 * races with concurrent termination or external exits.
 *
 * @module
 */

import type { ActorId, ProcId } from "../actor/reference.ts";
import type { Context } from "../actor/types.ts";
import { isTerminateError } from "./proc_handle.ts";
import type { StopOptions } from "../internal/stop_options.ts";

/**
 * Options of {@linkcode BulkTerminate.terminateAll}: the shared
 * {@linkcode StopOptions} (`graceMs` per child, default
 * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`; `reason`; `signal` forces what is left
 * at once and rejects with its reason) plus the concurrency bound.
 */
export interface TerminateAllOptions extends StopOptions {
  /**
   * At most this many children at a time (HO-5; values below 1 act as 1;
   * default `HYPERACTOR_MESH_TERMINATE_CONCURRENCY`).
   */
  maxInFlight?: number;
}

/**
 * Counts of a bulk termination: `attempted` children, `ok` ones that reached a
 * terminal state (including those already terminal), `failed` ones.
 * Displayed as `attempted=N ok=N failed=N`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { TerminateSummary } from "./terminate.ts";
 * const s = new TerminateSummary({ attempted: 3, ok: 2, failed: 1 });
 * assertEquals(String(s), "attempted=3 ok=2 failed=1");
 * assertEquals(JSON.parse(JSON.stringify(s)), { attempted: 3, ok: 2, failed: 1 });
 * ```
 */
export class TerminateSummary {
  /** Children for which termination was attempted. */
  readonly attempted: number;
  /** Children that reached a terminal state (or already were). */
  readonly ok: number;
  /** Children that could not be terminated (signal errors, lost lifecycle channel). */
  readonly failed: number;

  /**
   * Creates the instance.
   * @param counts Children `attempted`, `ok` (terminated) and `failed`.
   */
  constructor(counts: { attempted: number; ok: number; failed: number }) {
    this.attempted = counts.attempted;
    this.ok = counts.ok;
    this.failed = counts.failed;
  }

  /**
   * Displays the summary.
   * @returns `attempted=N ok=N failed=N`.
   */
  toString(): string {
    return `attempted=${this.attempted} ok=${this.ok} failed=${this.failed}`;
  }

  /**
   * The plain-data form.
   * @returns Plain data.
   */
  toJSON(): { attempted: number; ok: number; failed: number } {
    return { attempted: this.attempted, ok: this.ok, failed: this.failed };
  }
}

/** What {@linkcode SingleTerminate.terminateProc} reports. */
export interface TerminateProcResult {
  /** Actors that stopped politely. */
  stopped: ActorId[];
  /** Actors force-stopped at the deadline. */
  aborted: ActorId[];
}

/** Something that can terminate one proc by id (a manager, or a host delegating to it). */
export interface SingleTerminate {
  /**
   * Politely stops `procId`, waits up to `graceMs`, then forces it.
   * @param cx The calling actor.
   * @param procId The proc.
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason`, `signal` (forces at once and rejects with its reason).
   * @returns The actors stopped politely and those aborted.
   * @throws {Error} When the proc is unknown or cannot be stopped.
   */
  terminateProc(cx: Context, procId: ProcId, options?: StopOptions): Promise<TerminateProcResult>;
}

/** A manager that can terminate all its children in bulk. */
export interface BulkTerminate {
  /**
   * Politely stops every known child, waits up to `graceMs` each, forces
   * the rest; at most `maxInFlight` (≥ 1) at a time.
   * @param cx The calling actor.
   * @param options Per-child `graceMs`, `maxInFlight`, `reason`, `signal`
   * (forces what is left at once and rejects with its reason).
   * @returns The counts.
   */
  terminateAll(cx: Context, options?: TerminateAllOptions): Promise<TerminateSummary>;
}

/**
 * Whether `value` implements {@linkcode BulkTerminate}.
 * @param value Anything (usually a manager).
 * @returns Whether it has a `terminateAll` method.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isBulkTerminate } from "./terminate.ts";
 * assert(!isBulkTerminate({}));
 * ```
 */
export function isBulkTerminate(value: unknown): value is BulkTerminate {
  return typeof (value as Partial<BulkTerminate> | null)?.terminateAll === "function";
}

/**
 * Whether `value` implements {@linkcode SingleTerminate}.
 * @param value Anything (usually a manager).
 * @returns Whether it has a `terminateProc` method.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isSingleTerminate } from "./terminate.ts";
 * assert(isSingleTerminate({ terminateProc: () => Promise.resolve({ stopped: [], aborted: [] }) }));
 * ```
 */
export function isSingleTerminate(value: unknown): value is SingleTerminate {
  return typeof (value as Partial<SingleTerminate> | null)?.terminateProc === "function";
}

/** Options of {@linkcode bulkTerminate}. */
export interface BulkTerminateOptions {
  /** Upper bound on concurrent terminations; values below 1 act as 1 (HO-5). */
  maxInFlight: number;
  /** Called with each failure (for logs); default: `console.warn`. */
  onError?: (item: unknown, error: unknown) => void;
}

/**
 * Runs `terminateOne` over `items` with at most `maxInFlight` in flight
 * (HO-5) and counts outcomes: a fulfilled call, or one rejected with a
 * `TerminateError` of kind `AlreadyTerminated`, is `ok`; any other rejection
 * is `failed`. Never rejects.
 *
 * @param items The children (handles, procs…); snapshotted before starting.
 * @param terminateOne Terminates one child.
 * @param options Concurrency bound and error hook.
 * @returns The summary.
 * @throws {RangeError} When `maxInFlight` is not a number.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { bulkTerminate } from "./terminate.ts";
 * import { TerminateError } from "./proc_handle.ts";
 * const summary = await bulkTerminate([1, 2, 3], (n) =>
 *   n === 2 ? Promise.reject(TerminateError.alreadyTerminated(0))
 *   : n === 3 ? Promise.reject(TerminateError.channelClosed())
 *   : Promise.resolve(), { maxInFlight: 2, onError: () => {} });
 * assertEquals(String(summary), "attempted=3 ok=2 failed=1");
 * ```
 */
export async function bulkTerminate<T>(
  items: Iterable<T>,
  terminateOne: (item: T) => Promise<unknown>,
  options: BulkTerminateOptions,
): Promise<TerminateSummary> {
  if (typeof options.maxInFlight !== "number" || Number.isNaN(options.maxInFlight)) {
    throw new RangeError(`Invalid maxInFlight: ${options.maxInFlight}`);
  }
  const limit = Math.max(1, Math.floor(options.maxInFlight)); // HO-5
  const onError = options.onError ??
    ((item: unknown, error: unknown) =>
      console.warn(`hypermesh: terminate of ${String(item)} failed:`, error));
  const queue = [...items];
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const item = queue[next++];
      try {
        await terminateOne(item);
        ok++;
      } catch (error) {
        if (isTerminateError(error, "AlreadyTerminated")) ok++;
        else {
          try {
            onError(item, error);
          } catch { /* a throwing hook must not break the count */ }
        }
      }
    }
  };
  const workers = Array.from({ length: Math.min(limit, queue.length) }, worker);
  await Promise.all(workers);
  return new TerminateSummary({ attempted: queue.length, ok, failed: queue.length - ok });
}
