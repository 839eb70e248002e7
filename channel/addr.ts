/**
 * Channel addresses: where a channel can be served and dialed.
 *
 * Text forms: `local:N`, `unix:/path`, `unix:@abstract`, `tcp:127.0.0.1:26600`,
 * `tcp:[::1]:26600`, `tcp:host.example:26600`, and the same host forms over TLS:
 * `tls:127.0.0.1:26600`, `tls:[::1]:26600`, `tls:host.example:26600` (TL-1).
 *
 * ## Invariants (CH-*)
 * - **CH-1 (addr round trip).** `ChannelAddr.parse(a.toString()).equals(a)`.
 * - **CH-2 (strict addr parse).** Any other text is rejected with a
 *   {@linkcode ChannelAddrParseError} naming the input.
 *
 * ## Invariants (TL-*)
 * - **TL-1 (tls addr).** `tls:HOST:PORT` takes exactly the host and port forms
 *   of `tcp:`; it is served with `Deno.listenTls` and dialed with
 *   `Deno.connectTls`, and the channel framing and session protocol run
 *   unchanged on top.
 *
 * @module
 */

/** The transports a channel can use. */
export type Transport = "local" | "unix" | "tcp" | "tls";

/** The transports, for validation and help texts. */
export const TRANSPORTS: readonly Transport[] = ["local", "unix", "tcp", "tls"];

/** Text that is not a channel address. */
export class ChannelAddrParseError extends Error {
  /** The rejected input. */
  readonly input: string;
  /**
   * Creates the error.
   * @param input The rejected text.
   * @param why What is wrong.
   */
  constructor(input: string, why: string) {
    super(`Cannot parse channel address "${input}": ${why}`);
    this.name = "ChannelAddrParseError";
    this.input = input;
  }
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * A channel address. Immutable; compare with {@linkcode ChannelAddr.equals} or
 * by {@linkcode ChannelAddr.key}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "./addr.ts";
 * const a = ChannelAddr.parse("tcp:[::1]:26600");
 * assertEquals([a.transport, a.host, a.port], ["tcp", "::1", 26600]);
 * assertEquals(a.toString(), "tcp:[::1]:26600");
 * assertEquals(ChannelAddr.parse("unix:@sock").abstract, true);
 * ```
 */
export class ChannelAddr {
  /** The transport. */
  readonly transport: Transport;
  /** `local`: the port number. */
  readonly localId?: number;
  /** `unix`: the socket path, or the abstract name without `@`. */
  readonly path?: string;
  /** `unix`: whether `path` is a Linux abstract name. */
  readonly abstract: boolean;
  /** `tcp`/`tls`: host (IP without brackets, or a hostname). */
  readonly host?: string;
  /** `tcp`/`tls`: port (0 = any). */
  readonly port?: number;
  /** Canonical text (also the map key). */
  readonly key: string;

  private constructor(
    fields: {
      transport: Transport;
      localId?: number;
      path?: string;
      abstract?: boolean;
      host?: string;
      port?: number;
    },
  ) {
    this.transport = fields.transport;
    this.localId = fields.localId;
    this.path = fields.path;
    this.abstract = fields.abstract ?? false;
    this.host = fields.host;
    this.port = fields.port;
    this.key = format(this);
  }

  /**
   * A local (in-process) address.
   * @param id Port number (0 = allocate when served).
   * @returns The address.
   * @throws {RangeError} For a negative or non-integer id.
   */
  static local(id: number): ChannelAddr {
    if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`Invalid local id: ${id}`);
    return new ChannelAddr({ transport: "local", localId: id });
  }

  /**
   * A unix socket address.
   * @param path An absolute or relative socket path, or an abstract name.
   * @param abstract Whether `path` is a Linux abstract name.
   * @returns The address.
   * @throws {TypeError} For an empty path or one containing a NUL or comma.
   */
  static unix(path: string, abstract = false): ChannelAddr {
    if (path === "" || /[\0,]/.test(path)) throw new TypeError(`Invalid unix path: "${path}"`);
    return new ChannelAddr({ transport: "unix", path, abstract });
  }

  /**
   * A TCP address.
   * @param host IPv4, IPv6 (without brackets) or a hostname.
   * @param port 0..65535 (0 = any).
   * @returns The address.
   * @throws {TypeError} For an invalid host.
   * @throws {RangeError} For an invalid port.
   */
  static tcp(host: string, port: number): ChannelAddr {
    return ChannelAddr.#inet("tcp", host, port);
  }

  /**
   * A TLS-over-TCP address (TL-1): the host is also the name the server's
   * certificate must be valid for.
   * @param host IPv4, IPv6 (without brackets) or a hostname.
   * @param port 0..65535 (0 = any).
   * @returns The address.
   * @throws {TypeError} For an invalid host.
   * @throws {RangeError} For an invalid port.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ChannelAddr } from "./addr.ts";
   * const a = ChannelAddr.tls("localhost", 26600);
   * assertEquals(a.toString(), "tls:localhost:26600");
   * assertEquals(ChannelAddr.parse("tls:[::1]:0").host, "::1");
   * ```
   */
  static tls(host: string, port: number): ChannelAddr {
    return ChannelAddr.#inet("tls", host, port);
  }

  static #inet(transport: "tcp" | "tls", host: string, port: number): ChannelAddr {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Invalid ${transport} port: ${port}`);
    }
    if (!IPV4.test(host) && !isIpv6(host) && !HOSTNAME.test(host)) {
      throw new TypeError(`Invalid ${transport} host: "${host}"`);
    }
    return new ChannelAddr({ transport, host, port });
  }

  /**
   * A fresh bindable address for `transport`:
   * - `local` → `local:0` (the server allocates the next id);
   * - `tcp` → `tcp:127.0.0.1:0` (IPv4 loopback, any port; `[::1]` is not
   *   used because IPv6 may be disabled on the host);
   * - `tls` → `tls:127.0.0.1:0` (the server's certificate must then be
   *   valid for the IP address 127.0.0.1);
   * - `unix` → a fresh socket path in this process's private 0700
   *   directory under `XDG_RUNTIME_DIR` or the temp dir (AU-8): the server
   *   removes its socket file on close, the directory is removed when the
   *   process exits if empty. Never an abstract name (`unix:@…`): those have
   *   no file permissions, any local user in the network namespace can
   *   connect.
   *
   * @param transport The transport.
   * @returns An address to pass to `serve()`; the server reports the bound one.
   * @throws {TypeError} For an unknown transport.
   * @example
   * ```ts
   * import { assertEquals, assertNotEquals } from "@std/assert";
   * import { ChannelAddr } from "./addr.ts";
   * assertEquals(ChannelAddr.any("tcp").toString(), "tcp:127.0.0.1:0");
   * assertEquals(ChannelAddr.any("local").toString(), "local:0");
   * assertNotEquals(ChannelAddr.any("unix").key, ChannelAddr.any("unix").key);
   * ```
   */
  static any(transport: Transport): ChannelAddr {
    switch (transport) {
      case "local":
        return ChannelAddr.local(0);
      case "tcp":
      case "tls":
        return ChannelAddr.#inet(transport, "127.0.0.1", 0);
      case "unix":
        return ChannelAddr.unix(`${runtimeDir()}/${randomName(16)}.sock`);
      default:
        throw new TypeError(`Invalid transport: "${transport}"`);
    }
  }

  /**
   * Parses the text form (CH-2).
   * @param text e.g. `unix:/run/x.sock`, `tcp:127.0.0.1:0`, `local:3`.
   * @returns The address.
   * @throws {ChannelAddrParseError} Naming the input.
   */
  static parse(text: string): ChannelAddr {
    if (typeof text !== "string") throw new ChannelAddrParseError(String(text), "not a string");
    const colon = text.indexOf(":");
    if (colon < 0) throw new ChannelAddrParseError(text, "expected TRANSPORT:REST");
    const kind = text.slice(0, colon);
    const rest = text.slice(colon + 1);
    switch (kind) {
      case "local": {
        if (!/^\d+$/.test(rest) || !Number.isSafeInteger(Number(rest))) {
          throw new ChannelAddrParseError(text, "local id must be a non-negative integer");
        }
        return ChannelAddr.local(Number(rest));
      }
      case "unix": {
        const abstract = rest.startsWith("@");
        const path = abstract ? rest.slice(1) : rest;
        if (path === "" || /[\0,]/.test(path)) {
          throw new ChannelAddrParseError(text, "unix path must be non-empty, without NUL or ','");
        }
        return ChannelAddr.unix(path, abstract);
      }
      case "tcp":
      case "tls": {
        let host: string;
        let portText: string;
        if (rest.startsWith("[")) {
          const close = rest.indexOf("]");
          if (close < 0 || rest[close + 1] !== ":") {
            throw new ChannelAddrParseError(text, "expected [IPV6]:PORT");
          }
          host = rest.slice(1, close);
          if (!isIpv6(host)) throw new ChannelAddrParseError(text, "invalid IPv6 address");
          portText = rest.slice(close + 2);
        } else {
          const last = rest.lastIndexOf(":");
          if (last < 0) throw new ChannelAddrParseError(text, "expected HOST:PORT");
          host = rest.slice(0, last);
          portText = rest.slice(last + 1);
          if (host.includes(":")) {
            throw new ChannelAddrParseError(text, "IPv6 hosts must be bracketed");
          }
          if (!IPV4.test(host) && !HOSTNAME.test(host)) {
            throw new ChannelAddrParseError(text, "invalid host");
          }
        }
        if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
          throw new ChannelAddrParseError(text, "port must be 0..65535");
        }
        return ChannelAddr.#inet(kind, host, Number(portText));
      }
      default:
        throw new ChannelAddrParseError(text, `unknown transport "${kind}"`);
    }
  }

  /**
   * The canonical text.
   * @returns The canonical text (CH-1).
   */
  toString(): string {
    return this.key;
  }

  /**
   * The JSON form.
   * @returns The canonical text.
   */
  toJSON(): string {
    return this.key;
  }

  /**
   * Address equality.
   * @param other Another address.
   * @returns Whether both denote the same endpoint.
   */
  equals(other: ChannelAddr): boolean {
    return this.key === other.key;
  }
}

function format(a: ChannelAddr): string {
  switch (a.transport) {
    case "local":
      return `local:${a.localId}`;
    case "unix":
      return `unix:${a.abstract ? "@" : ""}${a.path}`;
    case "tcp":
    case "tls":
      return a.host!.includes(":")
        ? `${a.transport}:[${a.host}]:${a.port}`
        : `${a.transport}:${a.host}:${a.port}`;
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomName(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

let privateDir: string | undefined;

function runtimeDir(): string {
  if (privateDir !== undefined) return privateDir;
  const base = Deno.env.get("XDG_RUNTIME_DIR");
  // `hypermesh-<pid>-`: the name bootstrap managers sweep once this process is dead (OW-5).
  const prefix = `hypermesh-${Deno.pid}-`;
  privateDir = Deno.makeTempDirSync(base ? { dir: base, prefix } : { prefix });
  Deno.chmodSync(privateDir, 0o700);
  const dir = privateDir;
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir); // only when empty: a child's live socket keeps it
    } catch {
      // not empty, or gone
    }
  });
  return privateDir;
}
