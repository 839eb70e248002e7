/**
 * Folder-private: the {@linkcode Context} / {@linkcode ClientInstance}
 * implementation over a cell, and the handle of a spawned actor.
 * @module
 */

import type { WatchCell } from "../channel/watch_cell.ts";
import { raceAbort } from "../internal/abort.ts";
import { createEnvelope, type HeaderValue, type MessageEnvelope } from "./envelope.ts";
import type { ActorId } from "./reference.ts";
import type { Actor } from "./actor.ts";
import { ActorRef, type PortRefData, type SendOptions } from "./port.ts";
import type { OncePortReceiver, PortReceiver } from "./mailbox.ts";
import { OncePortRef, PortRef } from "./port.ts";
import type { ActorStatus } from "./status.ts";
import type { ActorHandle, ClientInstance } from "./instance.ts";
import type { Proc } from "./proc.ts";

import type { ActorCell } from "./_cell.ts";
import type { InstanceCell } from "./_instance_cell.ts";

/** The {@linkcode Context} / {@linkcode ClientInstance} implementation. */
export class InstanceContext implements ClientInstance {
  readonly #cell: InstanceCell;
  #selfRef: ActorRef | undefined;
  #undeliverables: PortReceiver<MessageEnvelope> | undefined;

  constructor(cell: InstanceCell) {
    this.#cell = cell;
  }

  get self(): ActorId {
    return this.#cell.id;
  }

  get selfRef(): ActorRef {
    return (this.#selfRef ??= new ActorRef(this.#cell.id));
  }

  get proc(): Proc {
    return this.#cell.core.proc;
  }

  get status(): WatchCell<ActorStatus> {
    return this.#cell.status;
  }

  get headers(): Readonly<Record<string, HeaderValue>> {
    return this.#cell.headers;
  }

  get undeliverables(): PortReceiver<MessageEnvelope> {
    if (this.#undeliverables === undefined) {
      throw new Error(`Cannot read undeliverables: ${this.#cell.id.key} is not a client instance`);
    }
    return this.#undeliverables;
  }

  /** Binds the client's undeliverable port to a receiver (clients only). */
  bindUndeliverables(receiver: PortReceiver<MessageEnvelope>): void {
    this.#undeliverables = receiver;
  }

  postMessage(
    dest: string,
    type: string,
    data: unknown,
    returnUndeliverable: boolean,
    options?: SendOptions,
  ): void {
    const envelope = createEnvelope({
      sender: this.#cell.id.key,
      dest,
      type,
      data,
      headers: options?.headers,
      returnUndeliverable,
    });
    this.#cell.core.post(envelope, this.#cell.returnHandle);
  }

  send<M>(port: PortRefData<M>, msg: M, options?: SendOptions): void {
    if (port instanceof PortRef || port instanceof OncePortRef) {
      port.send(this, msg, options);
      return;
    }
    PortRef.from(port).send(this, msg, options);
  }

  spawn<C extends Actor>(nameOrActor: string | C, maybeActor?: C): ActorHandle<C> {
    const [name, actor] = typeof nameOrActor === "string"
      ? [nameOrActor, maybeActor]
      : [undefined, nameOrActor];
    if (actor === undefined || actor === null || typeof actor !== "object") {
      throw new TypeError(`Invalid actor: ${String(actor)}`);
    }
    return handleOf<C>(this.#cell.core.spawnChild(this.#cell, name, actor));
  }

  openPort<M>(): { ref: PortRef<M>; receiver: PortReceiver<M> } {
    return this.#cell.mailbox.openPort<M>();
  }

  openOncePort<M>(): { ref: OncePortRef<M>; receiver: OncePortReceiver<M> } {
    return this.#cell.mailbox.openOncePort<M>();
  }

  selfMessageWithDelay(type: string, msg: unknown, options: { delayMs: number }): void {
    const { delayMs } = options;
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`Invalid delayMs: ${delayMs}`);
    }
    this.#cell.selfMessageWithDelay(type, msg, delayMs);
  }

  stop(reason = "stopped"): void {
    this.#cell.requestStop("DrainAndStop", reason);
  }

  [Symbol.dispose](): void {
    this.#cell.finishClient("client dropped");
  }
}

/**
 * The handle of a spawned actor.
 * @param cell The actor's cell.
 * @returns Its handle.
 */
export function handleOf<A extends Actor>(cell: ActorCell): ActorHandle<A> {
  const ref = new ActorRef<A>(cell.id);
  return {
    actorId: cell.id,
    ref,
    status: cell.status,
    stop: (reason = "stopped") => cell.requestStop("DrainAndStop", reason),
    wait: async (options = {}) => {
      await raceAbort(cell.done, options.signal);
      return cell.status.get();
    },
    bind: () => ref,
  };
}
