/**
 * `stopChild`: polite-first, bounded stop of a child process (or its group).
 * @module
 */

import { processState } from "./_proc_state.ts";
import { DEFAULT_GRACE_MS, type StopOptions } from "../internal/stop_options.ts";

export type { StopOptions };

/**
 * Options of {@linkcode stopChild}: the shared {@linkcode StopOptions}
 * (`graceMs` after SIGTERM before SIGKILL, default 5000 ms; aborting `signal`
 * ends the grace early and the child is forced at once — `stopChild` then
 * resolves with `forced: true`; `reason` is not used) plus process-level knobs.
 */
export interface StopChildOptions extends StopOptions {
  /**
   * Signal the whole process group `-pid` (the child must lead its own group,
   * e.g. spawned with `detached: true`). Default `false`: signal the pid only.
   */
  processGroup?: boolean;
  /** Poll period when waiting on a bare pid (default 20 ms). */
  pollMs?: number;
}

/** Result of {@linkcode stopChild}. */
export interface StopResult<S> {
  /** The exit status (`null` when stopping a bare pid: it cannot be observed). */
  status: S;
  /** Whether SIGKILL was needed. */
  forced: boolean;
}

/**
 * Send `sig` to the group `-pid` (when `group`) or to `pid`. A process or
 * group that is already gone (ESRCH) is not an error.
 * @returns whether a signal was delivered.
 */
function trySignal(pid: number, sig: Deno.Signal, group: boolean): boolean {
  if (group) {
    try {
      Deno.kill(-pid, sig);
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  try {
    Deno.kill(pid, sig);
    return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return false;
  }
}

/**
 * Race `promise` against `ms` and `signal`; `undefined` when the time ran out
 * or the signal fired. Drops its timer and listener on every path.
 */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<{ value: T } | undefined> {
  if (signal?.aborted) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), undefined);
    onAbort = () => resolve(undefined);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), expired]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

async function pidGone(pid: number, pollMs: number): Promise<null> {
  while ((await processState(pid)) === "alive") {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return null;
}

/**
 * Stop a child: SIGTERM (to its group when `processGroup`), wait up to
 * `graceMs` for it to exit, then SIGKILL and wait for the exit. A child that
 * has already exited is simply awaited.
 *
 * Given a bare pid the exit is observed by polling its state (a zombie counts
 * as gone; Deno needs `--allow-all` to read `/proc`, else `ps` is run) and the
 * status is `null`.
 * @param child a spawned `Deno.ChildProcess`, or a pid.
 * @param options grace, abort signal, group signalling.
 * @returns the status and whether SIGKILL was needed.
 * @throws {Deno.errors.PermissionDenied} (EPERM) when the child may not be signalled.
 * @throws {RangeError} for a negative `graceMs` or a non-positive pid.
 * @tags allow-run
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stopChild } from "./stop.ts";
 * const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
 * const { status, forced } = await stopChild(child, { graceMs: 1000 });
 * assertEquals([status.signal, forced], ["SIGTERM", false]);
 * ```
 */
export function stopChild(
  child: Deno.ChildProcess,
  options?: StopChildOptions,
): Promise<StopResult<Deno.CommandStatus>>;
/**
 * Stop a bare pid (or its group): SIGTERM, poll for up to `graceMs` until it
 * is gone or a zombie, then SIGKILL and poll again. The status is `null`.
 * @param pid a positive process id.
 * @param options grace, abort signal, group signalling, poll period.
 * @returns `null` status and whether SIGKILL was needed.
 * @throws {Deno.errors.PermissionDenied} (EPERM) when the pid may not be signalled.
 * @throws {RangeError} for a negative `graceMs` or a non-positive pid.
 * @tags allow-run
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stopChild } from "./stop.ts";
 * const child = new Deno.Command("sleep", { args: ["30"], detached: true }).spawn();
 * const { status } = await stopChild(child.pid, { processGroup: true });
 * assertEquals([status, (await child.status).signal], [null, "SIGTERM"]);
 * ```
 */
export function stopChild(pid: number, options?: StopChildOptions): Promise<StopResult<null>>;
export async function stopChild(
  child: Deno.ChildProcess | number,
  options: StopChildOptions = {},
): Promise<StopResult<Deno.CommandStatus | null>> {
  const { graceMs = DEFAULT_GRACE_MS, signal, processGroup = false, pollMs = 20 } = options;
  if (!(graceMs >= 0)) throw new RangeError(`Cannot stop child: invalid graceMs ${graceMs}`);
  const pid = typeof child === "number" ? child : child.pid;
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`Cannot stop child: invalid pid ${pid}`);
  }
  const exited = (): Promise<Deno.CommandStatus | null> =>
    typeof child === "number" ? pidGone(pid, pollMs) : child.status;
  const polite = exited();
  trySignal(pid, "SIGTERM", processGroup); // LN-1: always polite first
  const done = await within(polite, graceMs, signal); // LN-2: the grace bounds the polite wait
  if (done) return { status: done.value, forced: false };
  trySignal(pid, "SIGKILL", processGroup); // ESRCH (exited meanwhile) is swallowed
  return { status: await polite, forced: true };
}
