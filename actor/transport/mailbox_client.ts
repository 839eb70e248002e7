/**
 * `MailboxClient`: a {@linkcode MailboxSender} that posts envelopes over a
 * dialed channel.
 *
 * The client is an ordered buffer in front of a `ChannelTx<MessageEnvelope>`:
 * envelopes go on the wire in post order, and an envelope the channel gives
 * back (link closed, delivery timeout, peer rejected the session) is bounced to
 * the return handle it was posted with, as `BrokenLink("failed to enqueue in
 * MailboxClient <addr>: <reason>")`. A background watcher warns when the link
 * turns `Closed` abnormally (delivery timeout, reject, refused reconnect); a
 * peer that shut down cleanly (its server said `Closed`, reason
 * `SERVER_CLOSED`) is normal teardown and silent unless `HYPERMESH_DEBUG=1`
 * (then a `console.debug` line). The client stays usable in the sense that
 * every later post is bounced the same way (the channel returns it at once).
 *
 * ## Invariants (MB-*)
 * - **MB-13 (client returns).** Every envelope posted to a
 *   {@linkcode MailboxClient} is either acknowledged by the peer or bounced
 *   with `BrokenLink` to its own return handle (subject to MB-2); after
 *   `close()` posts bounce immediately.
 * - **MB-14 (client flush).** `flush()` resolves only after every envelope
 *   posted before the call was acknowledged or returned.
 *
 * @module
 */

import { type ChannelTx, dial, type SendError, SERVER_CLOSED } from "../../channel/mod.ts";
import type { ChannelAddr } from "../../channel/addr.ts";
import {
  bounce,
  type MailboxSender,
  type MessageEnvelope,
  type ReturnHandle,
} from "../envelope.ts";

/**
 * Posts envelopes over a channel transmitter, bouncing what the channel returns.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../../channel/addr.ts";
 * import { WatchCell } from "../../channel/watch_cell.ts";
 * import { createEnvelope, type MessageEnvelope } from "../envelope.ts";
 * import { MailboxClient } from "./mailbox_client.ts";
 *
 * // A stand-in transmitter whose link is already down: it returns everything.
 * const status = new WatchCell<{ kind: "Active" } | { kind: "Closed"; reason: string }>(
 *   { kind: "Closed", reason: "peer gone" },
 * );
 * const tx = {
 *   addr: ChannelAddr.local(9),
 *   status,
 *   post(m: MessageEnvelope, onReturn?: (e: { reason: string; payload: MessageEnvelope }) => void) {
 *     onReturn?.({ reason: "peer gone", payload: m });
 *   },
 *   send: () => Promise.resolve(),
 *   flush: () => Promise.resolve(),
 *   close: () => Promise.resolve(status.close()),
 *   [Symbol.asyncDispose]: () => Promise.resolve(status.close()),
 * };
 * // deno-lint-ignore no-explicit-any
 * await using client = new MailboxClient(tx as any, { quiet: true });
 * const returned: MessageEnvelope[] = [];
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:9,q,b[0][3]", type: "T", data: 0 });
 * client.postUnchecked(e, (x) => returned.push(x));
 * assertEquals(returned[0].errors[0].kind, "BrokenLink");
 * ```
 */
export class MailboxClient implements MailboxSender, AsyncDisposable {
  readonly #tx: ChannelTx<MessageEnvelope>;
  readonly #watcherStop = new AbortController();
  readonly #watcher: Promise<void>;
  readonly #quiet: boolean;
  #closing: Promise<void> | undefined;
  #logged = false;

  /**
   * Wraps a transmitter (the client owns it from now on and closes it in `close()`).
   * @param tx A channel transmitter of envelopes.
   * @param options `quiet` suppresses the log line when the link closes.
   */
  constructor(tx: ChannelTx<MessageEnvelope>, options: MailboxClientOptions = {}) {
    this.#tx = tx;
    this.#quiet = options.quiet ?? false;
    this.#watcher = this.#watchStatus();
  }

  /**
   * Dials `addr` lazily (nothing connects until the first post) and wraps the
   * link. A refused reconnect means the peer is gone: the link closes and
   * everything pending bounces at once (MB-13, channel CH-9).
   * @param addr Where the peer's mailbox server listens.
   * @param options See {@linkcode MailboxClientOptions}.
   * @returns The client.
   * @throws Whatever `dial` throws for an address that can never be dialed
   * (e.g. an unserved `local:` port).
   * @example
   * ```ts ignore
   * await using client = MailboxClient.dial("unix:/tmp/proc.sock");
   * ```
   */
  static dial(addr: ChannelAddr | string, options: MailboxClientOptions = {}): MailboxClient {
    // CH-9: a proc's address is its identity: refused after connected = gone,
    // so pending envelopes bounce now rather than after the delivery timeout.
    return new MailboxClient(dial<MessageEnvelope>(addr, { refusedIsTerminal: true }), options);
  }

  /** The peer's address. */
  get addr(): ChannelAddr {
    return this.#tx.addr;
  }

  /** Whether the underlying link reported `Closed` (or the client was closed). */
  get linkClosed(): boolean {
    return this.#closing !== undefined || this.#tx.status.get().kind === "Closed";
  }

  /**
   * Posts `envelope` on the link; a returned envelope is bounced with
   * `BrokenLink` to `returnHandle` (MB-13). Never throws.
   * @param envelope The envelope (TTL already accounted by the caller).
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    if (this.#closing) {
      this.#bounce(envelope, "client closed", returnHandle); // MB-13
      return;
    }
    try {
      this.#tx.post(envelope, (error: SendError<MessageEnvelope>) => {
        this.#bounce(envelope, describeReason(error), returnHandle); // MB-13
      });
    } catch (cause) {
      this.#bounce(envelope, describeReason(cause), returnHandle); // MB-13
    }
  }

  /**
   * Waits until everything posted so far was acknowledged or returned (MB-14).
   * @returns Resolves when the link has nothing outstanding.
   */
  async flush(): Promise<void> {
    await this.#tx.flush(); // MB-14
  }

  /**
   * Opens the link now rather than at the first envelope (CH-10), when the
   * channel supports it.
   */
  connect(): void {
    this.#tx.connect?.();
  }

  /**
   * Closes the link; envelopes still outstanding are returned (bounced). Idempotent.
   * @returns Resolves once the link is closed and the watcher ended.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const status = this.#tx.status.get();
    if (status.kind === "Closed") this.#logClosed(status.reason); // closed before we closed it
    // Set before closing the link: its returns are bounced synchronously and a
    // bounce may post here again (it must bounce too, MB-13).
    let done!: () => void;
    this.#closing = new Promise<void>((resolve) => (done = resolve));
    (async () => {
      try {
        await this.#tx.close();
      } catch {
        // a transmitter's close never matters beyond this point
      } finally {
        // A closed link turned `Closed`: the watcher sees it and ends by itself.
        // Abort only a watcher still waiting (an abort dispatches an event:
        // 0.1–0.2 ms of CPU the first time in a process, on every proc's stop).
        if (this.#tx.status.get().kind !== "Closed") this.#watcherStop.abort(CLOSED_BY_OWNER);
        await this.#watcher;
        done();
      }
    })();
    return this.#closing;
  }

  /** Same as {@linkcode MailboxClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #bounce(envelope: MessageEnvelope, reason: string, returnHandle: ReturnHandle): void {
    bounce(envelope, {
      kind: "BrokenLink",
      message: `failed to enqueue in MailboxClient ${this.#tx.addr}: ${reason}`,
    }, returnHandle);
  }

  #logClosed(reason: string): void {
    if (this.#quiet || this.#logged) return;
    this.#logged = true;
    const line = `hypermesh: MailboxClient link to ${this.#tx.addr} closed: ${reason}`;
    // The peer shut down cleanly (its server said Closed): normal teardown, not
    // worth a warning. Timeouts, rejects and refusals still warn.
    if (reason !== SERVER_CLOSED) console.warn(line);
    else if (debugEnabled()) console.debug(line);
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.#tx.status.watch({ signal: this.#watcherStop.signal })) {
        if (status.kind !== "Closed") continue;
        if (this.#closing === undefined) this.#logClosed(status.reason);
        return;
      }
    } catch {
      // Aborted by close(): nothing to report.
    }
  }
}

/**
 * Why the status watcher stops when the client closes. A plain string: an
 * `abort()` without a reason builds a `DOMException` (0.2–0.4 ms of CPU the
 * first time in a process, measured), and the watcher ignores the reason.
 */
const CLOSED_BY_OWNER = "mailbox client closed";

/** Options of {@linkcode MailboxClient}. */
export interface MailboxClientOptions {
  /** Do not log when the link turns `Closed` (default false). */
  quiet?: boolean;
}

function describeReason(error: unknown): string {
  const reason = (error as { reason?: unknown } | null)?.reason;
  if (typeof reason === "string" && reason !== "") return reason;
  return error instanceof Error ? error.message : String(error);
}

/** `HYPERMESH_DEBUG=1` prints clean link closes too (read once; no env permission: off). */
let debug: boolean | undefined;
function debugEnabled(): boolean {
  if (debug === undefined) {
    try {
      const value = Deno.env.get("HYPERMESH_DEBUG");
      debug = value !== undefined && value !== "" && value !== "0";
    } catch {
      debug = false;
    }
  }
  return debug;
}
