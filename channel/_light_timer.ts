/**
 * Folder-private one-shot timers that cost nothing to start in a fresh
 * process, for bounds on waits that I/O keeps alive.
 *
 * Deno 2.9's global `setTimeout`/`setInterval` are the node-compatible
 * implementation, loaded lazily: the first call in a process costs 7–14 ms of
 * CPU. A bootstrap child would pay that on its way to the bootstrap callback
 * (the delivery deadline of the callback message), i.e. on spawn-to-Ready
 * (`bench/spawn_bench.ts`). `AbortSignal.timeout` runs on the runtime's own
 * web timer and starts in well under a millisecond.
 *
 * Such a timer is **unref'd** (it does not keep the event loop alive) and is
 * invisible to the test op sanitizer, so it is only for bounds on waits that
 * something else keeps alive: a link's delivery deadline (its connection is
 * open), an ack coalescing delay (its connection is reading), a bounded wait
 * on a socket write or read. Timers that must keep a process running (the
 * reconnect backoff, user-visible timeouts) stay on `setTimeout`.
 *
 * Cancelling detaches the callback at once; the runtime's timer entry itself
 * lives until it is due (it holds only the detached signal).
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
