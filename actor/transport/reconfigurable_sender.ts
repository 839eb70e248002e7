/**
 * `ReconfigurableMailboxSender`: a sender that queues until it is configured
 * with the real one, then relays (the proc agent's v0 forwarder).
 *
 * ## Invariants (MB-*)
 * - **MB-12 (reconfigurable ordering).** Envelopes posted before
 *   `configure()` reach the configured sender in post order, all before any
 *   envelope posted after `configure()`; after that posts are relayed
 *   directly, in order.
 * - **MB-20 (configure once).** Only the first `configure()` installs a
 *   sender; later calls return `false` and change nothing.
 *
 * @module
 */

import {
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
  type ReturnHandle,
} from "../envelope.ts";

/**
 * Queues posts until {@linkcode ReconfigurableMailboxSender.configure}, then relays.
 *
 * Both queued and relayed envelopes enter the configured sender through
 * `postEnvelope` (one hop each, so the TTL counts this sender as a hop either way).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, postEnvelope, type MessageEnvelope } from "../envelope.ts";
 * import { ReconfigurableMailboxSender } from "./reconfigurable_sender.ts";
 *
 * const got: unknown[] = [];
 * const sender = new ReconfigurableMailboxSender();
 * const post = (data: number) =>
 *   postEnvelope(sender, createEnvelope({ sender: "local:1,p,a[0]", dest: "local:1,p,b[0][1]", type: "T", data }), () => {});
 * post(1);
 * assertEquals(got, []);
 * assertEquals(sender.configure({ postUnchecked: (e: MessageEnvelope) => got.push(e.data) }), true);
 * post(2);
 * assertEquals(got, [1, 2]);
 * ```
 */
export class ReconfigurableMailboxSender implements MailboxSender {
  #queue: Array<[MessageEnvelope, ReturnHandle]> | undefined = [];
  #sender: MailboxSender | undefined;

  /** Whether {@linkcode ReconfigurableMailboxSender.configure} has succeeded. */
  get configured(): boolean {
    return this.#sender !== undefined;
  }

  /** The configured sender, if any. */
  get sender(): MailboxSender | undefined {
    return this.#sender;
  }

  /** How many envelopes are queued (0 once configured). */
  get queued(): number {
    return this.#queue?.length ?? 0;
  }

  /**
   * Installs `sender` and flushes the queue into it in order (MB-12).
   * @param sender The real sender.
   * @returns `true` if installed, `false` if already configured (MB-20).
   */
  configure(sender: MailboxSender): boolean {
    if (this.#sender !== undefined) return false; // MB-20
    this.#sender = sender;
    const queue = this.#queue!;
    this.#queue = undefined;
    // MB-12: the queue drains before configure() returns, so nothing posted
    // afterwards can overtake it (JS is single-threaded; a post made from
    // inside a relayed call lands after the queued ones already handed over).
    for (const [envelope, returnHandle] of queue) postEnvelope(sender, envelope, returnHandle);
    return true;
  }

  /**
   * Queues `envelope`, or relays it when configured (MB-12).
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    if (this.#sender === undefined) {
      this.#queue!.push([envelope, returnHandle]);
      return;
    }
    postEnvelope(this.#sender, envelope, returnHandle);
  }

  /**
   * Flushes the configured sender; while queueing there is nothing in flight
   * and this resolves at once.
   * @returns Resolves when the configured sender flushed.
   */
  async flush(): Promise<void> {
    await this.#sender?.flush?.();
  }
}
