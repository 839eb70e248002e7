/**
 * Error types of the channel layer.
 *
 * @module
 */

/**
 * A message that could not be delivered, handed back to its sender through the
 * `onReturn` callback of {@linkcode ChannelTx.post} or as the rejection of
 * {@linkcode ChannelTx.send}.
 *
 * @typeParam M The message type.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SendError } from "./errors.ts";
 * const err = new SendError("closed", { n: 1 });
 * assertEquals([err.name, err.reason, err.payload], ["SendError", "closed", { n: 1 }]);
 * ```
 */
export class SendError<M = unknown> extends Error {
  /** Why delivery failed, e.g. `"closed"`, `"delivery timeout"`, `"server closed"`. */
  readonly reason: string;
  /** The undelivered message, exactly as posted. */
  readonly payload: M;
  /**
   * Creates the error.
   * @param reason Why delivery failed.
   * @param payload The undelivered message.
   * @param options `cause`.
   */
  constructor(reason: string, payload: M, options?: ErrorOptions) {
    super(`Cannot deliver message: ${reason}`, options);
    this.name = "SendError";
    this.reason = reason;
    this.payload = payload;
  }
}

/**
 * A channel could not be served or dialed: the address is in use, the
 * transport cannot bind that kind of address, permissions, and so on.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelError } from "./errors.ts";
 * const err = new ChannelError("serve", "local:7", "only local:0 can be served");
 * assertEquals(err.message, 'Cannot serve "local:7": only local:0 can be served');
 * assertEquals(err.addr, "local:7");
 * ```
 */
export class ChannelError extends Error {
  /** The address involved, in text form. */
  readonly addr: string;
  /** The failed action (`"serve"`, `"dial"`). */
  readonly action: string;
  /**
   * Creates the error.
   * @param action The failed action.
   * @param addr The address, in text form.
   * @param why The state that prevented it.
   * @param options `cause`.
   */
  constructor(action: string, addr: string, why: string, options?: ErrorOptions) {
    super(`Cannot ${action} "${addr}": ${why}`, options);
    this.name = "ChannelError";
    this.action = action;
    this.addr = addr;
  }
}

/**
 * A byte stream that does not follow the channel framing or session
 * protocol: malformed length prefix, oversize frame, unknown frame tag,
 * undecodable body, bad preamble, or EOF in the middle of a frame.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FrameError } from "./errors.ts";
 * assertEquals(new FrameError("oversize frame").message, "Cannot decode frame: oversize frame");
 * ```
 */
export class FrameError extends Error {
  /** What is wrong with the stream. */
  readonly reason: string;
  /**
   * Creates the error.
   * @param reason What is wrong with the stream.
   * @param options `cause`.
   */
  constructor(reason: string, options?: ErrorOptions) {
    super(`Cannot decode frame: ${reason}`, options);
    this.name = "FrameError";
    this.reason = reason;
  }
}

/**
 * A link whose peer did not prove the shared channel secret, or that could
 * not prove it to the peer (wrong or missing secret, a replayed or forged
 * handshake, or one side running without authentication). Terminal for the
 * sender: distinct from an unreachable peer, which is retried. Returned
 * messages carry it as the `cause` of their {@linkcode SendError}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AuthenticationError, ChannelError } from "./errors.ts";
 * const err = new AuthenticationError("tcp:10.0.0.1:26600", "no common secret");
 * assertEquals(err.message, 'Cannot authenticate "tcp:10.0.0.1:26600": authentication failed: no common secret');
 * assertEquals(err instanceof ChannelError, true);
 * ```
 */
export class AuthenticationError extends ChannelError {
  /** What failed. */
  readonly reason: string;
  /**
   * Creates the error.
   * @param addr The peer's address, in text form.
   * @param reason What failed.
   * @param options `cause`.
   */
  constructor(addr: string, reason: string, options?: ErrorOptions) {
    super("authenticate", addr, `authentication failed: ${reason}`, options);
    this.name = "AuthenticationError";
    this.reason = reason;
  }
}

/**
 * A peer that answered a dial in another protocol than hypermesh's channel
 * (an HTTP server, an ssh daemon, another program on the port): terminal
 * for the sender, like an {@linkcode AuthenticationError} (CH-12). The
 * message quotes the first bytes it sent, printable characters only.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelError, ForeignPeerError } from "./errors.ts";
 * const err = new ForeignPeerError("tcp:127.0.0.1:8080", "HTTP/1.1 400 Bad Request");
 * assertEquals(
 *   err.message,
 *   'Cannot dial "tcp:127.0.0.1:8080": the peer does not speak the hypermesh channel protocol (it answered "HTTP/1.1 400 Bad Request")',
 * );
 * assertEquals(err instanceof ChannelError, true);
 * ```
 */
export class ForeignPeerError extends ChannelError {
  /** The start of what the peer sent, printable characters only. */
  readonly answered: string;
  /**
   * Creates the error.
   * @param addr The peer's address, in text form.
   * @param answered The start of what the peer sent.
   * @param options `cause`.
   */
  constructor(addr: string, answered: string, options?: ErrorOptions) {
    super(
      "dial",
      addr,
      `the peer does not speak the hypermesh channel protocol (it answered "${answered}")`,
      options,
    );
    this.name = "ForeignPeerError";
    this.answered = answered;
  }
}
