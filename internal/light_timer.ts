/**
 * One-shot timers that cost nothing to start in a fresh process. Internal:
 * shared by the channel, actor, bootstrap and mesh layers, not exported.
 *
 * Deno 2.9's global `setTimeout`/`setInterval`/`clearTimeout` are the
 * node-compatible implementation, loaded lazily with a share of the node
 * polyfills: the first call in a process costs 7–14 ms of CPU. A bootstrap
 * child would pay that on its way to the bootstrap callback (the delivery
 * deadline of the callback message), and again when it stops its actors —
 * on spawn-to-Ready and on graceful stop (`bench/spawn_bench.ts`).
 * `AbortSignal.timeout` runs on the runtime's own web timer and starts in
 * well under a millisecond.
 *
 * Like `setTimeout`, an armed light timer keeps the event loop alive: Deno
 * refs an `AbortSignal.timeout` timer while the signal has an `abort`
 * listener, and cancelling removes the listener (tested). Unlike it, the
 * timer is invisible to the test op sanitizer, so every user here cancels
 * its timer on every path (and tests assert the behaviour, not the
 * sanitizer). User-visible timers (`selfMessageWithDelay`) and the
 * reconnect backoff stay on `setTimeout`.
 *
 * Cancelling detaches the callback at once; the runtime's timer entry itself
 * lives, unref'd, until it is due (it holds only the detached signal).
 * @module
 */

/** A started {@linkcode startLightTimer} timer. */
export interface LightTimer {
  /** Detaches the callback; calling it again (or after it fired) does nothing. */
  cancel(): void;
}

/**
 * Calls `fn` once, after at least `ms` milliseconds, unless cancelled first.
 * @param ms Delay (negative counts as 0).
 * @param fn The callback.
 * @returns The timer.
 * @example
 * ```ts ignore
 * const timer = startLightTimer(100, () => console.log("late"));
 * timer.cancel();
 * ```
 */
export function startLightTimer(ms: number, fn: () => void): LightTimer {
  const signal = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
  let live = true;
  const fire = () => {
    if (!live) return;
    live = false;
    fn();
  };
  signal.addEventListener("abort", fire, { once: true });
  return {
    cancel() {
      if (!live) return;
      live = false;
      signal.removeEventListener("abort", fire);
    },
  };
}

/**
 * Resolves `true` if `promise` settles (either way) within `ms`, else
 * `false`; the timer is cancelled as soon as the promise settles. A promise
 * that has already settled arms no timer at all.
 * @param promise The work.
 * @param ms The bound.
 * @returns Whether it settled in time.
 * @example
 * ```ts ignore
 * if (!(await settlesWithinLight(actor.done, 1000))) actor.abort();
 * ```
 */
export async function settlesWithinLight(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const mark = () => (settled = true);
  const observed = promise.then(mark, mark);
  // The reaction of an already-settled promise runs before this continuation:
  // a stop that finds its writes done (the usual case) starts no timer.
  await null;
  if (settled) return true;
  return await new Promise<boolean>((resolve) => {
    const timer = startLightTimer(ms, () => resolve(false));
    observed.then(() => {
      timer.cancel();
      resolve(true);
    });
  });
}
