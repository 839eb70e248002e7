/**
 * `serveMailbox`: feeds the envelopes a channel server receives into a
 * {@linkcode MailboxSender} (usually a proc or a host router), and carries
 * failures back to their senders.
 *
 * Each received value is checked with {@linkcode isMessageEnvelope}: anything
 * else is logged and dropped. A valid envelope is posted with the server's own
 * return handle. An envelope that comes back to that handle gets
 * `BrokenLink("message was undeliverable")` appended and travels, wrapped in an
 * `Undeliverable` message (type {@linkcode UNDELIVERABLE_TYPE}, data = the
 * returned envelope), to the original sender's well-known undeliverable port
 * {@linkcode undeliverablePortOf}, routed through the same sender. That
 * message is itself posted with `returnUndeliverable: false`, so an
 * undeliverable of an undeliverable is never bounced again.
 *
 * ## Invariants (MB-*)
 * - **MB-11 (undeliverable never vanishes).** An envelope received by a
 *   mailbox server that cannot be delivered and has `returnUndeliverable`
 *   set is posted, as an `Undeliverable` message, to its sender's
 *   undeliverable port through the same sender; it is never silently
 *   dropped at the server.
 * - **MB-15 (no bounce loops).** An `Undeliverable` message is posted with
 *   `returnUndeliverable: false`, so if it cannot be delivered either it is
 *   dropped (MB-2); one that comes back anyway is logged and dropped.
 * - **MB-16 (garbage-proof).** A received value that is not an envelope is
 *   logged and dropped; the serving loop goes on.
 * - **MB-17 (stop drains).** `stop()` closes the channel server (no new
 *   messages; acknowledgements flushed); envelopes it had already received
 *   are still delivered, then the loop ends and `done` resolves. `done`
 *   never rejects.
 *
 * @module
 */

import type { ChannelCloseOptions, ChannelServer } from "../../channel/mod.ts";
import { actorKeyOf, handlerPortIndex } from "../reference.ts";
import {
  createEnvelope,
  describeEnvelope,
  isMessageEnvelope,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
  type ReturnHandle,
} from "../envelope.ts";

/** Message type name of an undeliverable-envelope notification. */
export const UNDELIVERABLE_TYPE = "Undeliverable";

const UNDELIVERABLE_PORT_INDEX = handlerPortIndex(UNDELIVERABLE_TYPE);

/**
 * The well-known port an actor receives its `Undeliverable` messages on.
 * @param senderActorKey An actor id's canonical text (a port id's text is
 * reduced to its actor).
 * @returns `${actor key}[${handlerPortIndex("Undeliverable")}]`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { handlerPortIndex } from "../reference.ts";
 * import { undeliverablePortOf } from "./mailbox_server.ts";
 * assertEquals(
 *   undeliverablePortOf("local:1,p,a[0]"),
 *   `local:1,p,a[0][${handlerPortIndex("Undeliverable")}]`,
 * );
 * ```
 */
export function undeliverablePortOf(senderActorKey: string): string {
  return `${actorKeyOf(senderActorKey)}[${UNDELIVERABLE_PORT_INDEX}]`;
}

/**
 * Wraps a returned envelope as an `Undeliverable` message to its sender's
 * undeliverable port (MB-15: never itself returned).
 * @param returned The envelope that could not be delivered.
 * @returns The notification envelope.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope } from "../envelope.ts";
 * import { undeliverableEnvelope, UNDELIVERABLE_TYPE } from "./mailbox_server.ts";
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:2,q,b[0][3]", type: "T", data: 0 });
 * const u = undeliverableEnvelope(e);
 * assertEquals([u.type, u.returnUndeliverable, u.data], [UNDELIVERABLE_TYPE, false, e]);
 * ```
 */
export function undeliverableEnvelope(returned: MessageEnvelope): MessageEnvelope {
  return createEnvelope({
    sender: returned.sender,
    dest: undeliverablePortOf(returned.sender),
    type: UNDELIVERABLE_TYPE,
    data: returned,
    returnUndeliverable: false, // MB-15
  });
}

/** A running mailbox server loop. */
export interface MailboxServerHandle extends AsyncDisposable {
  /**
   * Ends the loop and closes the channel server so pending acks flush (MB-17).
   * Idempotent: only the first call's reason and options are kept.
   * @param reason Why (for logs).
   * @param options `beforeExit`: the process exits once `done` settles, so
   * the server is closed with `beforeExit` (CH-15): `done` waits neither for
   * its accept loop nor for its connection handlers to unwind.
   */
  stop(reason: string, options?: ChannelCloseOptions): void;
  /**
   * Settles once the loop ended (every received envelope delivered) and the
   * channel server is closed (with `beforeExit`: closed as far as its peers
   * can see); never rejects.
   */
  readonly done: Promise<void>;
  /** The reason given to the first `stop()`, if any. */
  readonly stopReason: string | undefined;
}

/**
 * Serves `server` into `sender` until the server closes or `stop()` is called.
 *
 * @param server A channel server of envelopes (owned by the loop from now on:
 * it is closed when the loop ends).
 * @param sender Where received envelopes go (a proc, a router, a forwarder).
 * @returns The loop's handle.
 * @example
 * ```ts ignore
 * import { serve } from "../../channel/mod.ts";
 * await using handle = serveMailbox(await serve("unix:/tmp/p.sock"), proc);
 * ```
 */
export function serveMailbox(
  server: ChannelServer<MessageEnvelope>,
  sender: MailboxSender,
): MailboxServerHandle {
  return new ServerLoop(server, sender);
}

class ServerLoop implements MailboxServerHandle {
  readonly done: Promise<void>;
  #reason: string | undefined;
  #closing: Promise<void> | undefined;
  readonly #server: ChannelServer<MessageEnvelope>;
  readonly #sender: MailboxSender;
  readonly #returnHandle: ReturnHandle;

  constructor(server: ChannelServer<MessageEnvelope>, sender: MailboxSender) {
    this.#server = server;
    this.#sender = sender;
    this.#returnHandle = (returned) => this.#onReturned(returned);
    this.done = this.#run();
  }

  get stopReason(): string | undefined {
    return this.#reason;
  }

  stop(reason: string, options: ChannelCloseOptions = {}): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#close(options); // MB-17: recv() drains what was received, then yields undefined
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stop("disposed");
    await this.done;
  }

  #close(options: ChannelCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#server.close(options).catch((error) => {
      console.error(`hypermesh: closing mailbox server on ${this.#server.addr}:`, error);
    });
    return this.#closing;
  }

  async #run(): Promise<void> {
    try {
      while (true) {
        let value: unknown;
        try {
          value = await this.#server.recv();
        } catch (error) {
          console.error(`hypermesh: mailbox server on ${this.#server.addr} failed:`, error);
          break;
        }
        if (value === undefined) break; // closed and drained: normal end
        this.#deliver(value);
      }
    } finally {
      await this.#close(); // MB-17
    }
  }

  #deliver(value: unknown): void {
    if (!isMessageEnvelope(value)) {
      // MB-16
      console.error(
        `hypermesh: mailbox server on ${this.#server.addr} dropped a non-envelope:`,
        preview(value),
      );
      return;
    }
    try {
      postEnvelope(this.#sender, value, this.#returnHandle);
    } catch (error) {
      // A sender broke its contract (postUnchecked must not throw): contain it.
      console.error(`hypermesh: sender threw on ${describeEnvelope(value)}:`, error);
    }
  }

  #onReturned(returned: MessageEnvelope): void {
    returned.errors.push({ kind: "BrokenLink", message: "message was undeliverable" });
    if (returned.type === UNDELIVERABLE_TYPE) {
      // MB-15: an undeliverable of an undeliverable is logged and dropped.
      console.error(`hypermesh: dropping returned undeliverable ${describeEnvelope(returned)}`);
      return;
    }
    try {
      postEnvelope(this.#sender, undeliverableEnvelope(returned), logDropped); // MB-11
    } catch (error) {
      console.error(`hypermesh: dropping undeliverable ${describeEnvelope(returned)}:`, error);
    }
  }
}

function logDropped(envelope: MessageEnvelope): void {
  console.error(`hypermesh: dropping undeliverable ${describeEnvelope(envelope)}`);
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
