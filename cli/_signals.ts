/**
 * Folder-private: how a long-running subcommand (`admin`, `top`,
 * `demo --admin`) waits for Ctrl-C or SIGTERM and then ends cleanly.
 * @module
 */

/**
 * An abort signal that fires on the first SIGINT or SIGTERM; dispose the
 * result to remove the listeners.
 * @returns The signal (its `reason` names the signal) and a disposer.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stopSignal } from "./_signals.ts";
 * using stop = stopSignal();
 * assertEquals(stop.signal.aborted, false);
 * ```
 */
export function stopSignal(): { signal: AbortSignal } & Disposable {
  const ac = new AbortController();
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => ac.abort(name);
    Deno.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: ac.signal,
    [Symbol.dispose]() {
      for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
    },
  };
}

/**
 * Resolves when `signal` aborts, or after `ms` (never rejects).
 * @param ms How long at most.
 * @param signal Ends the wait early.
 * @returns Whether it was aborted.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sleepUnless } from "./_signals.ts";
 * assertEquals(await sleepUnless(1, AbortSignal.abort()), true);
 * ```
 */
export function sleepUnless(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve(signal.aborted);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
