/**
 * Restart policies: when a failed rank of a mesh comes back, how often, and
 * after how long. The knobs are Erlang/OTP's supervisor intensity (at most
 * `maxRestarts` restarts within `withinMs`, then give up and escalate) plus
 * PM2's exponential backoff (`initialMs`, growing by `factor` up to `maxMs`)
 * and `stopExitCodes` (exit codes that mean "done, do not restart").
 *
 * ## Invariants (RS-*)
 * - **RS-1 (validated).** {@linkcode restartPolicy} accepts only a known mode,
 *   non-negative integer `maxRestarts`, positive finite `withinMs`,
 *   non-negative finite `initialMs ≤ maxMs` (0: restart at once, as OTP
 *   does), a finite `factor ≥ 1` and integer exit codes
 *   in 0..255; anything else throws {@linkcode RestartPolicyError} naming
 *   the field, before anything is spawned.
 * - **RS-2 (intensity).** A rank is restarted at most `maxRestarts` times in
 *   any window of `withinMs`; the failure that would exceed it is not
 *   restarted and escalates as an ordinary unhandled failure.
 * - **RS-3 (backoff).** The n-th consecutive restart of a rank (n from 1,
 *   counted while restarts keep falling within `withinMs` of each other)
 *   waits `min(maxMs, initialMs × factor^(n-1))` before the new incarnation
 *   is started: delays never shrink while a rank keeps failing.
 * - **RS-4 (what restarts).** `never` restarts nothing. `on-failure`
 *   restarts a proc that was killed, failed or exited with a non-zero code,
 *   and an actor that failed. `always` also restarts a proc that exited with
 *   code 0 without being asked to. An exit code listed in `stopExitCodes`
 *   is never restarted, whatever the mode; a lost host is never restarted in
 *   place (there is no host to restart on).
 *
 * @module
 */

/** When a failed rank is restarted (RS-4). */
export type RestartMode = "never" | "on-failure" | "always";

/** Exponential backoff between the restarts of one rank (RS-3). */
export interface BackoffPolicy {
  /** Delay before the first restart, ms (default 100). */
  initialMs: number;
  /** Longest delay, ms (default 10 000). */
  maxMs: number;
  /** Growth per consecutive restart (default 2; 1 = constant delay). */
  factor: number;
}

/** A validated restart policy (see {@linkcode restartPolicy} for the defaults). */
export interface RestartPolicy {
  /** When to restart. */
  readonly restart: RestartMode;
  /** At most this many restarts of one rank within `withinMs` (RS-2). */
  readonly maxRestarts: number;
  /** The intensity window, ms. */
  readonly withinMs: number;
  /** Delay between restarts (RS-3). */
  readonly backoff: Readonly<BackoffPolicy>;
  /** Exit codes that are never restarted (RS-4). */
  readonly stopExitCodes: readonly number[];
}

/** A restart policy as written by a user: only `restart` is required. */
export interface RestartPolicyInit {
  /** When to restart. */
  restart: RestartMode;
  /** At most this many restarts of one rank within `withinMs` (default 3). */
  maxRestarts?: number;
  /** The intensity window, ms (default 60 000). */
  withinMs?: number;
  /** Backoff between restarts (defaults: 100 ms, ×2, at most 10 s). */
  backoff?: Partial<BackoffPolicy>;
  /** Exit codes that are never restarted (default none). */
  stopExitCodes?: readonly number[];
}

/** The defaults of every field but `restart`. */
export const RESTART_DEFAULTS: Omit<RestartPolicy, "restart"> = Object.freeze({
  maxRestarts: 3,
  withinMs: 60_000,
  backoff: Object.freeze({ initialMs: 100, maxMs: 10_000, factor: 2 }),
  stopExitCodes: Object.freeze([]) as readonly number[],
});

/** The policy of a mesh spawned without one: nothing restarts. */
export const NO_RESTART: RestartPolicy = Object.freeze({ ...RESTART_DEFAULTS, restart: "never" });

/** A restart policy that makes no sense (RS-1). */
export class RestartPolicyError extends Error {
  /** The offending field (`"backoff.initialMs"`, …). */
  readonly field: string;
  /**
   * Creates a RestartPolicyError.
   * @param field The offending field.
   * @param problem What is wrong with it.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RestartPolicyError } from "./policy.ts";
   * const e = new RestartPolicyError("maxRestarts", "must be a non-negative integer, got -1");
   * assertEquals(e.message, "Invalid restart policy: maxRestarts must be a non-negative integer, got -1");
   * ```
   */
  constructor(field: string, problem: string) {
    super(`Invalid restart policy: ${field} ${problem}`);
    this.name = "RestartPolicyError";
    this.field = field;
  }
}

const MODES: ReadonlySet<string> = new Set(["never", "on-failure", "always"]);

function positive(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RestartPolicyError(field, `must be a positive finite number, got ${String(value)}`);
  }
  return value;
}

function nonNegative(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RestartPolicyError(field, `must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates a policy and fills in the defaults (RS-1).
 * @param init The policy as written, or `undefined` for {@linkcode NO_RESTART}.
 * @returns The frozen policy.
 * @throws {RestartPolicyError} For an unknown mode, a negative or fractional
 * count, a non-positive window, a negative delay, an initial delay above the maximum,
 * a factor below 1, or an exit code outside 0..255.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { restartPolicy, RestartPolicyError } from "./policy.ts";
 * const p = restartPolicy({ restart: "on-failure", maxRestarts: 2, backoff: { initialMs: 50 } });
 * assertEquals([p.maxRestarts, p.withinMs, p.backoff.initialMs, p.backoff.maxMs], [2, 60_000, 50, 10_000]);
 * assertThrows(
 *   () => restartPolicy({ restart: "always", backoff: { initialMs: 5_000, maxMs: 1_000 } }),
 *   RestartPolicyError,
 *   "backoff.initialMs",
 * );
 * ```
 */
export function restartPolicy(init: RestartPolicyInit | undefined): RestartPolicy {
  if (init === undefined) return NO_RESTART;
  if (init === null || typeof init !== "object") {
    throw new RestartPolicyError("policy", `must be an object, got ${String(init)}`);
  }
  if (typeof init.restart !== "string" || !MODES.has(init.restart)) {
    throw new RestartPolicyError(
      "restart",
      `must be "never", "on-failure" or "always", got ${JSON.stringify(init.restart)}`,
    );
  }
  const maxRestarts = init.maxRestarts ?? RESTART_DEFAULTS.maxRestarts;
  if (!Number.isSafeInteger(maxRestarts) || maxRestarts < 0) {
    throw new RestartPolicyError(
      "maxRestarts",
      `must be a non-negative integer, got ${String(maxRestarts)}`,
    );
  }
  const withinMs = positive("withinMs", init.withinMs ?? RESTART_DEFAULTS.withinMs);
  const b = init.backoff ?? {};
  if (b === null || typeof b !== "object") {
    throw new RestartPolicyError("backoff", `must be an object, got ${String(b)}`);
  }
  const initialMs = nonNegative(
    "backoff.initialMs",
    b.initialMs ?? RESTART_DEFAULTS.backoff.initialMs,
  );
  const maxMs = nonNegative(
    "backoff.maxMs",
    b.maxMs ?? Math.max(RESTART_DEFAULTS.backoff.maxMs, initialMs),
  );
  if (initialMs > maxMs) {
    throw new RestartPolicyError(
      "backoff.initialMs",
      `(${initialMs}) must not exceed backoff.maxMs (${maxMs})`,
    );
  }
  const factor = b.factor ?? RESTART_DEFAULTS.backoff.factor;
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
    throw new RestartPolicyError("backoff.factor", `must be a finite number ≥ 1, got ${factor}`);
  }
  const codes = init.stopExitCodes ?? [];
  if (!Array.isArray(codes)) {
    throw new RestartPolicyError("stopExitCodes", `must be an array, got ${String(codes)}`);
  }
  for (const code of codes) {
    if (!Number.isInteger(code) || code < 0 || code > 255) {
      throw new RestartPolicyError("stopExitCodes", `must hold exit codes 0..255, got ${code}`);
    }
  }
  return Object.freeze({
    restart: init.restart,
    maxRestarts,
    withinMs,
    backoff: Object.freeze({ initialMs, maxMs, factor }),
    stopExitCodes: Object.freeze([...codes]),
  });
}

/**
 * The backoff before the n-th consecutive restart (RS-3).
 * @param backoff The policy's backoff.
 * @param attempt The consecutive restart, from 1.
 * @returns The delay, ms.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { backoffDelay } from "./policy.ts";
 * const b = { initialMs: 100, maxMs: 500, factor: 2 };
 * assertEquals([1, 2, 3, 4].map((n) => backoffDelay(b, n)), [100, 200, 400, 500]);
 * ```
 */
export function backoffDelay(backoff: Readonly<BackoffPolicy>, attempt: number): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (n - 1));
}
