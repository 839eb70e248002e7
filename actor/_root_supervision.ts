/**
 * Folder-private: where a proc sends the supervision events of its root
 * actors — the supervision coordinator when one is set, else the proc's
 * unhandled-event policy (`"log"`: log and publish; `"exit"`: exit 1).
 *
 * ## Invariants (MB-*)
 * Enforced here, promised by `proc.ts`:
 * - **MB-34 (no crash).** Actor failures never reject a proc method; a root
 *   failure without a supervision coordinator is logged and published on
 *   `Proc.unhandledSupervisionEvents`, or exits the process with code 1
 *   under the `"exit"` policy.
 * @module
 */

import type { WatchCell } from "../channel/watch_cell.ts";
import { createEnvelope, type MailboxSender, postEnvelope, type ReturnHandle } from "./envelope.ts";
import { PortRef, type PortRefData } from "./port.ts";
import {
  type ActorSupervisionEvent,
  describeSupervisionEvent,
  isError,
  SUPERVISION_EVENT_TYPE,
} from "./supervision.ts";
import type { UnhandledSupervisionPolicy } from "./types.ts";

/** A proc's root supervision: its coordinator (set once) and its policy. */
export class RootSupervision {
  readonly #proc: MailboxSender;
  readonly #key: string;
  readonly #policy: UnhandledSupervisionPolicy;
  readonly #unhandled: WatchCell<ActorSupervisionEvent | undefined>;
  readonly #dropHandle: ReturnHandle;
  #coordinator: PortRef<ActorSupervisionEvent> | undefined;

  /**
   * Creates the routing of one proc.
   * @param proc The proc (events to the coordinator are posted through it).
   * @param key The proc's key, for messages.
   * @param policy What to do without a coordinator.
   * @param unhandled Where uncoordinated failures are published.
   */
  constructor(
    proc: MailboxSender,
    key: string,
    policy: UnhandledSupervisionPolicy,
    unhandled: WatchCell<ActorSupervisionEvent | undefined>,
  ) {
    this.#proc = proc;
    this.#key = key;
    this.#policy = policy;
    this.#unhandled = unhandled;
    this.#dropHandle = (e) =>
      console.error(`hypermesh: dropping undeliverable supervision event to ${e.dest}`);
  }

  /** The coordinator port, if set. */
  get coordinator(): PortRef<ActorSupervisionEvent> | undefined {
    return this.#coordinator;
  }

  /**
   * Sets the coordinator (once).
   * @param port A port accepting `ActorSupervisionEvent`.
   * @throws {Error} When already set.
   */
  setCoordinator(port: PortRefData<ActorSupervisionEvent>): void {
    if (this.#coordinator !== undefined) {
      throw new Error(
        `Cannot set supervision coordinator of ${this.#key}: already set to ${this.#coordinator.port}`,
      );
    }
    this.#coordinator = PortRef.from(port);
  }

  /**
   * Routes a root actor's event: to the coordinator, else (errors only) the
   * policy (MB-34).
   * @param event The event.
   */
  route(event: ActorSupervisionEvent): void {
    const coordinator = this.#coordinator;
    if (coordinator !== undefined) {
      const envelope = createEnvelope({
        sender: event.actorId,
        dest: coordinator.port,
        type: SUPERVISION_EVENT_TYPE,
        data: event,
        returnUndeliverable: false,
      });
      postEnvelope(this.#proc, envelope, this.#dropHandle);
      return;
    }
    if (!isError(event)) return;
    console.error(
      `hypermesh: unhandled supervision event in ${this.#key}: ${describeSupervisionEvent(event)}`,
    );
    if (this.#policy === "exit") Deno.exit(1); // MB-34: Monarch's crash policy
    if (!this.#unhandled.closed) this.#unhandled.set(event);
  }
}
