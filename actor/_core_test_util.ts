/**
 * Folder-private test helpers for the actor core: an in-memory network of
 * procs whose envelopes cross a JSON round trip, as they would a channel.
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import {
  bounce,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
  type ReturnHandle,
} from "./envelope.ts";
import { ProcId, procKeyOf } from "./reference.ts";
import { Proc } from "./proc.ts";
import type { ProcOptions } from "./types.ts";

/** Routes envelopes to registered procs by proc key, JSON-copying each one. */
export class MemoryNet implements MailboxSender {
  readonly #procs = new Map<string, Proc>();
  #next = 900;
  /** Envelopes that crossed the net. */
  crossed = 0;

  /**
   * Creates a proc attached to this net.
   * @param name Proc name.
   * @param options Proc options.
   * @returns The proc.
   */
  proc(name: string, options?: ProcOptions): Proc {
    const proc = new Proc(new ProcId(ChannelAddr.local(this.#next++), name), this, options);
    this.#procs.set(proc.procId.key, proc);
    return proc;
  }

  /**
   * Detaches a proc (its traffic becomes unroutable).
   * @param proc The proc.
   */
  remove(proc: Proc): void {
    this.#procs.delete(proc.procId.key);
  }

  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    const proc = this.#procs.get(procKeyOf(envelope.dest));
    if (proc === undefined) {
      bounce(envelope, { kind: "Unroutable", message: "no such proc in memory net" }, returnHandle);
      return;
    }
    this.crossed++;
    const copy = JSON.parse(JSON.stringify(envelope)) as MessageEnvelope;
    postEnvelope(proc, copy, returnHandle);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
