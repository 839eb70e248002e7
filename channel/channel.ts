/**
 * `serve()` and `dial()`: the transport-independent entry points.
 *
 * @module
 */

import { ChannelAddr } from "./addr.ts";
import { ChannelError } from "./errors.ts";
import { dialLocal, serveLocal } from "./local.ts";
import { breakNetServer, serveNet } from "./net_server.ts";
import { breakNetTx, NetTx } from "./net_tx.ts";
import { tlsCaCerts } from "./_tls.ts";
import type { ChannelServer, ChannelTx, DialOptions, ServeOptions } from "./types.ts";

function toAddr(addr: ChannelAddr | string): ChannelAddr {
  return typeof addr === "string" ? ChannelAddr.parse(addr) : addr;
}

/**
 * Serves a channel at `addr`.
 *
 * `local:0` allocates the next in-process id; `tcp:HOST:0` picks a free
 * port; a unix path must not exist yet; `unix:@name` (a Linux abstract
 * socket, which has no access control) is refused (AU-8). Use
 * {@linkcode ChannelAddr.any} for a fresh address. unix/tcp links
 * authenticate with the process's channel secret (AU-1, `secret.ts`).
 *
 * @typeParam M The message type.
 * @param addr Where to listen.
 * @param options `signal`: aborting it closes the server; `bind`: for
 * `tcp:`/`tls:`, listen there and report `addr` (AD-3). A `tcp:NAME:PORT`
 * address keeps NAME in `server.addr` (AD-2).
 * @returns The server; `server.addr` is the address actually bound.
 * @throws {ChannelError} When the address cannot be bound (in use,
 * permission, unsupported, `local:N` with N ≠ 0).
 * @throws {ChannelAddrParseError} For unparsable text.
 * @tags allow-net, allow-read, allow-write
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr, dial, serve } from "./mod.ts";
 *
 * await using server = await serve<{ n: number }>(ChannelAddr.any("local"));
 * await using tx = dial<{ n: number }>(server.addr);
 * tx.post({ n: 1 });
 * await tx.send({ n: 2 });
 * assertEquals(await server.recv(), { n: 1 });
 * assertEquals(await server.recv(), { n: 2 });
 * ```
 */
export function serve<M>(
  addr: ChannelAddr | string,
  options: ServeOptions = {},
): Promise<ChannelServer<M>> {
  try {
    const a = toAddr(addr);
    options.signal?.throwIfAborted();
    if (a.transport === "local" && options.bind !== undefined) {
      throw new ChannelError("serve", a.key, "a bind address applies to tcp: and tls: only");
    }
    const server = a.transport === "local" ? serveLocal<M>(a, options) : serveNet<M>(a, options);
    return Promise.resolve(server);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Dials a channel. Lazy (CH-6): unix/tcp connect on the first post, and
 * reconnect with backoff; dialing an unserved `local:N` yields a sender whose
 * status is already `Closed` and whose posts come back.
 *
 * @typeParam M The message type.
 * @param addr The served address.
 * @param options `refusedIsTerminal` (CH-9): a refused connection closes the
 * sender at once instead of being retried.
 * @returns The sender.
 * @throws {ChannelAddrParseError} For unparsable text.
 * @throws {ChannelError} For a `tls:` address when `HYPERMESH_TLS_CA_FILE`
 * names a file that cannot be read (TL-3).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dial } from "./mod.ts";
 *
 * await using tx = dial<string>("local:987654");
 * assertEquals(tx.status.get().kind, "Closed");
 * const err = await tx.send("hi").catch((e) => e);
 * assertEquals(err.payload, "hi");
 * ```
 */
export function dial<M>(addr: ChannelAddr | string, options: DialOptions = {}): ChannelTx<M> {
  const a = toAddr(addr);
  if (a.transport === "local") return dialLocal<M>(a);
  if (a.transport === "unix" && a.abstract && Deno.build.os !== "linux") {
    throw new ChannelError("dial", a.key, "abstract unix sockets need Linux");
  }
  if (a.transport === "tls") tlsCaCerts(a); // TL-3: an unreadable CA file fails here
  return new NetTx<M>(a, options);
}

/**
 * Test-only fault injection. Not for production use.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dial } from "./mod.ts";
 * import { _testing } from "./channel.ts";
 * await using tx = dial<number>("local:987654");
 * assertEquals(_testing.breakConnections(tx), 0); // local: nothing to break
 * ```
 */
export const _testing: {
  /** Closes the real sockets under a net sender or server. */
  breakConnections(target: ChannelTx<unknown> | ChannelServer<unknown>): number;
} = {
  /**
   * Closes the real sockets under a net sender or server, as a network fault
   * would; senders then reconnect and resend what is unacknowledged.
   * @param target A sender from `dial()` or a server from `serve()`.
   * @returns How many sockets were closed.
   */
  breakConnections(target: ChannelTx<unknown> | ChannelServer<unknown>): number {
    return breakNetTx(target) ? 1 : breakNetServer(target);
  },
};
