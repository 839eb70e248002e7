/**
 * Folder-private socket helpers for unix/tcp channels.
 *
 * ## Invariants (CH-*)
 * - **CH-14 (a quiet close closes once).** {@linkcode closeQuietly} closes a
 *   socket or listener the first time it is given it and does nothing the
 *   next times: no second `close()`, so no `BadResource` error is built and
 *   thrown away. A link's teardown closes the same socket from two places
 *   (the terminal frame's handler and the connection's own cleanup); each
 *   thrown-away error cost its stack capture (~30 µs of a host's CPU per
 *   proc stop, profiled). A socket closed some other way is still closed
 *   quietly (its error ignored, as before).
 * @module
 */

import type { ChannelAddr } from "./addr.ts";
import { listenTarget, servedAddr } from "./advertise.ts";
import { ChannelError } from "./errors.ts";
import { tlsCaCerts, tlsServeMaterial } from "./_tls.ts";

/**
 * @param addr A unix address.
 * @returns The path Deno binds: abstract names get a leading NUL.
 */
export function unixPath(addr: ChannelAddr): string {
  return addr.abstract ? `\0${addr.path}` : addr.path!;
}

/**
 * Connects to a unix, tcp or tls address (TCP_NODELAY on). A tls connection
 * is returned after its handshake.
 * @param addr The address.
 * @returns The connection.
 * @throws {ChannelError} For a tls handshake the peer's certificate fails
 * (TL-4) or an unreadable CA file (TL-3); other errors are I/O errors.
 */
export async function connect(addr: ChannelAddr): Promise<Deno.Conn> {
  if (addr.transport === "unix") {
    return await Deno.connect({ transport: "unix", path: unixPath(addr) });
  }
  if (addr.transport === "tls") {
    const caCerts = tlsCaCerts(addr);
    const tcp = await Deno.connect({ hostname: addr.host!, port: addr.port! });
    tcp.setNoDelay(true); // a TlsConn has no setNoDelay: set it on the socket first
    const conn = await Deno.startTls(tcp, { hostname: addr.host!, caCerts });
    try {
      await conn.handshake();
    } catch (cause) {
      closeQuietly(conn);
      if (!(cause instanceof Deno.errors.InvalidData)) throw cause; // reset, EOF: retried
      throw new ChannelError(
        "dial",
        addr.key,
        `TLS handshake failed: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    return conn;
  }
  const conn = await Deno.connect({ hostname: addr.host!, port: addr.port! });
  conn.setNoDelay(true);
  return conn;
}

/**
 * Binds a listener.
 * @param addr A unix, tcp or tls address.
 * @param bind For tcp/tls: listen here instead and report `addr` (AD-3).
 * @returns The listener and the address actually bound.
 * @throws {ChannelError} When binding fails.
 */
export function listen(
  addr: ChannelAddr,
  bind?: ChannelAddr,
): { listener: Deno.Listener; bound: ChannelAddr } {
  try {
    if (addr.transport === "unix") {
      if (addr.abstract) {
        // AU-8: an abstract socket has no permissions; anyone local could command it.
        throw new ChannelError(
          "serve",
          addr.key,
          "abstract unix sockets have no access control; serve a path in a 0700 directory",
        );
      }
      if (bind !== undefined) {
        throw new ChannelError("serve", addr.key, "a bind address applies to tcp: and tls: only");
      }
      const listener = Deno.listen({ transport: "unix", path: unixPath(addr) });
      return { listener, bound: addr };
    }
    const at = listenTarget(addr, bind); // AD-3
    const listener = addr.transport === "tls"
      ? Deno.listenTls({ ...at, ...tlsServeMaterial(addr) })
      : Deno.listen(at);
    // AD-2: a name is kept (tls checks the certificate against it).
    return { listener, bound: servedAddr(addr, listener.addr as Deno.NetAddr, bind) };
  } catch (cause) {
    if (cause instanceof ChannelError) throw cause;
    const why = cause instanceof Deno.errors.AddrInUse
      ? "address in use"
      : cause instanceof Deno.errors.PermissionDenied || cause instanceof Deno.errors.NotCapable
      ? "permission denied"
      : cause instanceof Deno.errors.AddrNotAvailable
      ? "address not available"
      : cause instanceof Deno.errors.NotFound
      ? "directory does not exist"
      : `bind failed (${(cause as Error)?.message ?? cause})`;
    throw new ChannelError("serve", addr.key, why, { cause });
  }
}

/**
 * Writes all of `bytes`.
 * @param conn The connection.
 * @param bytes Data.
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
}

/** What {@linkcode closeQuietly} has closed (CH-14). */
const quietlyClosed = new WeakSet<Deno.Conn | Deno.Listener>();

/**
 * Closes `conn` once (CH-14), ignoring "already closed".
 * @param conn A socket or listener (`undefined`: nothing to do).
 */
export function closeQuietly(conn: Deno.Conn | Deno.Listener | undefined): void {
  if (conn === undefined || quietlyClosed.has(conn)) return;
  quietlyClosed.add(conn);
  try {
    conn.close();
  } catch {
    // already closed
  }
}
