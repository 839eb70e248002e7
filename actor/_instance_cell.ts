/**
 * Folder-private: the state shared by actors and client instances (the
 * base cell: id, mailbox, status, children, undeliverable return path),
 * what a cell needs from its proc, the {@linkcode Context} /
 * {@linkcode ClientInstance} implementation over a cell, and the handle of a
 * spawned actor. The actor cell and its message loop extend this in
 * `_cell.ts`.
 * @module
 */

import { WatchCell } from "../channel/watch_cell.ts";
import { raceAbort } from "../internal/abort.ts";
import {
  createEnvelope,
  type HeaderValue,
  type MessageEnvelope,
  type ReturnHandle,
} from "./envelope.ts";
import type { ActorId, ProcId } from "./reference.ts";
import type { Actor, ActorHandle, ClientInstance } from "./types.ts";
import { ActorRef, OncePortRef, PortRef, type PortRefData, type SendOptions } from "./port.ts";
import { Mailbox, type OncePortReceiver, type PortReceiver } from "./mailbox.ts";
import { type ActorStatus, isTerminal } from "./status.ts";
import { type ActorSupervisionEvent, describeSupervisionEvent, isError } from "./supervision.ts";
import { UNDELIVERABLE_INDEX, UNDELIVERABLE_TYPE } from "./_handler_index.ts";

/** What a cell needs from its proc. */
export interface ProcCore {
  /** Posts one hop into the proc (TTL-checked). */
  post(envelope: MessageEnvelope, returnHandle: ReturnHandle): void;
  /** Spawns a child of `parent`. */
  spawnChild(parent: InstanceCell, name: string | undefined, actor: Actor): InstanceCell;
  /** Bookkeeping once a cell is terminal; `event` is undefined for hard aborts/clients. */
  terminated(cell: InstanceCell, event: ActorSupervisionEvent | undefined): void;
}

/** The headers of no message. */
export const EMPTY_HEADERS: Readonly<Record<string, HeaderValue>> = Object.freeze({});

/** Drops a bounce silently (used for undeliverable notifications). */
export const DROP: ReturnHandle = () => {};

/** State shared by actors and client instances. */
export class InstanceCell {
  readonly id: ActorId;
  readonly core: ProcCore;
  readonly mailbox: Mailbox;
  readonly status: WatchCell<ActorStatus>;
  readonly parent: InstanceCell | undefined;
  readonly children = new Set<InstanceCell>();
  /** Pid counter shared by the whole tree under a root. */
  readonly pids: { next: number };
  readonly context: InstanceContext;
  readonly returnHandle: ReturnHandle;
  readonly done: Promise<void>;
  protected resolveDone!: () => void;
  readonly #undeliverableDest: string;

  constructor(
    core: ProcCore,
    id: ActorId,
    parent: InstanceCell | undefined,
    initial: ActorStatus,
    handlerFallback?: (envelope: MessageEnvelope, index: number) => void,
  ) {
    this.core = core;
    this.id = id;
    this.parent = parent;
    this.pids = parent ? parent.pids : { next: 1 };
    this.mailbox = new Mailbox(id, handlerFallback);
    this.status = new WatchCell<ActorStatus>(initial);
    this.context = new InstanceContext(this);
    this.#undeliverableDest = `${id.key}[${UNDELIVERABLE_INDEX}<${UNDELIVERABLE_TYPE}>]`;
    this.returnHandle = (returned) => {
      // Undeliverable notification to our own well-known port (never bounced).
      const note = createEnvelope({
        sender: returned.sender,
        dest: this.#undeliverableDest,
        type: UNDELIVERABLE_TYPE,
        data: returned,
        returnUndeliverable: false,
      });
      this.core.post(note, DROP);
    };
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  }

  get terminal(): boolean {
    return isTerminal(this.status.get());
  }

  /** Headers of the message in flight. */
  get headers(): Readonly<Record<string, HeaderValue>> {
    return EMPTY_HEADERS;
  }

  /** Cooperative stop request. */
  requestStop(_kind: "DrainAndStop" | "Stop" | "Abort", reason: string): void {
    this.finishClient(reason);
  }

  /** Hard abort (no cleanup, no supervision event). */
  abort(reason = "aborted"): void {
    this.finishClient(reason);
  }

  /** Client instances: terminal at once. */
  finishClient(reason: string): void {
    if (this.terminal) return;
    for (const child of this.children) child.requestStop("Stop", "parent stopping");
    this.mailbox.close("stopped");
    this.status.set({ kind: "Stopped", reason });
    this.status.close();
    this.core.terminated(this, undefined);
    this.resolveDone();
  }

  /** A child reached a terminal status. */
  childTerminated(child: InstanceCell, _event: ActorSupervisionEvent | undefined): void {
    this.children.delete(child);
    if (_event && isError(_event) && !this.terminal) {
      console.error(
        `hypermesh: client ${this.id.key} ignores supervision event ${
          describeSupervisionEvent(_event)
        }`,
      );
    }
  }

  /** Schedules a delayed self message (actors only). */
  selfMessageWithDelay(_type: string, _msg: unknown, _delayMs: number): void {
    throw new Error(`Cannot schedule a self message: ${this.id.key} is a client instance`);
  }
}

/** The {@linkcode Context} / {@linkcode ClientInstance} implementation. */
export class InstanceContext implements ClientInstance {
  readonly #cell: InstanceCell;
  #selfRef: ActorRef | undefined;
  #undeliverables: PortReceiver<MessageEnvelope> | undefined;

  constructor(cell: InstanceCell) {
    this.#cell = cell;
  }

  /**
   * The proc core behind a context this module made (how `Proc.of(cx)`
   * finds the proc without the context holding it).
   * @param cx Any value.
   * @returns The core, or `undefined` when `cx` is no such context.
   */
  static coreOf(cx: unknown): ProcCore | undefined {
    return typeof cx === "object" && cx !== null && #cell in cx
      ? (cx as InstanceContext).#cell.core
      : undefined;
  }

  get self(): ActorId {
    return this.#cell.id;
  }

  get selfRef(): ActorRef {
    return (this.#selfRef ??= new ActorRef(this.#cell.id));
  }

  get procId(): ProcId {
    return this.#cell.id.procId;
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
export function handleOf<A extends Actor>(cell: InstanceCell): ActorHandle<A> {
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
