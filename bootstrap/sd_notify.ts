/**
 * `sd_notify(3)` in a few lines: a datagram to the unix socket named by
 * `NOTIFY_SOCKET`, which systemd sets for `Type=notify` services. The host
 * daemon (`bootstrap.ts host`) sends `READY=1` once it serves, so
 * `systemctl start` returns when the host can be attached, and `STOPPING=1`
 * when it begins to shut down.
 *
 * Deno has no unbound unix datagram socket without `--unstable-net`, so the
 * datagram goes through libc (`socket`, `sendto`, `close` via `Deno.dlopen`,
 * which needs `--allow-ffi`). Path sockets and abstract ones (`@name`) are
 * supported; `vsock:` targets are not.
 *
 * ## Invariants (SN-*)
 * - **SN-1 (ready when serving).** The daemon sends `READY=1` (with
 *   `STATUS=serving <addr>`) only after its front-end address accepts
 *   connections, and removes `NOTIFY_SOCKET` from its environment so that its
 *   procs never notify in its name.
 * - **SN-2 (no manager, no-op).** Without `NOTIFY_SOCKET`, {@linkcode sdNotify}
 *   does nothing and returns `false`; with it, a failed send throws an
 *   {@linkcode SdNotifyError} naming the socket.
 *
 * @module
 */

/** The variable systemd sets for `Type=notify` services. */
export const NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_BYTES = 108;

const LIBC = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** A notification systemd could not be sent. */
export class SdNotifyError extends Error {
  /** The `NOTIFY_SOCKET` value. */
  readonly socket: string;
  /**
   * Creates the error.
   * @param socket The `NOTIFY_SOCKET` value.
   * @param why What failed.
   * @param options `cause`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { SdNotifyError } from "./sd_notify.ts";
   * const err = new SdNotifyError("/run/x", "sendto failed (errno 111)");
   * assertEquals(err.message, 'Cannot notify systemd at "/run/x": sendto failed (errno 111)');
   * ```
   */
  constructor(socket: string, why: string, options?: ErrorOptions) {
    super(`Cannot notify systemd at "${socket}": ${why}`, options);
    this.name = "SdNotifyError";
    this.socket = socket;
  }
}

/** Options of {@linkcode sdNotify}. */
export interface SdNotifyOptions {
  /** The socket (default: `NOTIFY_SOCKET` from the environment). */
  socket?: string;
  /** Remove `NOTIFY_SOCKET` from the environment after sending (SN-1). */
  unsetEnvironment?: boolean;
}

/** `struct sockaddr_un` for `socket` (`@name` = abstract) and its length. */
function sockaddrUn(socket: string): { addr: Uint8Array; length: number } {
  const abstract = socket.startsWith("@");
  const path = new TextEncoder().encode(abstract ? socket.slice(1) : socket);
  if (path.length + 1 > SUN_PATH_BYTES) throw new SdNotifyError(socket, "socket path too long");
  const addr = new Uint8Array(2 + SUN_PATH_BYTES);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // sa_family_t, host order (LE)
  addr.set(path, abstract ? 3 : 2); // abstract: sun_path[0] = 0
  // Abstract names are exactly as long as given; paths include their NUL.
  return { addr, length: 2 + (abstract ? 1 + path.length : path.length + 1) };
}

/**
 * Sends `state` (newline-separated `KEY=VALUE` lines, e.g. `READY=1`) to the
 * service manager (SN-2).
 * @param state The notification.
 * @param options The socket; whether to unset `NOTIFY_SOCKET` afterwards.
 * @returns `true` when sent, `false` without a socket to send to.
 * @throws {SdNotifyError} When the socket is not a unix one or the send fails.
 * @tags allow-env, allow-ffi
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sdNotify } from "./sd_notify.ts";
 * // Not started by systemd: nothing to notify (SN-2).
 * assertEquals(sdNotify("READY=1", { socket: "" }), false);
 * ```
 */
export function sdNotify(state: string, options: SdNotifyOptions = {}): boolean {
  const socket = options.socket ?? Deno.env.get(NOTIFY_SOCKET_ENV) ?? "";
  if (socket === "") return false; // SN-2
  if (!socket.startsWith("/") && !socket.startsWith("@")) {
    throw new SdNotifyError(socket, "only unix sockets (a path or @abstract) are supported");
  }
  const { addr, length } = sockaddrUn(socket);
  let lib;
  try {
    lib = Deno.dlopen("libc.so.6", LIBC);
  } catch (cause) {
    throw new SdNotifyError(socket, `libc unavailable (--allow-ffi?): ${cause}`, { cause });
  }
  try {
    const fd = lib.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new SdNotifyError(socket, `socket() failed (errno ${errno(lib)})`);
    try {
      const body = new TextEncoder().encode(state);
      const sent = lib.symbols.sendto(fd, body, BigInt(body.length), MSG_NOSIGNAL, addr, length);
      if (Number(sent) !== body.length) {
        throw new SdNotifyError(socket, `sendto() failed (errno ${errno(lib)})`);
      }
    } finally {
      lib.symbols.close(fd);
    }
  } finally {
    lib.close();
  }
  if (options.unsetEnvironment) Deno.env.delete(NOTIFY_SOCKET_ENV);
  return true;
}

function errno(lib: Deno.DynamicLibrary<typeof LIBC>): number {
  const p = lib.symbols.__errno_location();
  return p === null ? -1 : new Deno.UnsafePointerView(p).getInt32();
}
