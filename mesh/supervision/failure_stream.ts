/**
 * `FailureStream`: the fan-out behind `ProcMesh#failures()` and
 * `ActorMesh#failures()`. Publishing never waits for readers; each
 * subscriber has its own bounded buffer.
 *
 * ## Invariants (SV-*)
 * - **SV-4 (every subscriber, from subscription on).** A subscriber sees
 *   every failure published after {@linkcode FailureStream.subscribe}
 *   returned, in publish order; ending its iteration (`break`, `return()`,
 *   its abort signal) unsubscribes it at once.
 * - **SV-5 (bounded, never silent).** A subscriber's buffer holds at most
 *   `bufferSize` failures; when it is full the oldest is dropped and the
 *   next failure it reads carries `lagged: N` (the number dropped just
 *   before it). `publish` never blocks and other subscribers are unaffected.
 * - **SV-6 (close).** After `close()` every iteration ends once its buffer
 *   is drained; later `publish` calls are ignored.
 *
 * @module
 */

import type { MeshFailure } from "./failure.ts";

/** Default per-subscriber buffer of {@linkcode FailureStream.subscribe}. */
export const DEFAULT_FAILURE_BUFFER = 256;

/** Options of {@linkcode FailureStream.subscribe}. */
export interface FailureSubscribeOptions {
  /** Failures buffered for this subscriber before the oldest is dropped (default 256). */
  bufferSize?: number;
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
}

class Subscription implements AsyncIterableIterator<MeshFailure> {
  readonly #queue: MeshFailure[] = [];
  readonly #size: number;
  readonly #onEnd: (s: Subscription) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#end();
  #dropped = 0;
  #closed = false;
  #ended = false;
  #waiters: ((r: IteratorResult<MeshFailure, undefined>) => void)[] = [];

  constructor(size: number, onEnd: (s: Subscription) => void, signal?: AbortSignal) {
    this.#size = size;
    this.#onEnd = onEnd;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  push(failure: MeshFailure): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter({ value: this.#take(failure), done: false });
      return;
    }
    if (this.#queue.length >= this.#size) {
      this.#queue.shift(); // SV-5: drop the oldest, count it
      this.#dropped++;
    }
    this.#queue.push(failure);
  }

  close(): void {
    this.#closed = true;
    if (this.#queue.length === 0) this.#end();
  }

  #take(failure: MeshFailure): MeshFailure {
    if (this.#dropped === 0) return failure;
    const marked = { ...failure, lagged: this.#dropped }; // SV-5
    this.#dropped = 0;
    return marked;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.length = 0;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onEnd(this);
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<MeshFailure, undefined>> {
    const head = this.#queue.shift();
    if (head !== undefined) {
      const value = this.#take(head);
      if (this.#closed && this.#queue.length === 0) this.#end();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended || this.#closed) {
      this.#end();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<MeshFailure, undefined>> {
    this.#end(); // SV-4
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MeshFailure> {
    return this;
  }
}

/**
 * A broadcast of mesh failures to any number of bounded subscribers.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FailureStream } from "./failure_stream.ts";
 * import type { MeshFailure } from "./failure.ts";
 * const failure = (rank: number): MeshFailure => ({
 *   kind: "ProcExit", meshName: "w", rank, procId: `p${rank}`, actorId: null,
 *   status: { kind: "Failed", message: "x" }, reason: "x", stderrTail: [], occurredAt: 0,
 * });
 * const stream = new FailureStream();
 * const slow = stream.subscribe({ bufferSize: 1 });
 * stream.publish(failure(0));
 * stream.publish(failure(1));
 * const first = await slow.next();
 * assertEquals([first.value?.rank, first.value?.lagged], [1, 1]);
 * stream.close();
 * assertEquals((await slow.next()).done, true);
 * ```
 */
export class FailureStream {
  readonly #subs = new Set<Subscription>();
  #closed = false;

  /** Live subscribers. */
  get subscriberCount(): number {
    return this.#subs.size;
  }

  /** Whether {@linkcode FailureStream.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hands `failure` to every subscriber (SV-4, SV-5); never blocks.
   * @param failure The failure.
   */
  publish(failure: MeshFailure): void {
    if (this.#closed) return; // SV-6
    for (const sub of this.#subs) sub.push(failure);
  }

  /**
   * A new subscriber, registered now (SV-4).
   * @param options Buffer bound and cancellation.
   * @returns Its iterator; `return()` (or `break` in `for await`) unsubscribes.
   * @throws {RangeError} For a buffer size below 1.
   */
  subscribe(options: FailureSubscribeOptions = {}): AsyncIterableIterator<MeshFailure> {
    const size = options.bufferSize ?? DEFAULT_FAILURE_BUFFER;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid bufferSize: ${size}`);
    }
    const sub = new Subscription(size, (s) => this.#subs.delete(s), options.signal);
    if (this.#closed || options.signal?.aborted) {
      sub.close();
      return sub;
    }
    this.#subs.add(sub);
    return sub;
  }

  /** Ends every iteration after its buffer drained (SV-6). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subs]) sub.close();
  }
}
