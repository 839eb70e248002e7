/**
 * Folder-private test helpers for the transport unit tests: envelopes and
 * recording senders. Not part of the public surface.
 * @module
 */

import { createEnvelope, type MailboxSender, type MessageEnvelope } from "../envelope.ts";
import type { DialedSender } from "./dial_router.ts";

/**
 * An envelope from `local:1,client,c[0]` to `dest` carrying `data`.
 * @param dest Destination port text.
 * @param data Body.
 * @param returnUndeliverable Whether bounces are wanted.
 * @returns The envelope.
 */
export function testEnvelope(
  dest: string,
  data: unknown = 0,
  returnUndeliverable = true,
): MessageEnvelope {
  return createEnvelope({
    sender: "local:1,client,c[0]",
    dest,
    type: "Test",
    data,
    returnUndeliverable,
  });
}

/** A sender that records what it is given. */
export class RecordingSender implements MailboxSender {
  /** Every envelope posted, in order. */
  readonly envelopes: MessageEnvelope[] = [];
  /** How many times `flush()` was called. */
  flushes = 0;
  /**
   * @param envelope Recorded.
   */
  postUnchecked(envelope: MessageEnvelope): void {
    this.envelopes.push(envelope);
  }
  /** @returns Resolved. */
  flush(): Promise<void> {
    this.flushes++;
    return Promise.resolve();
  }
  /** The recorded bodies. */
  get data(): unknown[] {
    return this.envelopes.map((e) => e.data);
  }
}

/** A fake dialer recording dials, posts and closes per address. */
export class FakeDialer {
  /** Addresses dialed, in order. */
  readonly dials: string[] = [];
  /** `addr <- data` per post, in order. */
  readonly posts: string[] = [];
  /** Addresses whose client was closed, in order. */
  readonly closed: string[] = [];
  /** Addresses whose dial throws. */
  readonly failing = new Set<string>();
  /** The dialer function to hand to routers. */
  readonly dial = (addr: { key: string }): DialedSender => {
    this.dials.push(addr.key);
    if (this.failing.has(addr.key)) throw new Error(`Cannot dial "${addr.key}": refused`);
    let closed = false;
    return {
      postUnchecked: (e: MessageEnvelope) => {
        this.posts.push(`${addr.key} <- ${JSON.stringify(e.data)}`);
      },
      flush: () => Promise.resolve(),
      close: () => {
        if (!closed) this.closed.push(addr.key);
        closed = true;
        return Promise.resolve();
      },
    };
  };
}
