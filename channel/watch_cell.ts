/**
 * `WatchCell<T>`: one value that changes over time, observable without loss.
 *
 * Statuses of links and processes live in watch cells. A subscriber sees the
 * value current when it subscribed and then every later value, in order.
 *
 * ## Invariants (WC-*)
 * - **WC-1 (snapshot).** `get()` returns the most recently published value.
 * - **WC-2 (lossless order).** Each `watch()` iterator yields the value current
 *   at subscription, then every value published later, in publication order,
 *   none skipped, however slowly it is consumed.
 * - **WC-3 (close ends).** After `close()`, every iterator ends once it has
 *   yielded what was queued for it; `set()` on a closed cell throws.
 * - **WC-4 (cancellable).** An aborted `signal` ends a parked `watch()` or
 *   `changed()` with `signal.reason`, and the subscription is released.
 *
 * @module
 */

import { raceAbort } from "../internal/abort.ts";

/** Error thrown when publishing to a closed {@linkcode WatchCell}. */
export class WatchCellClosedError extends Error {
  constructor() {
    super("Cannot publish: the watch cell is closed");
    this.name = "WatchCellClosedError";
  }
}

interface Subscriber<T> {
  queue: T[];
  wake: (() => void) | undefined;
}

/** Options for waiting on a {@linkcode WatchCell}. */
export interface WatchOptions {
  /** Ends the wait with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * A value cell whose every change can be observed in order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WatchCell } from "./watch_cell.ts";
 *
 * const cell = new WatchCell(0);
 * const seen: number[] = [];
 * const reader = (async () => {
 *   for await (const v of cell.watch()) seen.push(v);
 * })();
 * cell.set(1);
 * cell.update((v) => v + 1);
 * cell.close();
 * await reader;
 * assertEquals(seen, [0, 1, 2]);
 * ```
 */
export class WatchCell<T> {
  #value: T;
  #closed = false;
  #subscribers = new Set<Subscriber<T>>();

  /**
   * Creates a cell holding `initial`.
   * @param initial The first value.
   */
  constructor(initial: T) {
    this.#value = initial;
  }

  /**
   * The current value (WC-1).
   * @returns The most recently published value.
   */
  get(): T {
    return this.#value;
  }

  /** Whether {@linkcode WatchCell.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Publishes `value` to every subscriber.
   * @param value The new value.
   * @throws {WatchCellClosedError} When the cell is closed.
   */
  set(value: T): void {
    if (this.#closed) throw new WatchCellClosedError(); // WC-3
    this.#value = value;
    for (const sub of this.#subscribers) {
      sub.queue.push(value); // WC-2: every subscriber queues every value
      const wake = sub.wake;
      sub.wake = undefined;
      wake?.();
    }
  }

  /**
   * Publishes `fn(current)` atomically.
   * @param fn Computes the next value from the current one.
   * @returns The published value.
   * @throws {WatchCellClosedError} When the cell is closed.
   */
  update(fn: (current: T) => T): T {
    const next = fn(this.#value);
    this.set(next);
    return next;
  }

  /**
   * Ends every iterator after it drained its queue (WC-3). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subscribers) {
      const wake = sub.wake;
      sub.wake = undefined;
      wake?.();
    }
  }

  /**
   * Subscribes now and yields the current value, then every later one in
   * order (WC-2). The subscription starts at the call, not at the first
   * `next()`; end it by iterating to completion, breaking out of a
   * `for await`, or calling `return()`.
   * @param options Cancellation.
   * @returns An async iterator that ends when the cell closes.
   * @throws The signal's reason when aborted (WC-4).
   */
  watch(options: WatchOptions = {}): AsyncGenerator<T, void, undefined> {
    const sub: Subscriber<T> = { queue: [this.#value], wake: undefined };
    this.#subscribers.add(sub);
    const generator = this.#drain(sub, options.signal);
    const release = () => this.#subscribers.delete(sub);
    const originalReturn = generator.return.bind(generator);
    // A generator returned before its first next() never runs its finally block.
    generator.return = (value) => {
      release();
      return originalReturn(value);
    };
    return generator;
  }

  async *#drain(sub: Subscriber<T>, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    try {
      while (true) {
        signal?.throwIfAborted();
        if (sub.queue.length > 0) {
          yield sub.queue.shift()!;
        } else if (this.#closed) {
          return;
        } else {
          await raceAbort(new Promise<void>((resolve) => (sub.wake = resolve)), signal);
        }
      }
    } finally {
      this.#subscribers.delete(sub);
    }
  }

  /**
   * Waits for the next published value.
   * @param options Cancellation.
   * @returns The next value, or `undefined` if the cell closed first.
   * @throws The signal's reason when aborted (WC-4).
   */
  async changed(options: WatchOptions = {}): Promise<T | undefined> {
    const it = this.watch(options);
    try {
      await it.next(); // the current value
      const next = await it.next();
      return next.done ? undefined : next.value;
    } finally {
      await it.return(undefined);
    }
  }

  /**
   * Waits until `predicate` holds for the current or a later value.
   * @param predicate The condition to wait for.
   * @param options Cancellation.
   * @returns The first value satisfying `predicate`, or `undefined` if the
   * cell closed first.
   * @throws The signal's reason when aborted (WC-4).
   */
  async waitFor(
    predicate: (value: T) => boolean,
    options: WatchOptions = {},
  ): Promise<T | undefined> {
    for await (const value of this.watch(options)) {
      if (predicate(value)) return value;
    }
    return undefined;
  }
}
