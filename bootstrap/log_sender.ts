/**
 * `OwnerLogSender`: the host side of "logs reach the owner" — one per proc,
 * it takes the line batches of the proc's stream forwarders (in the host
 * process that reads the child's pipes) and posts them, as sequenced
 * {@linkcode OwnerLogBatch}es, to the log client port of the mesh's owner
 * (`LogClientActor`'s `OwnerLog` handler), which acknowledges each batch.
 *
 * The sender is transport-agnostic: `post` sends one batch (the mesh layer
 * posts from the host's service proc, the same proc and link the host agent
 * uses to tell the owner about the proc); `ack` is called with the owner's
 * acknowledgements.
 *
 * ## Invariants (LO-*)
 * - **LO-1 (bounded, lossless while the owner keeps up).** At most `window`
 *   batches are unacknowledged and about `maxQueuedLines` lines (plus one
 *   pushed batch) wait behind them. A push that overfills the queue returns
 *   a promise that settles once acknowledgements made room — the stream
 *   forwarder awaits it, so a live but slower owner slows the reading of the
 *   child's pipe instead of losing lines. If no room is made within
 *   `stallMs` the owner counts as unresponsive: the excess lines are dropped
 *   and counted, later pushes never wait (they drop what does not fit) until
 *   the owner acknowledges again, and a `[hypermesh: N lines dropped]`
 *   marker takes the dropped lines' place in the stream as soon as there is
 *   room (never silent loss). A dead owner therefore costs the host bounded
 *   memory and the child one stall of `stallMs`.
 * - **LO-2 (in order).** Batches are posted in the order the lines were
 *   pushed (across stdout and stderr), with consecutive sequence numbers.
 * - **LO-3 (drained before exit).** `drain()` posts every queued line at
 *   once (ignoring the window; the queue is bounded) and resolves when the
 *   owner acknowledged all of them, or after `timeoutMs` — so a proc's
 *   terminal status, published after `drain()`, follows its last line.
 *
 * @module
 */

import type { OutputTarget } from "./stream_forwarder.ts";
import { raceAbort } from "../internal/abort.ts";

/** Default bound on lines queued behind the window (LO-1). */
export const DEFAULT_MAX_QUEUED_LINES = 10_000;
/** Default number of unacknowledged batches (LO-1). */
export const DEFAULT_WINDOW = 8;
/** Lines per batch at most. */
export const MAX_BATCH_LINES = 512;
/** Default bound of one wait for room before the owner counts as unresponsive (LO-1). */
export const DEFAULT_STALL_MS = 1_000;
/** Default bound of {@linkcode OwnerLogSender.drain} (LO-3). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 1_000;

/**
 * The marker that replaces dropped lines (LO-1).
 * @param n How many lines were dropped.
 * @returns The marker line.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { droppedMarker } from "./log_sender.ts";
 * assertEquals(droppedMarker(3), "[hypermesh: 3 lines dropped]");
 * ```
 */
export function droppedMarker(n: number): string {
  return `[hypermesh: ${n} lines dropped]`;
}

/** One sequenced batch of one proc stream, as sent to the owner. */
export interface OwnerLogBatch {
  /** Host that produced the lines. */
  hostname: string;
  /** The proc id text. */
  procId: string;
  /** Which stream. */
  outputTarget: OutputTarget;
  /** The lines (already rank-prefixed by the stream forwarder). */
  payload: string[];
  /** Batch number (0, 1, …) of this proc. */
  seq: number;
  /** PortId text the owner acknowledges on (with an {@linkcode OwnerLogAck}), or `null`. */
  ack: string | null;
}

/** The owner's acknowledgement of one batch. */
export interface OwnerLogAck {
  /** The proc id text of the batch. */
  procId: string;
  /** The batch's `seq`. */
  seq: number;
}

/** Options of {@linkcode OwnerLogSender}. */
export interface OwnerLogSenderOptions {
  /** Posts one batch (must not throw; delivery failures are the transport's). */
  post: (batch: OwnerLogBatch) => void;
  /** Host name in every batch. */
  hostname: string;
  /** Proc id text in every batch. */
  procId: string;
  /** Ack port id text in every batch (default `null`: no acks expected, no window). */
  ack?: string | null;
  /** Unacknowledged batches at most (default {@linkcode DEFAULT_WINDOW}). */
  window?: number;
  /** Lines queued behind the window at most (default {@linkcode DEFAULT_MAX_QUEUED_LINES}). */
  maxQueuedLines?: number;
  /** Wait for room at most this long before dropping (default {@linkcode DEFAULT_STALL_MS}). */
  stallMs?: number;
}

/**
 * Sends one proc's lines to its owner; see the module doc.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { type OwnerLogBatch, OwnerLogSender } from "./log_sender.ts";
 * const sent: OwnerLogBatch[] = [];
 * const s = new OwnerLogSender({
 *   post: (b) => void sent.push(b),
 *   hostname: "h",
 *   procId: "p",
 *   ack: "a",
 *   window: 1,
 *   maxQueuedLines: 1,
 *   stallMs: 10,
 * });
 * s.push("stdout", ["[0] a"]); // posted
 * s.push("stdout", ["[0] b"]); // queued behind the window
 * await s.push("stdout", ["[0] c"]); // no room within 10 ms: dropped
 * s.ack(0);
 * assertEquals(sent.map((b) => b.payload), [["[0] a"], ["[0] b"]]);
 * s.ack(1);
 * assertEquals(sent.at(-1)!.payload, ["[hypermesh: 1 lines dropped]"]);
 * s.ack(2);
 * assertEquals(await s.drain(), true);
 * ```
 */
export class OwnerLogSender {
  readonly #opts: OwnerLogSenderOptions;
  readonly #window: number;
  readonly #maxQueued: number;
  readonly #stallMs: number;
  #unresponsive = false;
  #roomWaiters: (() => void)[] = [];
  #queue: { target: OutputTarget; line: string }[] = [];
  #dropped = 0;
  #droppedTarget: OutputTarget = "stderr";
  #nextSeq = 0;
  #acked = 0; // every seq below this was acknowledged
  #sentLines = 0;
  #droppedTotal = 0;
  #idle: (() => void)[] = [];

  /**
   * Creates a sender.
   * @param options Transport, identity, bounds.
   */
  constructor(options: OwnerLogSenderOptions) {
    this.#opts = options;
    this.#window = Math.max(1, options.window ?? DEFAULT_WINDOW);
    this.#maxQueued = Math.max(1, options.maxQueuedLines ?? DEFAULT_MAX_QUEUED_LINES);
    this.#stallMs = Math.max(0, options.stallMs ?? DEFAULT_STALL_MS);
  }

  /** Lines posted so far (markers included). */
  get sentLines(): number {
    return this.#sentLines;
  }

  /** Lines dropped so far (LO-1). */
  get droppedLines(): number {
    return this.#droppedTotal;
  }

  /** Lines waiting behind the window (above `maxQueuedLines` only while a push waits, LO-1). */
  get queuedLines(): number {
    return this.#queue.length;
  }

  /** Batches posted and not yet acknowledged. */
  get inFlight(): number {
    return this.#nextSeq - this.#acked;
  }

  /**
   * Queues lines of one stream and posts what the window allows (LO-1).
   * @param target The stream.
   * @param lines The lines.
   * @returns Nothing when the lines fit; else a promise that settles (never
   * rejects) once there is room or after `stallMs` (the excess is dropped then).
   */
  push(target: OutputTarget, lines: readonly string[]): Promise<void> | undefined {
    const waits = this.#opts.ack != null && !this.#unresponsive;
    for (const line of lines) {
      if (!waits && this.#queue.length >= this.#maxQueued) {
        this.#drop(target, 1);
        continue;
      }
      this.#markDropped();
      this.#queue.push({ target, line });
    }
    this.#pump(false);
    if (this.#queue.length <= this.#maxQueued) return undefined;
    return this.#waitForRoom(target);
  }

  async #waitForRoom(target: OutputTarget): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const room = await Promise.race([
      new Promise<boolean>((resolve) => this.#roomWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), this.#stallMs)),
    ]);
    clearTimeout(timer);
    if (room || this.#queue.length <= this.#maxQueued) return;
    this.#unresponsive = true; // LO-1: stop waiting until the owner acknowledges again
    const excess = this.#queue.length - this.#maxQueued;
    this.#queue.splice(this.#maxQueued, excess);
    this.#drop(target, excess);
  }

  #drop(target: OutputTarget, n: number): void {
    this.#dropped += n;
    this.#droppedTotal += n;
    this.#droppedTarget = target;
  }

  /**
   * The owner acknowledged batch `seq` (acks are cumulative).
   * @param seq The batch's sequence number.
   */
  ack(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < this.#acked || seq >= this.#nextSeq) return;
    this.#acked = seq + 1;
    this.#unresponsive = false;
    this.#pump(false);
    if (this.#queue.length < this.#maxQueued) this.#markDropped();
    this.#pump(false);
    if (this.#queue.length <= this.#maxQueued) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const wake of waiters) wake();
    }
    this.#wakeIfIdle();
  }

  /**
   * Posts everything queued and waits for the acknowledgements (LO-3).
   * @param options `timeoutMs`: bound of the wait (default
   * {@linkcode DEFAULT_DRAIN_TIMEOUT_MS}); `signal`: aborting ends the wait and
   * rejects with its reason (what was posted stays posted).
   * @returns Whether every batch was acknowledged in time.
   */
  async drain(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    const { timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS, signal } = options;
    signal?.throwIfAborted();
    this.#markDropped();
    this.#pump(true);
    if (this.#opts.ack == null || this.inFlight === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await raceAbort(
        Promise.race([
          new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true))),
          new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs)),
        ]),
        signal,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  #markDropped(): void {
    if (this.#dropped === 0) return;
    this.#queue.push({ target: this.#droppedTarget, line: droppedMarker(this.#dropped) }); // LO-1
    this.#dropped = 0;
  }

  #pump(force: boolean): void {
    const windowed = this.#opts.ack != null && !force;
    while (this.#queue.length > 0) {
      if (windowed && this.inFlight >= this.#window) return;
      const target = this.#queue[0].target;
      let n = 0;
      while (
        n < this.#queue.length && n < MAX_BATCH_LINES && this.#queue[n].target === target
      ) n++;
      const payload = this.#queue.splice(0, n).map((e) => e.line);
      this.#sentLines += payload.length;
      try {
        this.#opts.post({ // LO-2
          hostname: this.#opts.hostname,
          procId: this.#opts.procId,
          outputTarget: target,
          payload,
          seq: this.#nextSeq++,
          ack: this.#opts.ack ?? null,
        });
      } catch (error) {
        console.warn(`hypermesh: cannot post log lines of ${this.#opts.procId}:`, error);
      }
    }
  }

  #wakeIfIdle(): void {
    if (this.inFlight > 0 || this.#queue.length > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }
}
