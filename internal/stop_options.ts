/**
 * `StopOptions`: the one options type of every stop, terminate,
 * kill-with-grace and bounded wait in hypermesh (`stopChild`,
 * `ProcLauncher.terminate`, `Proc.destroyAndWait`, `ProcHandle.terminate`,
 * the managers' `terminateProc`/`terminateAll`, `Host.terminateChildren`,
 * `ProcMesh.stop`, `ActorMesh.stop`, `HostMesh.shutdown`…). Declared once,
 * at the bottom, so every layer names the same thing; each layer re-exports
 * it from its `mod.ts`.
 *
 * The shared meaning of the fields:
 * - `graceMs` — how long the polite stop may take before what is left is
 *   forced (each method documents its default).
 * - `reason` — why (informational: logged, carried in stop messages).
 * - `signal` — aborting cuts the grace short (what is left is forced at
 *   once) and the call rejects with `signal.reason` without waiting for the
 *   forced stop to finish; its listener is removed on every exit path.
 *   `stopChild` alone resolves instead (with `forced: true`): it reports what
 *   it did to the process.
 * @module
 */

/** Options of a stop: polite first, forced after the grace; see the module doc. */
export interface StopOptions {
  /** How long the polite stop may take before what is left is forced, ms. */
  graceMs?: number;
  /** Why (informational). */
  reason?: string;
  /** Aborting forces what is left at once and rejects the call with `signal.reason`. */
  signal?: AbortSignal;
}

/** The grace of a stop that names none (as `stopChild`): 5 s. */
export const DEFAULT_GRACE_MS = 5_000;

/**
 * Validates a grace: a number ≥ 0 (`Infinity` waits for ever).
 * @param action What is being done ("terminate proc X"), for the message.
 * @param graceMs The grace.
 * @returns `graceMs`.
 * @throws {RangeError} When it is negative, NaN or infinite.
 */
export function checkGrace(action: string, graceMs: number): number {
  if (!(graceMs >= 0)) {
    throw new RangeError(`Cannot ${action}: invalid graceMs ${graceMs}`);
  }
  return graceMs;
}

/**
 * Lets `signal` force a stop in flight: when it aborts (or already has),
 * `force()` is called once (its errors are swallowed: the stop in flight
 * reports the outcome to whoever else awaits it) and the returned promise
 * rejects with `signal.reason` at once; otherwise it settles as `stopping`.
 * The listener is removed on every exit path; a later rejection of
 * `stopping` is handled.
 * @param stopping The polite stop, already started.
 * @param force Escalates it (kill, abort what is left).
 * @param signal Optional cancellation.
 * @returns `stopping`'s value.
 */
export function forceOnAbort<T>(
  stopping: Promise<T>,
  force: () => unknown,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return stopping;
  const escalate = () => {
    try {
      Promise.resolve(force()).catch(() => {});
    } catch { /* reported by the stop in flight */ }
  };
  if (signal.aborted) {
    stopping.catch(() => {});
    escalate();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      escalate();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    stopping.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
