/**
 * One-shot reachability check of a channel server: dial, run the
 * authenticated handshake, say goodbye. A link retries an unreachable peer
 * until its delivery timeout, which is right for a proc that is starting
 * and wrong for a daemon the user named: `HostMesh.attach` probes each host
 * so that "nothing listens there" is said at once (HM-6).
 *
 * ## Invariants (CH-*)
 * - **CH-11 (a probe says what happened).** {@linkcode probeChannel}
 *   settles with one {@linkcode ChannelProbeError} kind per cause —
 *   `refused` (nothing listens: connection refused, or no socket file),
 *   `hung-up` (the peer closed inside the handshake), `foreign` (it speaks
 *   another protocol, CH-12), `authentication` (no common secret),
 *   `timeout` (connected but no answer), `unreachable` (any other dial
 *   error) — each naming the address; a successful probe leaves nothing on
 *   the server (its session ends with a goodbye frame).
 *
 * @module
 */

import { ChannelAddr } from "./addr.ts";
import { AuthenticationError, ChannelError, ForeignPeerError } from "./errors.ts";
import { dialHandshake } from "./_handshake.ts";
import { closeQuietly, connect, writeAll } from "./_net_io.ts";
import { BYE_FRAME, newSessionId } from "./_protocol.ts";
import { type ChannelSecret, channelSecrets } from "./secret.ts";
import { type LightTimer, startLightTimer } from "../internal/light_timer.ts";

/** Why a probe failed (CH-11). */
export type ChannelProbeFailure =
  | "refused"
  | "hung-up"
  | "foreign"
  | "authentication"
  | "timeout"
  | "unreachable";

/** What each kind of probe failure says when no detail is given. */
const DEFAULT_WHY: Record<ChannelProbeFailure, string> = {
  "refused": "nothing listens there (connection refused)",
  "hung-up": "the peer hung up during the handshake",
  "foreign": "the peer does not speak the hypermesh channel protocol",
  "authentication": "authentication failed",
  "timeout": "connected, but no handshake answer (is a hypermesh host serving there?)",
  "unreachable": "cannot connect",
};

/** Options of a {@linkcode ChannelProbeError}. */
export interface ChannelProbeErrorOptions extends ErrorOptions {
  /** What happened, for people (default: a sentence per failure kind). */
  why?: string;
}

/**
 * A channel server did not complete a probe (CH-11).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelProbeError } from "./probe.ts";
 * const e = new ChannelProbeError("tcp:127.0.0.1:9", "refused");
 * assertEquals(e.message, 'Cannot reach "tcp:127.0.0.1:9": nothing listens there (connection refused)');
 * assertEquals(e.failure, "refused");
 * ```
 */
export class ChannelProbeError extends ChannelError {
  /** The cause, as a kind. */
  readonly failure: ChannelProbeFailure;
  /**
   * Creates the error.
   * @param addr The probed address.
   * @param failure The kind of failure.
   * @param options `why` (what happened, for people) and `cause`.
   */
  constructor(addr: string, failure: ChannelProbeFailure, options: ChannelProbeErrorOptions = {}) {
    const { why, ...rest } = options;
    super("reach", addr, why ?? DEFAULT_WHY[failure], rest);
    this.name = "ChannelProbeError";
    this.failure = failure;
  }
}

/** Options of {@linkcode probeChannel}. */
export interface ProbeOptions {
  /** How long the whole probe may take (default 5000 ms). */
  timeoutMs?: number;
  /** Ends the probe with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * The secrets to prove, primary first; `null` to dial without
   * authentication. Default: this process's keyring (`channelSecrets()`).
   */
  secrets?: readonly ChannelSecret[] | null;
}

/**
 * Dials `addr`, authenticates with this process's channel secret, and hangs
 * up politely (CH-11). `local:` addresses need no probe and resolve at once.
 * @param addr A unix, tcp or tls address.
 * @param options Deadline and cancellation.
 * @throws {ChannelProbeError} Naming the address and the cause.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 * @example
 * ```ts
 * import { assertEquals, assertRejects } from "@std/assert";
 * import { ChannelProbeError, probeChannel } from "./probe.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = listener.addr.port;
 * listener.close(); // nothing listens there any more
 * const e = await assertRejects(() => probeChannel(`tcp:127.0.0.1:${port}`), ChannelProbeError);
 * assertEquals(e.failure, "refused");
 * ```
 */
export async function probeChannel(
  addr: ChannelAddr | string,
  options: ProbeOptions = {},
): Promise<void> {
  const target = typeof addr === "string" ? ChannelAddr.parse(addr) : addr;
  if (target.transport === "local") return;
  const key = target.key;
  const timeoutMs = options.timeoutMs ?? 5_000;
  options.signal?.throwIfAborted();
  let conn: Deno.Conn | undefined;
  let timer: LightTimer | undefined;
  let stop!: (error: unknown) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => {});
  const onAbort = () => stop(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // A light timer: no lazy `setTimeout` load (internal/light_timer.ts).
  timer = startLightTimer(timeoutMs, () => {
    timer = undefined;
    stop(
      new ChannelProbeError(key, "timeout", {
        why:
          `connected, but no handshake answer within ${timeoutMs} ms (is a hypermesh host serving there?)`,
      }),
    );
  });
  try {
    await Promise.race([
      stopped,
      (async () => {
        try {
          conn = await connect(target);
        } catch (cause) {
          throw dialFailure(key, cause);
        }
        let first: Uint8Array;
        try {
          const keys = options.secrets !== undefined ? options.secrets : channelSecrets();
          first = await dialHandshake(conn, key, newSessionId(), 0, keys);
        } catch (cause) {
          throw handshakeFailure(key, cause);
        }
        // The handshake's last bytes, then goodbye: the server ends the session.
        await writeAll(conn, first).then(() => writeAll(conn!, BYE_FRAME)).catch(() => {});
      })(),
    ]);
  } finally {
    timer?.cancel();
    options.signal?.removeEventListener("abort", onAbort);
    if (conn !== undefined) closeQuietly(conn); // also ends a pending read of a timed-out probe
  }
}

function dialFailure(addr: string, cause: unknown): ChannelProbeError {
  if (cause instanceof Deno.errors.ConnectionRefused) {
    return new ChannelProbeError(addr, "refused", { cause });
  }
  if (cause instanceof Deno.errors.NotFound) {
    return new ChannelProbeError(addr, "refused", {
      why: "nothing listens there (no such socket file)",
      cause,
    });
  }
  const why = cause instanceof ChannelError ? cause.message : (cause as Error)?.message;
  return new ChannelProbeError(addr, "unreachable", {
    why: `cannot connect (${why ?? cause})`,
    cause,
  });
}

function handshakeFailure(addr: string, cause: unknown): ChannelProbeError {
  if (cause instanceof ForeignPeerError) {
    const why = cause.message.replace(/^Cannot dial "[^"]*": /, "");
    return new ChannelProbeError(addr, "foreign", { why, cause });
  }
  if (cause instanceof AuthenticationError) {
    return new ChannelProbeError(addr, "authentication", {
      why: `authentication failed: ${cause.reason}`,
      cause,
    });
  }
  if (
    cause instanceof Deno.errors.UnexpectedEof || cause instanceof Deno.errors.ConnectionReset ||
    cause instanceof Deno.errors.BrokenPipe
  ) {
    return new ChannelProbeError(addr, "hung-up", { cause });
  }
  if (cause instanceof ChannelError) {
    return new ChannelProbeError(addr, "unreachable", { why: cause.message, cause });
  }
  return new ChannelProbeError(addr, "unreachable", {
    why: `handshake failed (${(cause as Error)?.message ?? cause})`,
    cause,
  });
}
