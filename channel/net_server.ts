/**
 * The serving side of unix/tcp/tls channels (reference §1.5): the listener,
 * the receive queue and the server's lifecycle (accept, graceful close,
 * CH-8). Sessions, acknowledgements and the frame loop of each accepted
 * connection live in `_server_conn.ts`.
 *
 * ## Invariants (RB-*: resource bounds)
 * A connection is *pending* from accept until its preamble (and
 * authentication, when the link has one) is accepted and it is bound to a
 * session.
 * - **RB-1 (handshake deadline).** A pending connection is closed
 *   `HYPERMESH_CHANNEL_HANDSHAKE_TIMEOUT` (default 5 s) after accept, however
 *   slowly it trickles bytes, and logged once with its peer address.
 * - **RB-2 (pending cap).** While `HYPERMESH_CHANNEL_MAX_PENDING_CONNECTIONS`
 *   (default 256) connections are pending, newly accepted ones are closed at
 *   once (logged once per burst); established sessions are unaffected.
 * - **RB-3 (small idle buffers).** A pending or idle connection holds a few
 *   KiB of read buffer; a connection's buffer grows (up to 256 KiB) only while
 *   its reads fill it, and nothing of it outlives the connection: 1000 held
 *   connections cost a daemon well under 50 MB, returned when they close.
 * - **RB-4 (accept back-off).** A failing `accept` (`EMFILE`, `ENFILE`, …)
 *   backs the accept loop off (1 ms doubling to 250 ms, logged once per
 *   episode) instead of spinning; the first successful accept resets it, so
 *   the server serves again as soon as descriptors free up.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import { ChannelAddr } from "./addr.ts";
import { OutBuffer } from "./framing.ts";
import { settlesWithinLight, startLightTimer } from "../internal/light_timer.ts";
import { removeSocketFile, RUNTIME_REMOVES_LISTENER_FILE } from "../internal/socket_file.ts";
import { closeQuietly, listen } from "./_net_io.ts";
import { appendAck, appendControl, TAG_CLOSED } from "./_protocol.ts";
import { RecvQueue } from "./_recv_queue.ts";
import { ChannelError } from "./errors.ts";
import { channelSecrets, isLoopbackHost, warnInsecure } from "./secret.ts";
import {
  type ConnContext,
  handleConn,
  newServerConn,
  type ServerConn,
  type Session,
  writeTo,
} from "./_server_conn.ts";
import type {
  ChannelCloseOptions,
  ChannelServer,
  ChannelWaitOptions,
  ServeOptions,
} from "./types.ts";
import { log } from "./logger.ts";

export { type ChannelLogger, setChannelLogger } from "./logger.ts";

/**
 * How long a closing server waits for its last writes, then (tcp only) for
 * the dialer to hang up.
 */
const HANGUP_MS = 500;
/** RB-4: first and largest pause of the accept loop after a failed accept. */
const ACCEPT_BACKOFF_MIN_MS = 1;
const ACCEPT_BACKOFF_MAX_MS = 250;

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
 * @param options Cancellation (aborting closes the server); `bind` (AD-3).
 * @returns The server.
 * @throws {ChannelError} When binding fails, or for a non-loopback tcp address
 * while running insecure (AU-7).
 * @throws {import("./secret.ts").SecretFileError} When `HYPERMESH_SECRET_FILE`
 * names a bad file.
 */
export function serveNet<M>(addr: ChannelAddr, options: ServeOptions = {}): NetServer<M> {
  const bind = typeof options.bind === "string" ? ChannelAddr.parse(options.bind) : options.bind;
  if (channelSecrets() === null) {
    // AU-7: no authentication only where nobody else can reach the socket.
    const listening = bind ?? addr;
    if (listening.transport !== "unix" && !isLoopbackHost(listening.host!)) {
      throw new ChannelError(
        "serve",
        addr.key,
        "refusing to serve a non-loopback address without authentication (--insecure)",
      );
    }
    warnInsecure(`serving ${addr.key}`);
  }
  const { listener, bound } = listen(addr, bind);
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
  #linksClosed: Promise<void> | undefined; // CH-15
  readonly #ctx: ConnContext<M>;
  #pending = 0; // RB-2: accepted connections without a session yet
  #capLogged = false;
  #wakeAccept: (() => void) | undefined;
  readonly #handshakeMs = config.get(attrs.CHANNEL_HANDSHAKE_TIMEOUT);
  readonly #maxPending = config.get(attrs.CHANNEL_MAX_PENDING_CONNECTIONS);

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
      admitted: (c) => this.#admitted(c),
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

  close(options: ChannelCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close();
    // CH-15: what peers see, without the unwinding; a unix socket file is left
    // to the owner of its directory (a proc's host, BS-11).
    return options.beforeExit ? this.#linksClosed! : this.#closing;
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
    const links = this.#closeLinks();
    this.#linksClosed = links.then(() => {});
    const pending = await links;
    // What peers see is done (CH-15); left: the accept loop and the handlers
    // unwinding (their pending accept and reads ending on the closed sockets).
    await Promise.all([this.#accepting, ...pending.map((c) => c.done)]);
    for (const s of this.#sessions.values()) s.ackTimer?.cancel();
    this.#sessions.clear();
    if (this.addr.transport === "unix" && !RUNTIME_REMOVES_LISTENER_FILE) {
      removeSocketFile(this.addr.path!); // SK-1, SK-2
    }
    live.delete(this as NetServer<unknown>);
  }

  /**
   * Everything of the close that peers see (CH-8, CH-15): final frames
   * written, connections and listener closed, the received queue closed.
   * @returns The connections it closed (their handlers may still unwind).
   */
  async #closeLinks(): Promise<ServerConn[]> {
    closeQuietly(this.#listener);
    this.#wakeAccept?.();
    // The accept loop ends on its own (it closes anything it accepts from now
    // on, `#closing` being set), so the final frames go out now, while its
    // pending accept unwinds, not one event-loop turn later.
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
          // A TlsConn's closeWrite returns a promise (sends close_notify).
          const done: unknown = c.conn.closeWrite();
          if (done instanceof Promise) done.catch(() => {});
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
    return pending;
  }

  /** RB-1/RB-2: `c` left the pending state (session bound, or handler done). */
  #admitted(c: ServerConn): void {
    if (c.deadline === undefined) return;
    c.deadline.cancel();
    c.deadline = undefined;
    if (--this.#pending < this.#maxPending) this.#capLogged = false;
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing !== undefined) return;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return;
        }
        // RB-4: out of descriptors (or another accept failure): pause, never spin.
        if (backoff === 0) log(`accept on ${this.addr.key} failed, backing off: ${error}`);
        backoff = Math.min(Math.max(backoff * 2, ACCEPT_BACKOFF_MIN_MS), ACCEPT_BACKOFF_MAX_MS);
        await new Promise<void>((resolve) => {
          const timer = startLightTimer(backoff, () => resolve());
          this.#wakeAccept = () => {
            timer.cancel();
            resolve();
          };
        });
        this.#wakeAccept = undefined;
        continue;
      }
      if (backoff !== 0) log(`accepting on ${this.addr.key} again`);
      backoff = 0;
      if (this.#closing !== undefined) {
        closeQuietly(conn);
        return;
      }
      if (this.#pending >= this.#maxPending) {
        // RB-2: too many connections have not completed their preamble.
        if (!this.#capLogged) {
          log(`${this.addr.key}: ${this.#pending} connections pending, closing new ones`);
          this.#capLogged = true;
        }
        closeQuietly(conn);
        continue;
      }
      if (this.addr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      const c = newServerConn(conn);
      this.#conns.add(c);
      this.#pending++;
      const ms = this.#handshakeMs;
      c.deadline = startLightTimer(ms, () => {
        // RB-1: a peer that has not completed the preamble by now is dropped.
        c.deadline = undefined;
        if (--this.#pending < this.#maxPending) this.#capLogged = false;
        log(
          `dropping connection to ${this.addr.key} from ${peerOf(conn)}: no session after ${ms} ms`,
        );
        closeQuietly(conn);
      });
      c.done = handleConn(c, this.#ctx).finally(() => this.#admitted(c));
    }
  }
}

function peerOf(conn: Deno.Conn): string {
  const a = conn.remoteAddr;
  return a.transport === "unix" || a.transport === "unixpacket"
    ? "a local process"
    : `${(a as Deno.NetAddr).hostname}:${(a as Deno.NetAddr).port}`;
}
