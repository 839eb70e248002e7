/**
 * Folder-private socket helpers for unix/tcp channels.
 * @module
 */

import { ChannelAddr } from "./addr.ts";
import { ChannelError } from "./errors.ts";

/**
 * @param addr A unix address.
 * @returns The path Deno binds: abstract names get a leading NUL.
 */
export function unixPath(addr: ChannelAddr): string {
  return addr.abstract ? `\0${addr.path}` : addr.path!;
}

/**
 * Connects to a unix or tcp address (TCP_NODELAY on).
 * @param addr The address.
 * @returns The connection.
 */
export async function connect(addr: ChannelAddr): Promise<Deno.Conn> {
  if (addr.transport === "unix") {
    return await Deno.connect({ transport: "unix", path: unixPath(addr) });
  }
  const conn = await Deno.connect({ hostname: addr.host!, port: addr.port! });
  conn.setNoDelay(true);
  return conn;
}

/**
 * Binds a listener.
 * @param addr A unix or tcp address.
 * @returns The listener and the address actually bound.
 * @throws {ChannelError} When binding fails.
 */
export function listen(
  addr: ChannelAddr,
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
      const listener = Deno.listen({ transport: "unix", path: unixPath(addr) });
      return { listener, bound: addr };
    }
    const listener = Deno.listen({ hostname: addr.host!, port: addr.port! });
    const local = listener.addr as Deno.NetAddr;
    const host = addr.port === 0 || addr.host !== local.hostname ? local.hostname : addr.host!;
    return { listener, bound: ChannelAddr.tcp(host, local.port) };
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

/** @param conn Closed, ignoring "already closed". */
export function closeQuietly(conn: Deno.Conn | Deno.Listener | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}
