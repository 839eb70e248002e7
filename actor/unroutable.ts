/**
 * The fallback sender of routers: it delivers nothing and bounces everything.
 *
 * A {@linkcode DialMailboxRouter} that finds no route hands the envelope to its
 * default sender; unless told otherwise that is {@linkcode UNROUTABLE_SENDER},
 * which returns it with `Unroutable("destination not found in routing table")`.
 *
 * @module
 */

import { bounce, type MailboxSender, type MessageEnvelope, type ReturnHandle } from "./envelope.ts";

/** The delivery-error text of {@linkcode UNROUTABLE_SENDER}. */
export const UNROUTABLE_MESSAGE = "destination not found in routing table";

/**
 * A sender that bounces every envelope with `Unroutable(message)`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, postEnvelope, type MessageEnvelope } from "./envelope.ts";
 * import { UnroutableMailboxSender } from "./unroutable.ts";
 * const returned: MessageEnvelope[] = [];
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:2,q,b[0][3]", type: "T", data: 0 });
 * postEnvelope(new UnroutableMailboxSender("nowhere"), e, (x) => returned.push(x));
 * assertEquals(returned[0].errors, [{ kind: "Unroutable", message: "nowhere" }]);
 * ```
 */
export class UnroutableMailboxSender implements MailboxSender {
  /** The text of the `Unroutable` error appended to every envelope. */
  readonly message: string;

  /**
   * Creates a sender that bounces with `Unroutable(message)`.
   * @param message The `Unroutable` error text (default: not found in routing table).
   */
  constructor(message: string = UNROUTABLE_MESSAGE) {
    this.message = message;
  }

  /**
   * Bounces `envelope` to `returnHandle` (never delivers).
   * @param envelope The envelope.
   * @param returnHandle Where the bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    bounce(envelope, { kind: "Unroutable", message: this.message }, returnHandle);
  }

  /**
   * Nothing to wait for.
   * @returns A resolved promise: nothing is ever in flight.
   */
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The shared default sender of routers: bounces with
 * `Unroutable("destination not found in routing table")`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope } from "./envelope.ts";
 * import { UNROUTABLE_SENDER } from "./unroutable.ts";
 * const returned: MessageEnvelope[] = [];
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:2,q,b[0][3]", type: "T", data: 0 });
 * UNROUTABLE_SENDER.postUnchecked(e, (x) => returned.push(x));
 * assertEquals(returned[0].errors[0].kind, "Unroutable");
 * ```
 */
export const UNROUTABLE_SENDER: UnroutableMailboxSender = new UnroutableMailboxSender();
