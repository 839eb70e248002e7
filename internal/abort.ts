/**
 * Folder-private helpers for `AbortSignal` handling.
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
