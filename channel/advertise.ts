/**
 * Advertised addresses: the address a server puts in its identity (a host's
 * front-end address is part of every proc id it serves) versus the socket
 * address it listens on.
 *
 * A host on a machine other than its client's must advertise something the
 * other machines can dial: a DNS name (`tcp:node7.cluster:26600`) or an IP
 * they route to. The name is kept as written, so the identity travels with
 * the machine's name instead of the IP the name happened to resolve to here.
 *
 * ## Invariants (AD-*)
 * - **AD-1 (no unspecified identity).** `0.0.0.0` and `::` (`tcp:`/`tls:`)
 *   are not advertised: {@linkcode checkAdvertisable} throws an
 *   {@linkcode UnadvertisableAddrError} that says what to use instead (the
 *   machine's name or IP, plus a separate bind address to listen on every
 *   interface). `Host.serve` and `bootstrap.ts host --addr` apply it.
 * - **AD-2 (name kept).** Serving `tcp:NAME:PORT` or `tls:NAME:PORT` listens
 *   on what NAME resolves to and reports `NAME` in the served address (with
 *   the bound port when PORT is 0). IP literals are reported as bound.
 * - **AD-3 (separate bind).** Serving `addr` with `bind` listens on `bind`
 *   (its port, or `addr`'s when `bind`'s is 0) and reports `addr` (its port,
 *   or the bound one when `addr`'s is 0); both must be `tcp:`/`tls:` of the
 *   same transport.
 *
 * @module
 */

import { ChannelAddr } from "./addr.ts";
import { ChannelError } from "./errors.ts";

/**
 * An address that cannot be advertised (AD-1): another machine cannot dial
 * it. `suggestion` says what to advertise and bind instead.
 *
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { UnadvertisableAddrError } from "./advertise.ts";
 * const err = new UnadvertisableAddrError("tcp:0.0.0.0:26600");
 * assertEquals(err.addr, "tcp:0.0.0.0:26600");
 * assertStringIncludes(err.message, "--bind tcp:0.0.0.0:26600");
 * ```
 */
export class UnadvertisableAddrError extends ChannelError {
  /** What to use instead, e.g. `--addr tcp:$(hostname -f):26600 --bind tcp:0.0.0.0:26600`. */
  readonly suggestion: string;
  /**
   * Creates the error.
   * @param addr The rejected address, in text form.
   * @param options `cause`.
   */
  constructor(addr: string, options?: ErrorOptions) {
    const a = ChannelAddr.parse(addr);
    const suggestion = `--addr ${a.transport}:$(hostname -f):${a.port} --bind ${a.key}`;
    super(
      "advertise",
      addr,
      `${a.host} is not an address other machines can dial (the address is part of every proc id); ` +
        `advertise this machine's name or IP and listen on every interface with ${suggestion}`,
      options,
    );
    this.name = "UnadvertisableAddrError";
    this.suggestion = suggestion;
  }
}

/**
 * Whether `addr` is the unspecified address `0.0.0.0` or `::` (any spelling).
 * @param addr An address.
 * @returns `true` for `tcp:`/`tls:` on an unspecified host.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "./addr.ts";
 * import { isUnspecifiedAddr } from "./advertise.ts";
 * assertEquals(isUnspecifiedAddr(ChannelAddr.parse("tcp:[::]:1")), true);
 * assertEquals(isUnspecifiedAddr(ChannelAddr.parse("tcp:localhost:1")), false);
 * ```
 */
export function isUnspecifiedAddr(addr: ChannelAddr): boolean {
  if (addr.transport !== "tcp" && addr.transport !== "tls") return false;
  const host = addr.host!;
  if (host === "0.0.0.0") return true;
  return host.includes(":") && new URL(`http://[${host}]/`).hostname === "[::]";
}

/**
 * Checks that `addr` can be advertised (AD-1).
 * @param addr The address a server will put in its identity.
 * @returns `addr`.
 * @throws {UnadvertisableAddrError} For `0.0.0.0` or `::`.
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { ChannelAddr } from "./addr.ts";
 * import { checkAdvertisable, UnadvertisableAddrError } from "./advertise.ts";
 * checkAdvertisable(ChannelAddr.parse("tcp:node7.cluster:26600"));
 * assertThrows(
 *   () => checkAdvertisable(ChannelAddr.parse("tcp:0.0.0.0:26600")),
 *   UnadvertisableAddrError,
 * );
 * ```
 */
export function checkAdvertisable(addr: ChannelAddr): ChannelAddr {
  if (isUnspecifiedAddr(addr)) throw new UnadvertisableAddrError(addr.key); // AD-1
  return addr;
}

/**
 * Whether `host` is an IP literal (IPv4, or IPv6 without brackets) rather
 * than a name.
 * @param host A `tcp:`/`tls:` host.
 * @returns `true` for an IP literal.
 */
function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Where to listen for `addr` served with an optional separate `bind` (AD-3).
 * @param addr The requested (advertised) address, `tcp:` or `tls:`.
 * @param bind The address to listen on instead, if any.
 * @returns The host and port to pass to `Deno.listen`.
 * @throws {ChannelError} When `bind` is not of `addr`'s transport.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "./addr.ts";
 * import { listenTarget } from "./advertise.ts";
 * const at = listenTarget(
 *   ChannelAddr.parse("tcp:node7:26600"),
 *   ChannelAddr.parse("tcp:0.0.0.0:0"),
 * );
 * assertEquals(at, { hostname: "0.0.0.0", port: 26600 });
 * ```
 */
export function listenTarget(
  addr: ChannelAddr,
  bind?: ChannelAddr,
): { hostname: string; port: number } {
  if (bind === undefined) return { hostname: addr.host!, port: addr.port! };
  if (bind.transport !== addr.transport) {
    throw new ChannelError(
      "serve",
      addr.key,
      `the bind address ${bind.key} must use the same transport (${addr.transport}:)`,
    );
  }
  return { hostname: bind.host!, port: bind.port !== 0 ? bind.port! : addr.port! }; // AD-3
}

/**
 * The address a server reports for `addr` once listening (AD-2, AD-3).
 * @param addr The requested (advertised) address, `tcp:` or `tls:`.
 * @param local What the listener actually bound.
 * @param bind The separate bind address, if any.
 * @returns The served address.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "./addr.ts";
 * import { servedAddr } from "./advertise.ts";
 * const local = { transport: "tcp", hostname: "127.0.0.1", port: 4711 } as const;
 * assertEquals(servedAddr(ChannelAddr.parse("tcp:localhost:0"), local).key, "tcp:localhost:4711");
 * assertEquals(servedAddr(ChannelAddr.parse("tcp:127.0.0.1:0"), local).key, "tcp:127.0.0.1:4711");
 * ```
 */
export function servedAddr(
  addr: ChannelAddr,
  local: Deno.NetAddr,
  bind?: ChannelAddr,
): ChannelAddr {
  const port = addr.port !== 0 ? addr.port! : local.port;
  // AD-2: a name stays a name; tls also checks the certificate against it.
  const keep = bind !== undefined || addr.transport === "tls" || !isIpLiteral(addr.host!);
  const host = keep ? addr.host! : local.hostname;
  return addr.transport === "tls" ? ChannelAddr.tls(host, port) : ChannelAddr.tcp(host, port);
}
