/**
 * Folder-private outbox of a net sender: the messages posted but not yet
 * acknowledged, their `onReturn` callbacks, the `send()`/`flush()` waiters,
 * post times for the delivery timeout, and the encoding of pending messages
 * into wire frames. `NetTx` owns the connection lifecycle around it.
 *
 * Messages are numbered from 0 and kept (by reference, no copy) until
 * acknowledged, in parallel deques: no allocation per post. Serialization
 * happens when a message is written (and again if it is resent), so a message
 * must not be mutated after posting.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import { Deque } from "./_deque.ts";
import { SendError } from "./errors.ts";
import type { OutBuffer } from "./framing.ts";
import {
  appendBytes,
  appendControl,
  appendText,
  TAG_ACK_REQ,
  TAG_MSG_JSON,
  TAG_MSG_JSON_BATCH,
  TAG_SKIP,
} from "./_protocol.ts";

/** Bytes encoded per write at most (more stays queued for the next write). */
const WRITE_BATCH_BYTES = 256 * 1024;
/** Messages per JSON batch frame at most. */
const BATCH_COUNT = 1024;

/** Marks a message that could not be serialized (it was returned; sent as SKIP). */
const SKIP: unique symbol = Symbol("skip");

/** Called once with a message that could not be delivered. */
export type OnReturn<M> = (error: SendError<M>) => void;

interface Waiter {
  seq: number;
  resolve: () => void;
}

/** Pending messages of one sender session (see the module doc). */
export class Outbox<M> {
  // Pending messages (unacked, then queued), as parallel deques.
  #msgs = new Deque<M | typeof SKIP>(1024);
  #returns = new Deque<OnReturn<M> | undefined>(1024);
  // Post times, sparse: (seq, ms) recorded once per write pass.
  #timeSeqs = new Deque<number>();
  #timeVals = new Deque<number>();
  #stamped = false; // a post time was recorded since the last encode()
  #headSeq = 0; // seq of #msgs.at(0)
  #written = 0; // pending messages already written on the current connection
  #waiters = new Deque<Waiter>();
  #ackRequested = -1; // highest seq an ACK_REQ followed, on this connection
  #maxFrame = config.get(attrs.CODEC_MAX_FRAME_LENGTH);

  /** Messages posted and not yet acknowledged (written or not). */
  get length(): number {
    return this.#msgs.length;
  }

  /** Sequence number of the oldest pending message (the next one when empty). */
  get headSeq(): number {
    return this.#headSeq;
  }

  /** Whether pending messages wait to be written on the current connection. */
  get hasUnwritten(): boolean {
    return this.#written < this.#msgs.length;
  }

  /**
   * Appends a message.
   * @param message The message.
   * @param onReturn Called if it cannot be delivered.
   */
  push(message: M, onReturn: OnReturn<M> | undefined): void {
    if (!this.#stamped) {
      this.#stamped = true;
      this.#timeSeqs.push(this.#headSeq + this.#msgs.length);
      this.#timeVals.push(Date.now());
    }
    this.#msgs.push(message);
    this.#returns.push(onReturn);
  }

  /**
   * Registers a waiter for everything pushed so far (`send()`/`flush()`).
   * @param resolve Called once all of it is acknowledged or returned.
   */
  wait(resolve: () => void): void {
    this.#waiters.push({ seq: this.#headSeq + this.#msgs.length - 1, resolve });
  }

  /** The next push records a fresh post time (the clock moved on without a write pass). */
  restamp(): void {
    this.#stamped = false;
  }

  /** A new connection: every unacknowledged message is written again (CH-3). */
  rewind(): void {
    this.#written = 0;
    this.#ackRequested = -1;
  }

  /** @returns Post time of the oldest pending message (conservative: per write pass). */
  oldestPostedAt(): number {
    const seqs = this.#timeSeqs;
    while (seqs.length > 1 && seqs.at(1) <= this.#headSeq) {
      seqs.shift();
      this.#timeVals.shift();
    }
    return this.#timeVals.peek() ?? Date.now();
  }

  /**
   * Serializes unwritten messages into `out` (up to the batch budget), then an
   * `ACK_REQ` if a waiter's messages are all written and not yet asked for.
   * @param out Destination.
   */
  encode(out: OutBuffer): void {
    this.#stamped = false;
    const msgs = this.#msgs;
    const end = msgs.length;
    let i = this.#written;
    while (i < end && out.length < WRITE_BATCH_BYTES) {
      const m = msgs.at(i);
      if (m instanceof Uint8Array) {
        appendBytes(out, m);
        i++;
      } else if (m === SKIP) {
        appendControl(out, TAG_SKIP);
        i++;
      } else {
        let j = i + 1;
        const stop = Math.min(end, i + BATCH_COUNT);
        while (j < stop) {
          const n = msgs.at(j);
          if (n instanceof Uint8Array || n === SKIP) break;
          j++;
        }
        i = this.#encodeJson(out, i, j);
      }
    }
    this.#written = i;
    const w = this.#waiters.peek();
    const last = this.#headSeq + i - 1;
    if (w !== undefined && last > this.#ackRequested && w.seq <= last) {
      appendControl(out, TAG_ACK_REQ); // someone waits for an ack: ask for it now
      this.#ackRequested = last;
    }
  }

  /**
   * Drops what the peer acknowledged and wakes satisfied waiters.
   * @param seq Highest contiguous sequence number the peer received.
   */
  ack(seq: number): void {
    let n = Math.min(seq - this.#headSeq + 1, this.#written);
    if (n <= 0) return; // stale or duplicate ack (acks are monotonic)
    this.#headSeq += n;
    this.#written -= n;
    const msgs = this.#msgs;
    const returns = this.#returns;
    while (n-- > 0) {
      msgs.shift();
      returns.shift();
    }
    const seqs = this.#timeSeqs;
    while (seqs.length > 1 && seqs.at(1) <= this.#headSeq) {
      seqs.shift();
      this.#timeVals.shift();
    }
    const waiters = this.#waiters;
    while (waiters.length > 0 && waiters.peek()!.seq < this.#headSeq) waiters.shift()!.resolve();
  }

  /**
   * CH-4: hands every pending message back, in post order, and wakes every waiter.
   * @param reason Why the link closed.
   * @param cause Set as the `cause` of every returned {@linkcode SendError}.
   */
  returnAll(reason: string, cause?: Error): void {
    const msgs = this.#msgs.drain();
    const returns = this.#returns.drain();
    this.#timeSeqs.drain();
    this.#timeVals.drain();
    this.#headSeq += msgs.length;
    this.#written = 0;
    for (let i = 0; i < msgs.length; i++) {
      const onReturn = returns[i];
      if (onReturn === undefined) continue;
      try {
        onReturn(new SendError(reason, msgs[i] as M, cause && { cause }));
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) w.resolve();
  }

  /** Encodes JSON messages `[from, to)`, as batches where possible. @returns Next index. */
  #encodeJson(out: OutBuffer, from: number, to: number): number {
    if (to - from > 1) {
      let text: string | undefined;
      try {
        text = JSON.stringify(this.#msgs.slice(from, to)); // one call per batch
      } catch {
        // an unserializable message: fall through to one at a time
      }
      if (text !== undefined) {
        const at = out.length;
        if (appendText(out, TAG_MSG_JSON_BATCH, text) <= this.#maxFrame) return to;
        out.length = at; // too big for one frame: split
        const mid = from + ((to - from) >> 1);
        return this.#encodeJson(out, this.#encodeJson(out, from, mid), to);
      }
    }
    for (let i = from; i < to; i++) {
      const m = this.#msgs.at(i);
      let text: string | undefined;
      let why = "";
      try {
        text = JSON.stringify(m) ?? "null";
      } catch (error) {
        why = `unserializable message: ${error}`;
      }
      if (text !== undefined) {
        const at = out.length;
        if (appendText(out, TAG_MSG_JSON, text) <= this.#maxFrame) continue;
        out.length = at;
        why = `message too large for one frame (limit ${this.#maxFrame} bytes)`;
      }
      // CH-4: return it now; the seq travels as SKIP so numbering stays dense.
      const onReturn = this.#returns.at(i);
      this.#msgs.set(i, SKIP);
      this.#returns.set(i, undefined);
      appendControl(out, TAG_SKIP);
      if (onReturn !== undefined) {
        const error = new SendError(why, m as M);
        queueMicrotask(() => onReturn(error));
      }
    }
    return to;
  }
}
