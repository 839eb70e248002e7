/**
 * The serving side of unix/tcp channels (reference §1.5): the listener, the
 * receive queue and the server's lifecycle (accept, graceful close, CH-8).
 * Sessions, acknowledgements and the frame loop of each accepted connection
 * live in `_server_conn.ts`.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { ChannelAddr } from "./addr.ts";
import { OutBuffer } from "./framing.ts";
import { settlesWithinLight } from "./_light_timer.ts";
import { closeQuietly, listen } from "./_net_io.ts";
import { appendAck, appendControl, TAG_CLOSED } from "./_protocol.ts";
import { RecvQueue } from "./_recv_queue.ts";
import { ChannelError } from "./errors.ts";
import { channelSecrets, isLoopbackHost, warnInsecure } from "./secret.ts";
import {
  type ConnContext,
  handleConn,
  log,
  newServerConn,
  type ServerConn,
  type Session,
  writeTo,
} from "./_server_conn.ts";
import type { ChannelServer, ChannelWaitOptions } from "./types.ts";

export { type ChannelLogger, setChannelLogger } from "./_server_conn.ts";

/**
 * How long a closing server waits for its last writes, then (tcp only) for
 * the dialer to hang up.
 */
const HANGUP_MS = 500;

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
 * @throws {ChannelError} When binding fails, or for a non-loopback tcp address
 * while running insecure (AU-7).
 * @throws {import("./secret.ts").SecretFileError} When `HYPERMESH_SECRET_FILE`
 * names a bad file.
 */
export function serveNet<M>(addr: ChannelAddr, options: ChannelWaitOptions = {}): NetServer<M> {
  if (channelSecrets() === null) {
    // AU-7: no authentication only where nobody else can reach the socket.
    if (addr.transport === "tcp" && !isLoopbackHost(addr.host!)) {
      throw new ChannelError(
        "serve",
        addr.key,
        "refusing to serve a non-loopback address without authentication (--insecure)",
      );
    }
    warnInsecure(`serving ${addr.key}`);
  }
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
  readonly #ctx: ConnContext<M>;

  /**
   * @param listener Bound listener.
   * @param bound The address actually bound.
   * @param _requested The address asked for.
   */
  constructor(listener: Deno.Listener, bound: ChannelAddr, _requested: ChannelAddr) {
    this.#listener = listener;
    this.addr = bound;
    this.#ctx = {
      addr: bound,
      queue: this.#queue,
      sessions: this.#sessions,
      maxFrame: config.get(attrs.CODEC_MAX_FRAME_LENGTH),
      ackEvery: config.get(attrs.MESSAGE_ACK_EVERY_N_MESSAGES),
      ackInterval: config.get(attrs.MESSAGE_ACK_TIME_INTERVAL),
      keys: channelSecrets,
      closing: () => this.#closing !== undefined,
      forget: (c) => this.#conns.delete(c),
    };
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
      writeTo(c, out.bytes());
    }
    const pending = [...this.#conns];
    const unix = this.addr.transport === "unix";
    await Promise.all(pending.map(async (c) => {
      await settlesWithinLight(c.writing, HANGUP_MS);
      if (!unix) {
        // TCP: half-close and let the handler read until the dialer hangs up:
        // closing a socket with unread input sends a reset, which can destroy
        // the final ack and Closed in the dialer's receive buffer before it
        // reads them.
        try {
          c.conn.closeWrite();
        } catch {
          // already closed or reset
        }
        await settlesWithinLight(c.done, HANGUP_MS);
      }
      // A unix socket needs no hang-up (CH-8): a completed write already sits in the
      // dialer's receive queue, and closing with unread input only flags an
      // error the dialer sees after it has read everything queued. Closing
      // now also ends the handler's pending read.
      closeQuietly(c.conn);
    }));
    this.#queue.close();
    await Promise.all(pending.map((c) => c.done));
    for (const s of this.#sessions.values()) s.ackTimer?.cancel();
    this.#sessions.clear();
    if (this.addr.transport === "unix") {
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
        log(`accept on ${this.addr.key} failed: ${error}`);
        continue;
      }
      if (this.#closing !== undefined) {
        closeQuietly(conn);
        return;
      }
      if (this.addr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      const c = newServerConn(conn);
      this.#conns.add(c);
      c.done = handleConn(c, this.#ctx);
    }
  }
}
