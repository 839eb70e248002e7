/**
 * The sender and receiver contracts shared by every transport.
 *
 * @module
 */

import type { ChannelAddr } from "./addr.ts";
import type { SendError } from "./errors.ts";
import type { WatchCell } from "./watch_cell.ts";

/**
 * The `Closed` reason of a net sender whose server stopped and said so
 * (CH-8): the peer shut down cleanly, as opposed to a delivery timeout, a
 * reject or a refused reconnect.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SERVER_CLOSED, type TxStatus } from "./types.ts";
 * const status: TxStatus = { kind: "Closed", reason: SERVER_CLOSED };
 * assertEquals(status.kind === "Closed" && status.reason === SERVER_CLOSED, true);
 * ```
 */
export const SERVER_CLOSED = "server closed";

/** Link status of a {@linkcode ChannelTx}: `Closed` is terminal. */
export type TxStatus = { kind: "Active" } | {
  kind: "Closed";
  reason: string;
  /**
   * Set when the link closed because authentication failed
   * (`AuthenticationError`) or the peer speaks another protocol
   * (`ForeignPeerError`, CH-12).
   */
  error?: import("./errors.ts").AuthenticationError | import("./errors.ts").ForeignPeerError;
};

/** Cancellation for waits. */
export interface ChannelWaitOptions {
  /** Ends the wait with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `serve()`. */
export interface ServeOptions extends ChannelWaitOptions {
  /**
   * `tcp:`/`tls:` only: listen on this address instead and report the
   * requested one as the server's address (AD-3), e.g. serve
   * `tcp:node7.cluster:26600` with `bind: "tcp:0.0.0.0:26600"`.
   */
  bind?: import("./addr.ts").ChannelAddr | string;
}

/**
 * The receiving end of a served channel: an async iterable of messages.
 *
 * @typeParam M The message type (plain JSON data, or `Uint8Array`).
 */
export interface ChannelServer<M> extends AsyncIterable<M>, AsyncDisposable {
  /** The address actually bound (real port, allocated local id, abstract name). */
  readonly addr: ChannelAddr;
  /**
   * Next message.
   * @param options Cancellation.
   * @returns The message, or `undefined` once closed and drained.
   */
  recv(options?: ChannelWaitOptions): Promise<M | undefined>;
  /**
   * Graceful stop: flushes acks, tells live sessions `Closed`, removes a unix
   * socket file. Messages already received stay readable. Idempotent.
   * @param options `beforeExit`: resolve once peers have all they will get
   * (CH-15).
   */
  close(options?: ChannelCloseOptions): Promise<void>;
}

/**
 * Options of `ChannelServer.close()`.
 *
 * @example
 * ```ts
 * import type { ChannelCloseOptions } from "./types.ts";
 * const lastClose: ChannelCloseOptions = { beforeExit: true };
 * ```
 */
export interface ChannelCloseOptions {
  /**
   * The process exits once the close resolves (CH-15): resolve as soon as
   * peers have everything they will get from this server (final acks and
   * `Closed` written, connections and listener closed, received messages
   * readable to the end), without waiting for the accept loop and the
   * connection handlers to unwind. A unix socket's file is left to the owner
   * of its directory (a proc's host removes it before it publishes the
   * proc's exit). A later `close()` without it still waits for everything
   * (and the runtime then removes the file). Default false.
   */
  beforeExit?: boolean;
}

/** Options of `dial()`. */
export interface DialOptions {
  /**
   * CH-9: once a connection was established, treat a refused reconnect
   * (nothing listens at the address any more: `ECONNREFUSED`, or a missing
   * unix socket file) as terminal — the sender turns `Closed` and returns
   * every pending message at once, instead of retrying until
   * `MESSAGE_DELIVERY_TIMEOUT`. Refusals before the first connection are
   * retried as usual (the peer may still be starting). For addresses that
   * identify one peer's lifetime (a proc's), where "refused after connected"
   * means "gone". Default false.
   */
  refusedIsTerminal?: boolean;
  /**
   * The secrets to prove (AU-2), primary first; `null` to dial without
   * authentication. Default: this process's keyring (`channelSecrets()`),
   * read at each connect.
   */
  secrets?: readonly import("./secret.ts").ChannelSecret[] | null;
}

/**
 * The sending end of a channel.
 *
 * @typeParam M The message type (plain JSON data, or `Uint8Array`).
 */
export interface ChannelTx<M> extends AsyncDisposable {
  /** The dialed address. */
  readonly addr: ChannelAddr;
  /**
   * Enqueues `message`; never throws. Messages arrive in post order.
   * @param message The message. Do not mutate it after posting.
   * @param onReturn Called exactly once with the message if delivery is known
   * to have failed.
   */
  post(message: M, onReturn?: (error: SendError<M>) => void): void;
  /**
   * Posts and waits for the receiver's acknowledgement (net) or enqueueing
   * (local).
   * @param message The message.
   * @returns Resolves once acknowledged.
   * @throws {SendError} When delivery failed.
   */
  send(message: M): Promise<void>;
  /** `Active`, then `Closed` with a reason (terminal). */
  readonly status: WatchCell<TxStatus>;
  /**
   * Waits until everything posted so far is acknowledged or returned.
   * @returns Resolves then; never rejects.
   */
  flush(): Promise<void>;
  /** Closes the sender; unacknowledged and queued messages are returned with reason `"closed"`. */
  close(): Promise<void>;
  /**
   * Optional: opens the link now instead of at the first message (CH-10),
   * so the first message does not pay for the connection and handshake.
   * A link that later breaks is reopened lazily, as usual.
   */
  connect?(): void;
}
