/**
 * `ProcOrDialSender`: the host's forwarder. Envelopes for the host's own procs
 * (the service proc, the local proc) are delivered in-process; everything
 * else goes to the host's router.
 *
 * ## Invariants (MB-*)
 * - **MB-21 (local first).** An envelope whose destination proc is registered
 *   with {@linkcode ProcOrDialSender.addLocal} is posted to that proc's
 *   sender and never to the router.
 *
 * @module
 */

import type { MailboxSender, MessageEnvelope, ReturnHandle } from "../envelope.ts";
import { type ProcId, procKeyOf } from "../reference.ts";

/**
 * Delivers to registered local procs in-process, otherwise to a router.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope } from "../envelope.ts";
 * import { ProcOrDialSender } from "./proc_or_dial.ts";
 *
 * const seen: string[] = [];
 * const forwarder = new ProcOrDialSender({ postUnchecked: () => seen.push("router") });
 * forwarder.addLocal("unix:@h,service", { postUnchecked: () => seen.push("service") });
 * const post = (dest: string) =>
 *   forwarder.postUnchecked(createEnvelope({ sender: "local:1,c,a[0]", dest, type: "T", data: 0 }), () => {});
 * post("unix:@h,service,host_agent[0][9]");
 * post("unix:@h,service2,x[0][9]");
 * assertEquals(seen, ["service", "router"]);
 * ```
 */
export class ProcOrDialSender implements MailboxSender {
  readonly #router: MailboxSender;
  readonly #locals = new Map<string, MailboxSender>();

  /**
   * Creates the forwarder.
   * @param router Where envelopes for non-local procs go (a `DialMailboxRouter`).
   * @param locals Initial local procs: `[proc id or key, sender]` pairs.
   */
  constructor(router: MailboxSender, locals: Iterable<[ProcId | string, MailboxSender]> = []) {
    this.#router = router;
    for (const [proc, sender] of locals) this.addLocal(proc, sender);
  }

  /** The fallback router. */
  get router(): MailboxSender {
    return this.#router;
  }

  /**
   * Registers (or replaces) an in-process proc.
   * @param proc The proc's id or canonical key.
   * @param sender The proc (anything that accepts envelopes for it).
   * @throws {TypeError} For a key that is not a proc key.
   */
  addLocal(proc: ProcId | string, sender: MailboxSender): void {
    const key = typeof proc === "string" ? proc : proc.key;
    if (procKeyOf(key) !== key || !key.includes(",")) {
      throw new TypeError(`Invalid proc key: "${key}"`);
    }
    this.#locals.set(key, sender);
  }

  /**
   * Unregisters an in-process proc.
   * @param proc The proc's id or canonical key.
   * @returns Whether it was registered.
   */
  removeLocal(proc: ProcId | string): boolean {
    return this.#locals.delete(typeof proc === "string" ? proc : proc.key);
  }

  /**
   * Posts to the local proc owning the destination, else to the router (MB-21).
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    const local = this.#locals.get(procKeyOf(envelope.dest)); // MB-21
    (local ?? this.#router).postUnchecked(envelope, returnHandle);
  }

  /**
   * Flushes the router and every local proc.
   * @returns Resolves when all flushed.
   */
  async flush(): Promise<void> {
    await Promise.all([this.#router, ...this.#locals.values()].map((s) => s.flush?.()));
  }
}
