/**
 * The dialing side of unix/tcp channels (reference §1.5).
 *
 * Each `NetTx` is one session with a random 64-bit id. Messages are numbered
 * from 0 and kept (by reference, no copy, no per-message allocation) until
 * acknowledged. A single write loop serializes everything queued into one
 * buffer per write — runs of JSON messages as one batch frame, `Uint8Array`
 * messages as raw frames — so there is no promise per message. Serialization
 * happens when the message is written (and again if it is resent), so a
 * message must not be mutated after posting. On reconnect, unacknowledged
 * messages are sent again with their original numbers; the server drops the
 * duplicates.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { ChannelAddr } from "./addr.ts";
import { Deque } from "./_deque.ts";
import { SendError } from "./errors.ts";
import { FrameDecoder, OutBuffer } from "./framing.ts";
import { closeQuietly, connect, settleWithin, writeAll } from "./_net_io.ts";
import {
  appendBytes,
  appendControl,
  appendText,
  decodeAck,
  decodeText,
  encodePreamble,
  newSessionId,
  TAG_ACK,
  TAG_ACK_REQ,
  TAG_BYE,
  TAG_CLOSED,
  TAG_MSG_JSON,
  TAG_MSG_JSON_BATCH,
  TAG_REJECT,
  TAG_SKIP,
} from "./_protocol.ts";
import type { ChannelTx, DialOptions, TxStatus } from "./types.ts";
import { WatchCell } from "./watch_cell.ts";

/** First reconnect delay. */
export const BACKOFF_INITIAL_MS = 10;
/** Reconnect delay cap. */
export const BACKOFF_MAX_MS = 5_000;
/** A connection that lived longer than this resets the backoff. */
export const BACKOFF_RESET_AFTER_MS = 1_000;
/** After a failed write, how long the reader may still drain what the peer sent. */
const READ_DRAIN_MS = 500;
/** Bytes encoded per write at most (more stays queued for the next write). */
const WRITE_BATCH_BYTES = 256 * 1024;
/** Messages per JSON batch frame at most. */
const BATCH_COUNT = 1024;

/** Marks a message that could not be serialized (it was returned; sent as SKIP). */
const SKIP: unique symbol = Symbol("skip");

type OnReturn<M> = (error: SendError<M>) => void;

interface Waiter {
  seq: number;
  resolve: () => void;
}

const BYE = (() => {
  const out = new OutBuffer(2);
  appendControl(out, TAG_BYE);
  return out.bytes().slice();
})();

/**
 * Test-only fault injection: closes the underlying socket of `tx` (a real
 * socket close) as if the network dropped it. The sender reconnects.
 * @param tx A net sender.
 * @returns Whether a connection was open.
 */
export function breakNetTx(tx: unknown): boolean {
  return tx instanceof NetTx ? tx._breakConnection() : false;
}

/**
 * The dialing side of a unix/tcp channel. Create with `dial()`.
 *
 * @typeParam M Message type.
 */
export class NetTx<M> implements ChannelTx<M> {
  readonly addr: ChannelAddr;
  readonly status: WatchCell<TxStatus> = new WatchCell<TxStatus>({ kind: "Active" });

  #session = newSessionId();
  // Pending messages (unacked, then queued), as parallel deques: no allocation per post.
  #msgs = new Deque<M | typeof SKIP>(1024);
  #returns = new Deque<OnReturn<M> | undefined>(1024);
  // Post times, sparse: (seq, ms) recorded once per write-loop pass.
  #timeSeqs = new Deque<number>();
  #timeVals = new Deque<number>();
  #now = -1; // Date.now() cached until the write loop runs
  #headSeq = 0; // seq of #msgs.at(0)
  #written = 0; // pending messages already written on the current connection
  #waiters = new Deque<Waiter>();
  #ackRequested = -1; // highest seq an ACK_REQ followed, on this connection
  #closedReason: string | undefined;
  #conn: Deno.Conn | undefined;
  #run: Promise<void> | undefined;
  #wakeIdle: (() => void) | undefined;
  #wakeSleep: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #out = new OutBuffer(64 * 1024);
  #maxFrame = config.get(attrs.CODEC_MAX_FRAME_LENGTH);
  readonly #refusedIsTerminal: boolean;

  /**
   * @param addr A unix or tcp address.
   * @param options See {@linkcode DialOptions}.
   */
  constructor(addr: ChannelAddr, options: DialOptions = {}) {
    this.addr = addr;
    this.#refusedIsTerminal = options.refusedIsTerminal ?? false;
  }

  post(message: M, onReturn?: OnReturn<M>): void {
    if (this.#closedReason !== undefined) {
      if (onReturn !== undefined) {
        const error = new SendError(this.#closedReason, message);
        queueMicrotask(() => onReturn(error));
      }
      return;
    }
    if (this.#now < 0) {
      this.#now = Date.now();
      this.#timeSeqs.push(this.#headSeq + this.#msgs.length);
      this.#timeVals.push(this.#now);
    }
    this.#msgs.push(message);
    this.#returns.push(onReturn);
    if (this.#deadlineTimer === undefined) this.#armDeadline();
    const w = this.#wakeWriter;
    if (w !== undefined) {
      this.#wakeWriter = undefined;
      w();
    } else if (this.#run === undefined) {
      this.#run = this.#runLoop(); // CH-6: connect lazily, on the first post
    } else if (this.#wakeIdle !== undefined) {
      const r = this.#wakeIdle;
      this.#wakeIdle = undefined;
      r();
    }
  }

  send(message: M): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closedReason !== undefined) {
        reject(new SendError(this.#closedReason, message));
        return;
      }
      this.post(message, reject);
      this.#waiters.push({ seq: this.#headSeq + this.#msgs.length - 1, resolve });
      this.#kickWriter();
    });
  }

  flush(): Promise<void> {
    if (this.#msgs.length === 0 || this.#closedReason !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiters.push({ seq: this.#headSeq + this.#msgs.length - 1, resolve });
      this.#kickWriter();
    });
  }

  async close(): Promise<void> {
    if (this.#closedReason === undefined) {
      const conn = this.#conn;
      if (conn !== undefined && this.#msgs.length === 0 && this.#wakeWriter !== undefined) {
        // Idle connection: say goodbye so the server forgets the session.
        await settleWithin(writeAll(conn, BYE).catch(() => {}), 100);
      }
      this.#terminate("closed");
    }
    await this.#run;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Test hook behind {@linkcode breakNetTx}. @returns Whether a socket was open. */
  _breakConnection(): boolean {
    if (this.#conn === undefined) return false;
    closeQuietly(this.#conn);
    return true;
  }

  #kickWriter(): void {
    const w = this.#wakeWriter;
    if (w !== undefined) {
      this.#wakeWriter = undefined;
      w();
    }
  }

  /** Post time of the oldest pending message (conservative: per write pass). */
  #oldestPostedAt(): number {
    const seqs = this.#timeSeqs;
    while (seqs.length > 1 && seqs.at(1) <= this.#headSeq) {
      seqs.shift();
      this.#timeVals.shift();
    }
    return this.#timeVals.peek() ?? Date.now();
  }

  // CH-4: the oldest pending message older than the delivery timeout closes the link.
  #armDeadline(): void {
    if (this.#msgs.length === 0 || this.#closedReason !== undefined) return;
    const timeout = config.get(attrs.MESSAGE_DELIVERY_TIMEOUT);
    const due = this.#oldestPostedAt() + timeout - Date.now();
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = undefined;
      this.#now = -1;
      if (this.#msgs.length === 0) return;
      if (Date.now() - this.#oldestPostedAt() >= timeout) {
        this.#terminate(`delivery timeout: a message was not acknowledged within ${timeout} ms`);
      } else {
        this.#armDeadline();
      }
    }, Math.max(0, due));
  }

  async #runLoop(): Promise<void> {
    let backoff = BACKOFF_INITIAL_MS;
    let connected = false; // CH-9: only a peer that was there can be gone
    while (this.#closedReason === undefined) {
      if (this.#msgs.length === 0) {
        await new Promise<void>((r) => (this.#wakeIdle = r)); // lazy: reconnect when needed
        continue;
      }
      let conn: Deno.Conn;
      try {
        conn = await connect(this.addr);
      } catch (error) {
        if (this.#refusedIsTerminal && connected && isRefused(error)) {
          this.#terminate(`peer gone: connection refused (${(error as Error).message})`); // CH-9
          break;
        }
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      if (this.#closedReason !== undefined) {
        closeQuietly(conn);
        break;
      }
      const started = Date.now();
      connected = true;
      await this.#serveConnection(conn);
      if (Date.now() - started > BACKOFF_RESET_AFTER_MS) backoff = BACKOFF_INITIAL_MS;
      if (this.#closedReason !== undefined) break;
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closedReason !== undefined) return Promise.resolve();
    const jittered = ms * (0.9 + Math.random() * 0.2); // ±10 %
    return new Promise<void>((resolve) => {
      this.#wakeSleep = resolve;
      this.#sleepTimer = setTimeout(() => {
        this.#sleepTimer = undefined;
        this.#wakeSleep = undefined;
        resolve();
      }, jittered);
    });
  }

  async #serveConnection(conn: Deno.Conn): Promise<void> {
    this.#conn = conn;
    this.#written = 0; // CH-3: resend every unacked message with its original number
    this.#ackRequested = -1;
    let reading = true;
    const reader = this.#readLoop(conn).finally(() => (reading = false));
    const writer = this.#writeLoop(conn, encodePreamble(this.#session, this.#headSeq));
    await Promise.race([reader, writer]);
    if (reading && this.#closedReason === undefined) {
      // The write side failed (the peer hung up): what the peer sent before
      // hanging up — its final ack, `Closed` — is still readable. Read it
      // before dropping the socket, or delivered messages would be resent or
      // returned (CH-4).
      await settleWithin(reader, READ_DRAIN_MS);
    }
    this.#conn = undefined; // stops the write loop
    closeQuietly(conn);
    this.#kickWriter();
    await Promise.all([reader, writer]);
  }

  /** Serializes pending messages `[#written, end)` into `out`, up to the batch budget. */
  #encode(out: OutBuffer): void {
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

  async #writeLoop(conn: Deno.Conn, preamble: Uint8Array): Promise<void> {
    const out = this.#out;
    out.clear();
    out.append(preamble);
    try {
      while (this.#conn === conn && this.#closedReason === undefined) {
        this.#encode(out);
        this.#now = -1;
        const last = this.#headSeq + this.#written - 1;
        const w = this.#waiters.peek();
        if (w !== undefined && last > this.#ackRequested && w.seq <= last) {
          appendControl(out, TAG_ACK_REQ); // someone waits for an ack: ask for it now
          this.#ackRequested = last;
        }
        if (out.length === 0) {
          await new Promise<void>((r) => (this.#wakeWriter = r));
          continue;
        }
        await writeAll(conn, out.bytes());
        out.clear();
      }
    } catch {
      // I/O error: not terminal, the run loop reconnects
    } finally {
      this.#wakeWriter = undefined;
    }
  }

  async #readLoop(conn: Deno.Conn): Promise<void> {
    const dec = new FrameDecoder({ initialCapacity: 4096 });
    try {
      while (true) {
        const n = await conn.read(dec.writable(1024));
        if (n === null) return;
        dec.commit(n);
        for (let body = dec.next(); body !== undefined; body = dec.next()) {
          switch (body[0]) {
            case TAG_ACK:
              this.#onAck(decodeAck(body));
              break;
            case TAG_REJECT:
              this.#terminate(`rejected by server: ${decodeText(body)}`);
              return;
            case TAG_CLOSED:
              this.#terminate("server closed");
              return;
            default:
              return; // unknown frame: drop the connection
          }
        }
      }
    } catch {
      // I/O or framing error: not terminal, the run loop reconnects
    }
  }

  #onAck(seq: number): void {
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

  #terminate(reason: string): void {
    if (this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
    for (const wake of [this.#wakeIdle, this.#wakeSleep]) wake?.();
    this.#wakeIdle = this.#wakeSleep = undefined;
    this.#kickWriter();
    closeQuietly(this.#conn);
    this.status.set({ kind: "Closed", reason });
    this.status.close();
    // CH-4: everything not acknowledged comes back, in post order.
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
        onReturn(new SendError(reason, msgs[i] as M));
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) w.resolve();
  }
}

/** Nothing listens at the address (any more). */
function isRefused(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound;
}
