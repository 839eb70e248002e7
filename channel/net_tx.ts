/**
 * The dialing side of unix/tcp channels (reference §1.5): the connection
 * lifecycle of one sender session.
 *
 * Each `NetTx` is one session with a random 64-bit id; its pending messages
 * live in an {@linkcode Outbox} (`_outbox.ts`). A single write loop writes at
 * once when idle and otherwise coalesces everything queued meanwhile into one
 * buffer per write — runs of JSON messages as one batch frame, `Uint8Array`
 * messages as raw frames — so there is no promise per message. On reconnect,
 * unacknowledged messages are sent again with their original numbers; the
 * server drops the duplicates. One timer per link enforces the delivery
 * timeout (CH-4); acks arrive on the same connection, read by one read loop.
 * On a fresh link over a unix socket the timer is armed after the first
 * connect and write pass rather than in the first `post()`, so a new
 * process's first message (its bootstrap callback) is on the wire before it
 * pays for its first timer; the deadline is still measured from the post.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { ChannelAddr } from "./addr.ts";
import { type OnReturn, Outbox } from "./_outbox.ts";
import { AuthenticationError, ChannelError, ForeignPeerError, SendError } from "./errors.ts";
import { dialHandshake } from "./_handshake.ts";
import { type ChannelSecret, channelSecrets, SecretFileError, warnInsecure } from "./secret.ts";
import { FrameDecoder, OutBuffer } from "./framing.ts";
import { closeQuietly, connect, writeAll } from "./_net_io.ts";
import { type LightTimer, settlesWithinLight, startLightTimer } from "../internal/light_timer.ts";
import {
  BYE_FRAME,
  decodeAck,
  decodeText,
  newSessionId,
  TAG_ACK,
  TAG_AUTH_FAILED,
  TAG_CLOSED,
  TAG_REJECT,
} from "./_protocol.ts";
import { type ChannelTx, type DialOptions, SERVER_CLOSED, type TxStatus } from "./types.ts";
import { WatchCell } from "./watch_cell.ts";

/** First reconnect delay. */
export const BACKOFF_INITIAL_MS = 10;
/** Reconnect delay cap. */
export const BACKOFF_MAX_MS = 5_000;
/** A connection that lived longer than this resets the backoff. */
export const BACKOFF_RESET_AFTER_MS = 1_000;
/** After a failed write, how long the reader may still drain what the peer sent. */
const READ_DRAIN_MS = 500;

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
  #box = new Outbox<M>();
  #closedReason: string | undefined;
  #conn: Deno.Conn | undefined;
  #run: Promise<void> | undefined;
  #wakeIdle: (() => void) | undefined;
  /** CH-10: connect once even though nothing is queued. */
  #connectAhead = false;
  #wakeSleep: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: LightTimer | undefined;
  #out = new OutBuffer(64 * 1024);
  readonly #refusedIsTerminal: boolean;
  readonly #secrets: readonly ChannelSecret[] | null | undefined;

  /**
   * @param addr A unix or tcp address.
   * @param options See {@linkcode DialOptions}.
   */
  constructor(addr: ChannelAddr, options: DialOptions = {}) {
    this.addr = addr;
    this.#refusedIsTerminal = options.refusedIsTerminal ?? false;
    this.#secrets = options.secrets;
  }

  /**
   * Opens the link now, before the first message (CH-10). A no-op on a
   * closed sender or one already connected or connecting.
   */
  connect(): void {
    if (this.#closedReason !== undefined || this.#conn !== undefined) return;
    this.#connectAhead = true;
    if (this.#run === undefined) {
      this.#run = this.#runLoop();
      return;
    }
    const wake = this.#wakeIdle;
    this.#wakeIdle = undefined;
    wake?.();
  }

  post(message: M, onReturn?: OnReturn<M>): void {
    if (this.#closedReason !== undefined) {
      if (onReturn !== undefined) {
        const error = new SendError(this.#closedReason, message);
        queueMicrotask(() => onReturn(error));
      }
      return;
    }
    this.#box.push(message, onReturn);
    // CH-4: the first pass of a fresh unix link arms the deadline itself (#runLoop).
    if (this.#run !== undefined || this.addr.transport !== "unix") this.#ensureDeadline();
    const w = this.#wakeWriter;
    if (w !== undefined) {
      this.#wakeWriter = undefined;
      w(); // the writer runs once the caller yields: what it posts meanwhile goes along
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
      this.#box.wait(resolve);
      this.#kickWriter();
    });
  }

  flush(): Promise<void> {
    if (this.#box.length === 0 || this.#closedReason !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#box.wait(resolve);
      this.#kickWriter();
    });
  }

  async close(): Promise<void> {
    if (this.#closedReason === undefined) {
      const conn = this.#conn;
      if (conn !== undefined && this.#box.length === 0 && this.#wakeWriter !== undefined) {
        // Idle connection: say goodbye so the server forgets the session.
        await settlesWithinLight(writeAll(conn, BYE_FRAME).catch(() => {}), 100);
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

  #ensureDeadline(): void {
    if (this.#deadlineTimer === undefined) this.#armDeadline();
  }

  // CH-4: the oldest pending message older than the delivery timeout closes the
  // link. One timer per link, re-armed for the new oldest message when it fires.
  #armDeadline(): void {
    if (this.#box.length === 0 || this.#closedReason !== undefined) return;
    const timeout = config.get(attrs.MESSAGE_DELIVERY_TIMEOUT);
    const due = this.#box.oldestPostedAt() + timeout - Date.now();
    // A light timer: no lazy `setTimeout` load on a fresh process's first send.
    this.#deadlineTimer = startLightTimer(Math.max(0, due), () => {
      this.#deadlineTimer = undefined;
      this.#box.restamp();
      if (this.#box.length === 0) return;
      if (Date.now() - this.#box.oldestPostedAt() >= timeout) {
        this.#terminate(`delivery timeout: a message was not acknowledged within ${timeout} ms`);
      } else {
        this.#armDeadline();
      }
    });
  }

  async #runLoop(): Promise<void> {
    let backoff = BACKOFF_INITIAL_MS;
    let connected = false; // CH-9: only a peer that was there can be gone
    while (this.#closedReason === undefined) {
      if (this.#box.length === 0 && !this.#connectAhead) {
        await new Promise<void>((r) => (this.#wakeIdle = r)); // lazy: reconnect when needed
        continue;
      }
      this.#connectAhead = false; // CH-10: once; a broken link reconnects lazily
      let conn: Deno.Conn;
      try {
        conn = await connect(this.addr); // unix: settles at once (no handshake)
      } catch (error) {
        if (error instanceof ChannelError) {
          this.#terminate(error.message); // TL-4: a failed TLS handshake is not retried
          break;
        }
        if (this.#refusedIsTerminal && connected && isRefused(error)) {
          this.#terminate(`peer gone: connection refused (${(error as Error).message})`); // CH-9
          break;
        }
        this.#ensureDeadline(); // CH-4
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
      this.#ensureDeadline(); // CH-4: even when the first write pass failed
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
    this.#box.rewind(); // CH-3: resend every unacked message with its original number
    this.#ensureDeadline(); // CH-4: a handshake that never completes still times out
    let first: Uint8Array;
    try {
      // AU-2: prove the secret and check the server's proof before any message.
      const keys = this.#secrets !== undefined ? this.#secrets : channelSecrets();
      if (keys === null) warnInsecure(`dialing ${this.addr.key}`);
      first = await dialHandshake(conn, this.addr.key, this.#session, this.#box.headSeq, keys);
    } catch (error) {
      this.#conn = undefined;
      closeQuietly(conn);
      if (error instanceof AuthenticationError || error instanceof ForeignPeerError) {
        this.#terminate(error.message, error); // AU-4, CH-12: terminal, not retried
      } else if (error instanceof SecretFileError) {
        this.#terminate(error.message);
      } // else I/O: the run loop reconnects
      return;
    }
    if (this.#conn !== conn || this.#closedReason !== undefined) {
      closeQuietly(conn);
      return;
    }
    let reading = true;
    const reader = this.#readLoop(conn).finally(() => (reading = false));
    const writer = this.#writeLoop(conn, first);
    await Promise.race([reader, writer]);
    if (reading && this.#closedReason === undefined) {
      // The write side failed (the peer hung up): what the peer sent before
      // hanging up — its final ack, `Closed` — is still readable. Read it
      // before dropping the socket, or delivered messages would be resent or
      // returned (CH-4).
      await settlesWithinLight(reader, READ_DRAIN_MS);
    }
    this.#conn = undefined; // stops the write loop
    closeQuietly(conn);
    this.#kickWriter();
    await Promise.all([reader, writer]);
  }

  async #writeLoop(conn: Deno.Conn, first: Uint8Array): Promise<void> {
    const out = this.#out;
    out.clear();
    out.append(first); // the dialer's proof (AU-2), or the insecure preamble
    try {
      while (this.#conn === conn && this.#closedReason === undefined) {
        this.#box.encode(out);
        if (out.length === 0) {
          await new Promise<void>((r) => (this.#wakeWriter = r));
          continue;
        }
        const bytes = out.bytes();
        let off = await conn.write(bytes); // no helper frame: one promise per write
        this.#ensureDeadline(); // CH-4: a fresh socket's first write never blocks
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
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
              this.#box.ack(decodeAck(body));
              break;
            case TAG_REJECT:
              this.#terminate(`rejected by server: ${decodeText(body)}`);
              return;
            case TAG_CLOSED:
              this.#terminate(SERVER_CLOSED);
              return;
            case TAG_AUTH_FAILED: {
              const error = new AuthenticationError(this.addr.key, decodeText(body));
              this.#terminate(error.message, error); // AU-4
              return;
            }
            default:
              return; // unknown frame: drop the connection
          }
        }
      }
    } catch {
      // I/O or framing error: not terminal, the run loop reconnects
    }
  }

  #terminate(reason: string, error?: AuthenticationError | ForeignPeerError): void {
    if (this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    this.#deadlineTimer?.cancel();
    this.#deadlineTimer = undefined;
    // Only when armed: the first `clearTimeout` of a process loads the timer
    // implementation too (~10 ms, see `internal/light_timer.ts`).
    if (this.#sleepTimer !== undefined) clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
    for (const wake of [this.#wakeIdle, this.#wakeSleep]) wake?.();
    this.#wakeIdle = this.#wakeSleep = undefined;
    this.#kickWriter();
    closeQuietly(this.#conn);
    this.status.set(error ? { kind: "Closed", reason, error } : { kind: "Closed", reason });
    this.status.close();
    this.#box.returnAll(reason, error); // CH-4: everything not acknowledged comes back, in post order
  }
}

/** Nothing listens at the address (any more). */
function isRefused(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound;
}
