/**
 * Folder-private receive queue: delivered messages waiting for `recv()`.
 * @module
 */

import { Deque } from "./_deque.ts";

interface Waiter<M> {
  // recv(): the item or `undefined`; iterator: an IteratorResult (no extra hop).
  resolve: (value: M | undefined | IteratorResult<M>) => void;
  iter: boolean;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Unbounded FIFO with at most one promise per waiting `recv()`. */
export class RecvQueue<M> {
  #items = new Deque<M>(1024);
  #waiters = new Deque<Waiter<M>>();
  #closed = false;
  #spaceWaiters: (() => void)[] = [];
  /** Soft capacity: producers that honour backpressure wait while it is exceeded. */
  readonly capacity: number;

  /** @param capacity Soft capacity for {@linkcode RecvQueue.waitForSpace}. */
  constructor(capacity = 16 * 1024) {
    this.capacity = capacity;
  }

  /** Buffered messages. */
  get length(): number {
    return this.#items.length;
  }

  /** Whether {@linkcode RecvQueue.close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @param item Delivered to a waiting `recv()` or buffered. */
  push(item: M): void {
    const w = this.#waiters.shift();
    if (w === undefined) {
      this.#items.push(item);
      return;
    }
    if (w.onAbort) w.signal!.removeEventListener("abort", w.onAbort);
    w.resolve(w.iter ? { value: item, done: false } : item);
  }

  /**
   * @param signal Cancellation.
   * @returns The next item, or `undefined` once closed and drained.
   */
  recv(signal?: AbortSignal): Promise<M | undefined> {
    if (this.#items.length > 0) {
      const item = this.#items.shift();
      if (this.#spaceWaiters.length > 0 && this.#items.length <= this.capacity >> 1) this.#space();
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<M | undefined>((resolve, reject) => {
      const w: Waiter<M> = { resolve: resolve as Waiter<M>["resolve"], reject, iter: false };
      if (signal) {
        w.signal = signal;
        w.onAbort = () => {
          this.#remove(w);
          reject(signal.reason);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.push(w);
    });
  }

  /** @returns Resolves once the backlog is at most half the capacity (or closed). */
  waitForSpace(): Promise<void> {
    if (this.#items.length < this.capacity || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#spaceWaiters.push(resolve));
  }

  /** Ends waiting `recv()`s with `undefined`; buffered items stay readable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      if (w.onAbort) w.signal!.removeEventListener("abort", w.onAbort);
      w.resolve(w.iter ? { value: undefined, done: true } : undefined);
    }
    this.#space();
  }

  /** @returns An async iterator over {@linkcode RecvQueue.recv}. */
  iterator(): AsyncIterator<M> {
    return {
      next: (): Promise<IteratorResult<M>> => {
        if (this.#items.length > 0) {
          const value = this.#items.shift()!;
          if (this.#spaceWaiters.length > 0 && this.#items.length <= this.capacity >> 1) {
            this.#space();
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.#closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<M>>((resolve, reject) => {
          this.#waiters.push({ resolve: resolve as Waiter<M>["resolve"], reject, iter: true });
        });
      },
    };
  }

  #space(): void {
    const ws = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of ws) w();
  }

  #remove(w: Waiter<M>): void {
    const keep = this.#waiters.drain().filter((x) => x !== w);
    for (const x of keep) this.#waiters.push(x);
  }
}
