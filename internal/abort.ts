/**
 * Folder-private helpers for `AbortSignal` handling.
 *
 * ## Invariants (AB-*)
 * - **AB-1 (a settled wait is not aborted).** {@linkcode waitWithin} aborts
 *   the signal it gave the wait only at the deadline, with a `TimeoutError`.
 *   A wait that settled first has let go of the signal itself (as
 *   {@linkcode raceAbort} does), so aborting it would only build a
 *   `DOMException` — a stack capture per proc stop, ~30 µs of a host's CPU
 *   (profiled) — for nothing.
 * @module
 */

/**
 * Races `promise` against `signal`: rejects with `signal.reason` as soon as the
 * signal aborts, and removes its listener on every exit path.
 *
 * @param promise The work to wait for.
 * @param signal Optional cancellation.
 * @returns The promise's value.
 */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
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

/**
 * Starts a wait with a signal and gives it `ms`: resolves with its value if
 * it settles first (a rejection counts as `undefined`), else with
 * `undefined` at the deadline, when the signal is aborted with a
 * `TimeoutError` (AB-1). The timer is cleared either way.
 * @param start Begins the wait; must let go of the signal once it settles.
 * @param ms The deadline, from now (negative counts as 0).
 * @returns The value, or `undefined` (deadline or rejection).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { waitWithin } from "./abort.ts";
 * assertEquals(await waitWithin(() => Promise.resolve(7), 1_000), 7);
 * ```
 */
export async function waitWithin<T>(
  start: (signal: AbortSignal) => Promise<T>,
  ms: number,
): Promise<T | undefined> {
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      stop.abort(new DOMException("deadline", "TimeoutError"));
      resolve(undefined);
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([start(stop.signal).catch(() => undefined), expired]);
  } finally {
    clearTimeout(timer); // AB-1: no abort for a wait that settled
  }
}
