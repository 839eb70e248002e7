/**
 * Folder-private per-connection half of the net server: the session table
 * entries, acknowledgements, and the frame loop of one accepted connection.
 *
 * Per session (keyed by the dialer's session id) the server keeps the next
 * expected sequence number across reconnects, drops retransmits, rejects
 * gaps, and acknowledges: immediately when asked (`ACK_REQ`), when
 * `MESSAGE_ACK_EVERY_N_MESSAGES` are unacknowledged, when
 * `MESSAGE_ACK_TIME_INTERVAL` has passed since the last ack (so the first
 * message after idle is acked at once), else by one timer per session at the
 * end of that interval; and once more when the connection or the server
 * closes. Acks are written only by these rules, never once per message.
 *
 * @module
 */

import type { ChannelAddr } from "./addr.ts";
import { FrameError } from "./errors.ts";
import { FrameDecoder, OutBuffer } from "./framing.ts";
import { closeQuietly, writeAll } from "./_net_io.ts";
import { type LightTimer, settlesWithinLight, startLightTimer } from "../internal/light_timer.ts";
import {
  appendAck,
  appendReject,
  decodeBatch,
  decodeMessage,
  TAG_ACK_REQ,
  TAG_BYE,
  TAG_MSG_BYTES,
  TAG_MSG_JSON,
  TAG_MSG_JSON_BATCH,
  TAG_SKIP,
} from "./_protocol.ts";
import type { RecvQueue } from "./_recv_queue.ts";
import { acceptHandshake, HandshakeRefused } from "./_handshake.ts";
import type { ChannelSecret } from "./secret.ts";
import { log } from "./logger.ts";

/** Read buffer size: big reads amortise the per-read cost of the event loop. */
const READ_BUFFER = 256 * 1024;
/** RB-3: what a fresh (or idle) connection's buffer starts at; it grows while reads fill it. */
const READ_START = 4 * 1024;
/** Smallest free space offered to a read. */
const READ_MIN = 4 * 1024;
/**
 * A `Uint8Array` message up to this size that ends a read is copied out;
 * otherwise the read buffer is handed over (a fresh buffer costs far more
 * than a small copy, but less than copying a batch of messages).
 */
const COPY_MAX = 2048;

/** One dialer session, kept across its reconnects. */
export interface Session {
  key: string;
  next: number; // next expected seq
  acked: number; // highest seq acknowledged
  lastAckAt: number;
  conn: ServerConn | undefined;
  ackTimer: LightTimer | undefined;
}

/** One accepted connection. */
export interface ServerConn {
  conn: Deno.Conn;
  session: Session | undefined;
  writing: Promise<void>; // writes are chained: one in flight at a time
  done: Promise<void>; // the handler
  deadline: LightTimer | undefined; // RB-1: armed while the connection is pending
}

/** What the handler of a connection needs from its server. */
export interface ConnContext<M> {
  readonly addr: ChannelAddr;
  readonly queue: RecvQueue<M>;
  readonly sessions: Map<string, Session>;
  readonly maxFrame: number;
  readonly ackEvery: number;
  readonly ackInterval: number;
  /** The secrets a dialer may prove (AU-1); `null` when running insecure. */
  keys(): readonly ChannelSecret[] | null;
  /** Whether the server is closing. */
  closing(): boolean;
  /** The handler is done with `c` (not called while the server closes). */
  forget(c: ServerConn): void;
  /** RB-1/RB-2: `c` is bound to a session; its handshake deadline ends. */
  admitted(c: ServerConn): void;
}

/**
 * @param conn An accepted socket.
 * @returns Its connection record (handler not started).
 */
export function newServerConn(conn: Deno.Conn): ServerConn {
  return {
    conn,
    session: undefined,
    writing: Promise.resolve(),
    done: Promise.resolve(),
    deadline: undefined,
  };
}

/**
 * Queues a write after the connection's previous ones (never rejects).
 * @param c The connection.
 * @param bytes Copied before returning.
 */
export function writeTo(c: ServerConn, bytes: Uint8Array): void {
  const copy = bytes.slice();
  c.writing = c.writing.then(() => writeAll(c.conn, copy)).catch(() => {});
}

/** @param s Acknowledged up to its last delivered message, if any is unacked. */
export function sendAck(s: Session): void {
  s.ackTimer?.cancel();
  s.ackTimer = undefined;
  const seq = s.next - 1;
  if (seq <= s.acked || s.conn === undefined) return;
  s.acked = seq;
  s.lastAckAt = Date.now();
  const out = new OutBuffer(16);
  appendAck(out, seq);
  writeTo(s.conn, out.bytes());
}

// CH-5: everything a peer can do wrong ends in this connection being dropped.
export async function handleConn<M>(c: ServerConn, ctx: ConnContext<M>): Promise<void> {
  const queue = ctx.queue;
  let session: Session | undefined;
  let pos = 0;
  try {
    // AU-1: preamble and handshake first, in small exact reads; nothing else is
    // allocated or looked up for a peer that has not proved the secret.
    const accepted = await acceptHandshake(c.conn, ctx.keys());
    if (accepted === undefined) return;
    const { session: key, firstSeq } = accepted;
    const dec = new FrameDecoder({
      maxFrameLength: ctx.maxFrame,
      initialCapacity: READ_BUFFER,
      startCapacity: READ_START, // RB-3
    });
    session = ctx.sessions.get(key);
    if (session === undefined) {
      if (firstSeq !== 0) {
        // A restarted server (or a forgotten session) cannot vouch for seq < firstSeq.
        reject(ctx, c, `unknown session ${key} resumed at seq ${firstSeq}`);
        return;
      }
      session = { key, next: 0, acked: -1, lastAckAt: 0, conn: undefined, ackTimer: undefined };
      ctx.sessions.set(key, session);
    } else if (firstSeq > session.next) {
      reject(ctx, c, `sequence gap: expected ${session.next}, got ${firstSeq}`);
      return;
    }
    if (session.conn !== undefined) closeQuietly(session.conn.conn); // superseded
    session.conn = c;
    c.session = session;
    ctx.admitted(c);
    pos = firstSeq;
    while (true) {
      let ackNow = false;
      for (let body = dec.next(); body !== undefined; body = dec.next()) {
        if (session.conn !== c) return;
        if (ctx.closing()) return await drain(c.conn); // not delivered: not acked
        const tag = body[0];
        if (tag === TAG_MSG_JSON || tag === TAG_MSG_BYTES) {
          if (pos === session.next) {
            // CH-3: seq == next: deliver once
            if (tag === TAG_MSG_JSON) queue.push(decodeMessage(body) as M);
            else if (body.length <= COPY_MAX && dec.buffered === 0) {
              queue.push(body.slice(1) as M); // a lone small message: a copy is cheaper
            } else {
              dec.detach(); // the message is a view into the read buffer: hand it over
              queue.push(body.subarray(1) as M);
            }
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
          sendAck(session);
          ctx.sessions.delete(session.key);
          session.conn = undefined;
          return;
        } else {
          throw new FrameError(body.length === 0 ? "empty frame" : `unknown frame tag ${tag}`);
        }
      }
      const unacked = session.next - 1 - session.acked;
      if (unacked > 0) {
        if (
          ackNow || unacked >= ctx.ackEvery ||
          Date.now() - session.lastAckAt >= ctx.ackInterval
        ) {
          sendAck(session);
        } else if (session.ackTimer === undefined) {
          const s = session;
          s.ackTimer = startLightTimer(
            s.lastAckAt + ctx.ackInterval - Date.now(),
            () => sendAck(s),
          );
        }
      }
      if (queue.length >= queue.capacity) await queue.waitForSpace(); // backpressure
      if (session.conn !== c) return;
      if (ctx.closing()) return await drain(c.conn);
      const n = await c.conn.read(dec.writable(READ_MIN));
      if (n === null) {
        dec.finish(); // mid-frame EOF is an error
        return;
      }
      dec.commit(n);
    }
  } catch (error) {
    if (error instanceof HandshakeRefused) {
      log(
        `authentication failed: dropping ${peerName(c.conn)} on ${ctx.addr.key}: ${error.reason}`,
      );
    } else if (error instanceof FrameError) {
      log(`dropping connection to ${ctx.addr.key}: ${error.reason}`);
    } else if (!isIoError(error)) {
      log(`dropping connection to ${ctx.addr.key}: ${error}`);
    } // I/O errors (reset, broken pipe, closed by us) are ordinary link failures
  } finally {
    if (session !== undefined && session.conn === c) {
      if (!ctx.closing()) sendAck(session); // final ack
      session.conn = undefined;
      session.ackTimer?.cancel();
      session.ackTimer = undefined;
    }
    if (!ctx.closing()) {
      await settlesWithinLight(c.writing, 200);
      closeQuietly(c.conn);
      ctx.forget(c);
    }
  }
}

function reject<M>(ctx: ConnContext<M>, c: ServerConn, reason: string): void {
  log(`rejecting a dialer of ${ctx.addr.key}: ${reason}`);
  const out = new OutBuffer(64);
  appendReject(out, reason);
  writeTo(c, out.bytes());
}

/** Reads and discards until the peer hangs up (or the socket fails). */
async function drain(conn: Deno.Conn): Promise<void> {
  const sink = new Uint8Array(READ_MIN);
  while ((await conn.read(sink)) !== null) {
    // discard
  }
}

/** @returns The peer's address for logs (`ip:port`; unix peers have none). */
function peerName(conn: Deno.Conn): string {
  const remote = conn.remoteAddr;
  if (remote.transport === "tcp" || remote.transport === "udp") {
    return `peer ${remote.hostname}:${remote.port}`;
  }
  return "a unix peer";
}

function isIoError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted || error instanceof Deno.errors.UnexpectedEof;
}
