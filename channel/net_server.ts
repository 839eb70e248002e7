/**
 * The serving side of unix/tcp channels (reference §1.5).
 *
 * Per session (keyed by the dialer's session id) the server keeps the next
 * expected sequence number across reconnects, drops retransmits, rejects
 * gaps, and acknowledges: immediately when asked (`ACK_REQ`), when
 * `MESSAGE_ACK_EVERY_N_MESSAGES` are unacknowledged, when
 * `MESSAGE_ACK_TIME_INTERVAL` has passed since the last ack (so the first
 * message after idle is acked at once), else by a timer at the end of that
 * interval; and once more when the connection or the server closes.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { ChannelAddr } from "./addr.ts";
import { FrameError } from "./errors.ts";
import { FrameDecoder, OutBuffer } from "./framing.ts";
import { closeQuietly, listen, settleWithin, writeAll } from "./_net_io.ts";
import {
  appendAck,
  appendControl,
  appendReject,
  decodeBatch,
  decodeMessage,
  decodePreamble,
  PREAMBLE_LENGTH,
  TAG_ACK_REQ,
  TAG_BYE,
  TAG_CLOSED,
  TAG_MSG_BYTES,
  TAG_MSG_JSON,
  TAG_MSG_JSON_BATCH,
  TAG_SKIP,
} from "./_protocol.ts";
import { RecvQueue } from "./_recv_queue.ts";
import type { ChannelServer, ChannelWaitOptions } from "./types.ts";

/** Read buffer size: big reads amortise the per-read cost of the event loop. */
const READ_BUFFER = 256 * 1024;
/** Smallest free space offered to a read. */
const READ_MIN = 4 * 1024;
/** How long a closing server waits for its last writes, then for the dialer to hang up. */
const HANGUP_MS = 500;

interface Session {
  key: string;
  next: number; // next expected seq
  acked: number; // highest seq acknowledged
  lastAckAt: number;
  conn: ServerConn | undefined;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
}

interface ServerConn {
  conn: Deno.Conn;
  session: Session | undefined;
  writing: Promise<void>;
  done: Promise<void>;
}

/** Where bad-peer reasons are reported. */
export type ChannelLogger = (message: string) => void;

let logger: ChannelLogger = (message) => console.warn(`[hypermesh channel] ${message}`);

/**
 * Replaces the reporter of dropped connections (default: `console.warn`).
 * @param next The new logger.
 * @returns The previous logger.
 */
export function setChannelLogger(next: ChannelLogger): ChannelLogger {
  const prev = logger;
  logger = next;
  return prev;
}

/** All live net servers, for {@linkcode breakNetServer}. */
const live = new Set<NetServer<unknown>>();

/**
 * Test-only fault injection: closes every accepted socket of `server`.
 * @param server A net server.
 * @returns How many sockets were closed.
 */
export function breakNetServer(server: unknown): number {
  return server instanceof NetServer ? server._breakConnections() : 0;
}

/**
 * Binds and serves a unix/tcp channel.
 * @param addr A unix or tcp address.
 * @param options Cancellation: aborting closes the server.
 * @returns The server.
 * @throws {ChannelError} When binding fails.
 */
export function serveNet<M>(addr: ChannelAddr, options: ChannelWaitOptions = {}): NetServer<M> {
  const { listener, bound } = listen(addr);
  const server = new NetServer<M>(listener, bound, addr);
  const { signal } = options;
  if (signal) {
    if (signal.aborted) server.close();
    else signal.addEventListener("abort", () => server.close(), { once: true });
  }
  return server;
}

/** The serving side of a unix/tcp channel. Create with `serve()`. */
export class NetServer<M> implements ChannelServer<M> {
  readonly addr: ChannelAddr;
  #listener: Deno.Listener;
  #queue = new RecvQueue<M>();
  #sessions = new Map<string, Session>();
  #conns = new Set<ServerConn>();
  #accepting: Promise<void>;
  #closing: Promise<void> | undefined;
  #maxFrame = config.get(attrs.CODEC_MAX_FRAME_LENGTH);
  #ackEvery = config.get(attrs.MESSAGE_ACK_EVERY_N_MESSAGES);
  #ackInterval = config.get(attrs.MESSAGE_ACK_TIME_INTERVAL);

  /**
   * @param listener Bound listener.
   * @param bound The address actually bound.
   * @param _requested The address asked for.
   */
  constructor(listener: Deno.Listener, bound: ChannelAddr, _requested: ChannelAddr) {
    this.#listener = listener;
    this.addr = bound;
    live.add(this as NetServer<unknown>);
    this.#accepting = this.#acceptLoop();
  }

  recv(options: ChannelWaitOptions = {}): Promise<M | undefined> {
    return this.#queue.recv(options.signal);
  }

  [Symbol.asyncIterator](): AsyncIterator<M> {
    return this.#queue.iterator();
  }

  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Test hook behind {@linkcode breakNetServer}. @returns Sockets closed. */
  _breakConnections(): number {
    for (const c of this.#conns) closeQuietly(c.conn);
    return this.#conns.size;
  }

  async #close(): Promise<void> {
    closeQuietly(this.#listener);
    await this.#accepting;
    const closedFrame = new OutBuffer(16);
    appendControl(closedFrame, TAG_CLOSED);
    for (const c of this.#conns) {
      // CH-8: final ack, then Closed (terminal for the dialer). The ack covers
      // everything delivered on the session even if its handler already left.
      const out = new OutBuffer(32);
      const s = c.session;
      if (s !== undefined && (s.conn ?? c) === c && s.next - 1 > s.acked) {
        appendAck(out, s.next - 1);
        s.acked = s.next - 1;
      }
      out.append(closedFrame.bytes());
      this.#write(c, out.bytes());
    }
    const pending = [...this.#conns];
    await Promise.all(pending.map(async (c) => {
      await settleWithin(c.writing, HANGUP_MS);
      // Half-close and let the handler read until the dialer hangs up: closing
      // a socket with unread input sends a reset, which can destroy the final
      // ack and Closed before the dialer reads them.
      try {
        c.conn.closeWrite();
      } catch {
        // already closed or reset
      }
      await settleWithin(c.done, HANGUP_MS);
      closeQuietly(c.conn);
    }));
    this.#queue.close();
    await Promise.all(pending.map((c) => c.done));
    for (const s of this.#sessions.values()) clearTimeout(s.ackTimer);
    this.#sessions.clear();
    if (this.addr.transport === "unix" && !this.addr.abstract) {
      try {
        Deno.removeSync(this.addr.path!);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    live.delete(this as NetServer<unknown>);
  }

  async #acceptLoop(): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing !== undefined) return;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return;
        }
        logger(`accept on ${this.addr.key} failed: ${error}`);
        continue;
      }
      if (this.#closing !== undefined) {
        closeQuietly(conn);
        return;
      }
      if (this.addr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      const c: ServerConn = {
        conn,
        session: undefined,
        writing: Promise.resolve(),
        done: Promise.resolve(),
      };
      this.#conns.add(c);
      c.done = this.#handle(c);
    }
  }

  #write(c: ServerConn, bytes: Uint8Array): void {
    const copy = bytes.slice();
    c.writing = c.writing.then(() => writeAll(c.conn, copy)).catch(() => {});
  }

  #sendAck(s: Session): void {
    clearTimeout(s.ackTimer);
    s.ackTimer = undefined;
    const seq = s.next - 1;
    if (seq <= s.acked || s.conn === undefined) return;
    s.acked = seq;
    s.lastAckAt = Date.now();
    const out = new OutBuffer(16);
    appendAck(out, seq);
    this.#write(s.conn, out.bytes());
  }

  // CH-5: everything a peer can do wrong ends in this connection being dropped.
  async #handle(c: ServerConn): Promise<void> {
    const dec = new FrameDecoder({ maxFrameLength: this.#maxFrame, initialCapacity: READ_BUFFER });
    const queue = this.#queue;
    let session: Session | undefined;
    let pos = 0;
    try {
      let pre: Uint8Array | undefined;
      while ((pre = dec.take(PREAMBLE_LENGTH)) === undefined) {
        const n = await c.conn.read(dec.writable(PREAMBLE_LENGTH));
        if (n === null) {
          if (dec.buffered > 0) throw new FrameError("EOF inside the preamble");
          return;
        }
        dec.commit(n);
      }
      const { session: key, firstSeq } = decodePreamble(pre);
      session = this.#sessions.get(key);
      if (session === undefined) {
        if (firstSeq !== 0) {
          // A restarted server (or a forgotten session) cannot vouch for seq < firstSeq.
          this.#reject(c, `unknown session ${key} resumed at seq ${firstSeq}`);
          return;
        }
        session = { key, next: 0, acked: -1, lastAckAt: 0, conn: undefined, ackTimer: undefined };
        this.#sessions.set(key, session);
      } else if (firstSeq > session.next) {
        this.#reject(c, `sequence gap: expected ${session.next}, got ${firstSeq}`);
        return;
      }
      if (session.conn !== undefined) closeQuietly(session.conn.conn); // superseded
      session.conn = c;
      c.session = session;
      pos = firstSeq;
      while (true) {
        let ackNow = false;
        for (let body = dec.next(); body !== undefined; body = dec.next()) {
          if (session.conn !== c) return;
          if (this.#closing !== undefined) return await drain(c.conn); // not delivered: not acked
          const tag = body[0];
          if (tag === TAG_MSG_JSON || tag === TAG_MSG_BYTES) {
            if (pos === session.next) {
              if (tag === TAG_MSG_BYTES) dec.detach(); // the message is a view into the buffer
              queue.push(decodeMessage(body) as M); // CH-3: seq == next: deliver once
              session.next++;
            }
            pos++; // seq < next: a retransmit, dropped
          } else if (tag === TAG_MSG_JSON_BATCH) {
            const items = decodeBatch(body);
            for (let k = 0; k < items.length; k++, pos++) {
              if (pos === session.next) {
                queue.push(items[k] as M); // CH-3
                session.next++;
              }
            }
          } else if (tag === TAG_SKIP) {
            if (pos === session.next) session.next++; // an unserializable message: nothing to deliver
            pos++;
          } else if (tag === TAG_ACK_REQ) {
            ackNow = true;
          } else if (tag === TAG_BYE) {
            this.#sendAck(session);
            this.#sessions.delete(session.key);
            session.conn = undefined;
            return;
          } else {
            throw new FrameError(body.length === 0 ? "empty frame" : `unknown frame tag ${tag}`);
          }
        }
        const unacked = session.next - 1 - session.acked;
        if (unacked > 0) {
          if (
            ackNow || unacked >= this.#ackEvery ||
            Date.now() - session.lastAckAt >= this.#ackInterval
          ) {
            this.#sendAck(session);
          } else if (session.ackTimer === undefined) {
            const s = session;
            s.ackTimer = setTimeout(
              () => this.#sendAck(s),
              Math.max(0, s.lastAckAt + this.#ackInterval - Date.now()),
            );
          }
        }
        if (queue.length >= queue.capacity) await queue.waitForSpace(); // backpressure
        if (session.conn !== c) return;
        if (this.#closing !== undefined) return await drain(c.conn);
        const n = await c.conn.read(dec.writable(READ_MIN));
        if (n === null) {
          dec.finish(); // mid-frame EOF is an error
          return;
        }
        dec.commit(n);
      }
    } catch (error) {
      if (error instanceof FrameError) {
        logger(`dropping connection to ${this.addr.key}: ${error.reason}`);
      } else if (!isIoError(error)) {
        logger(`dropping connection to ${this.addr.key}: ${error}`);
      } // I/O errors (reset, broken pipe, closed by us) are ordinary link failures
    } finally {
      if (session !== undefined && session.conn === c) {
        if (this.#closing === undefined) this.#sendAck(session); // final ack
        session.conn = undefined;
        clearTimeout(session.ackTimer);
        session.ackTimer = undefined;
      }
      if (this.#closing === undefined) {
        await settleWithin(c.writing, 200);
        closeQuietly(c.conn);
        this.#conns.delete(c);
      }
    }
  }

  #reject(c: ServerConn, reason: string): void {
    logger(`rejecting a dialer of ${this.addr.key}: ${reason}`);
    const out = new OutBuffer(64);
    appendReject(out, reason);
    this.#write(c, out.bytes());
  }
}

/** Reads and discards until the peer hangs up (or the socket fails). */
async function drain(conn: Deno.Conn): Promise<void> {
  const sink = new Uint8Array(READ_MIN);
  while ((await conn.read(sink)) !== null) {
    // discard
  }
}

function isIoError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted || error instanceof Deno.errors.UnexpectedEof;
}
