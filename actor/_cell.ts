/**
 * Folder-private: the per-instance state of procs' actors and clients, the
 * actor message loop, and the {@linkcode Context} implementation.
 * @module
 */

import { WatchCell } from "../channel/watch_cell.ts";
import { raceAbort } from "../channel/_abort.ts";
import { config } from "../config/config.ts";
import { CLEANUP_TIMEOUT } from "../config/attrs.ts";
import {
  createEnvelope,
  describeDeliveryError,
  type HeaderValue,
  isMessageEnvelope,
  type MessageEnvelope,
  type ReturnHandle,
} from "./envelope.ts";
import type { ActorId } from "./reference.ts";
import type { Actor, AnyHandler } from "./actor.ts";
import { ActorRef, type PortRefData, type SendOptions } from "./port.ts";
import { Mailbox, type OncePortReceiver, type PortReceiver } from "./mailbox.ts";
import { OncePortRef, PortRef } from "./port.ts";
import { type ActorStatus, ActorStatuses, isTerminal } from "./status.ts";
import { type ActorSupervisionEvent, describeSupervisionEvent, isError } from "./supervision.ts";
import type { ActorHandle, ClientInstance } from "./instance.ts";
import type { Proc } from "./proc.ts";
import { handlerIndex, UNDELIVERABLE_INDEX, UNDELIVERABLE_TYPE } from "./_handler_index.ts";

/** What a cell needs from its proc. */
export interface ProcCore {
  readonly proc: Proc;
  /** Posts one hop into the proc (TTL-checked). */
  post(envelope: MessageEnvelope, returnHandle: ReturnHandle): void;
  /** Spawns a child of `parent`. */
  spawnChild(parent: InstanceCell, name: string | undefined, actor: Actor): ActorCell;
  /** Bookkeeping once a cell is terminal; `event` is undefined for hard aborts/clients. */
  terminated(cell: InstanceCell, event: ActorSupervisionEvent | undefined): void;
}

const EMPTY_HEADERS: Readonly<Record<string, HeaderValue>> = Object.freeze({});
const CHILD_SILENCE_MS = 500;

/** Drops a bounce silently (used for undeliverable notifications). */
const DROP: ReturnHandle = () => {};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves `true` if `promise` settles within `ms`, else `false`; clears its timer. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    }, () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** State shared by actors and client instances. */
export class InstanceCell {
  readonly id: ActorId;
  readonly core: ProcCore;
  readonly mailbox: Mailbox;
  readonly status: WatchCell<ActorStatus>;
  readonly parent: InstanceCell | undefined;
  readonly children = new Set<ActorCell>();
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
  childTerminated(child: ActorCell, _event: ActorSupervisionEvent | undefined): void {
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

type Signal = { kind: "DrainAndStop" | "Stop" | "Abort"; reason: string };
const SIGNAL_RANK = { DrainAndStop: 1, Stop: 2, Abort: 3 } as const;

/** An actor: a cell with a sequential message loop (MB-3). */
export class ActorCell extends InstanceCell {
  readonly actor: Actor;
  readonly #handlers = new Map<number, { type: string; fn: AnyHandler }>();
  #queue: MessageEnvelope[] = [];
  #head = 0;
  #events: ActorSupervisionEvent[] = [];
  #wake: (() => void) | undefined;
  #signal: Signal | undefined;
  #aborted = false;
  #stopping = false;
  #headers: Readonly<Record<string, HeaderValue>> = EMPTY_HEADERS;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #childChanged: (() => void) | undefined;

  constructor(core: ProcCore, id: ActorId, parent: InstanceCell | undefined, actor: Actor) {
    super(core, id, parent, ActorStatuses.Created, (envelope) => this.#enqueue(envelope));
    this.actor = actor;
    for (const [type, fn] of Object.entries(actor.handlers ?? {})) {
      if (typeof fn === "function") this.#handlers.set(handlerIndex(type), { type, fn });
    }
  }

  override get headers(): Readonly<Record<string, HeaderValue>> {
    return this.#headers;
  }

  /** Starts the loop (on a microtask, so `spawn()` returns first). */
  start(): void {
    queueMicrotask(() => void this.#run());
  }

  #enqueue(envelope: MessageEnvelope): void {
    this.#queue.push(envelope);
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
  }

  #dequeue(): MessageEnvelope | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const envelope = this.#queue[this.#head];
    this.#queue[this.#head++] = undefined as unknown as MessageEnvelope;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return envelope;
  }

  override requestStop(kind: Signal["kind"], reason: string): void {
    if (this.terminal || this.#aborted) return;
    const current = this.#signal;
    if (current && SIGNAL_RANK[current.kind] >= SIGNAL_RANK[kind]) return; // first of a rank wins
    this.#signal = { kind, reason };
    this.#notify();
  }

  override childTerminated(child: ActorCell, event: ActorSupervisionEvent | undefined): void {
    this.children.delete(child);
    const changed = this.#childChanged;
    this.#childChanged = undefined;
    changed?.();
    if (event === undefined || this.#stopping || this.terminal || this.#aborted) return;
    this.#events.push(event);
    this.#notify();
  }

  override selfMessageWithDelay(type: string, msg: unknown, delayMs: number): void {
    if (this.terminal || this.#aborted) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const envelope = createEnvelope({
        sender: this.id.key,
        dest: `${this.id.key}[${handlerIndex(type)}<${type}>]`,
        type,
        data: msg,
        returnUndeliverable: false,
      });
      this.core.post(envelope, DROP);
    }, Math.max(0, delayMs));
    this.#timers.add(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer); // MB-30
    this.#timers.clear();
  }

  async #run(): Promise<void> {
    const cx = this.context;
    const actor = this.actor;
    let failure: { error: string; causedBy?: ActorSupervisionEvent } | undefined;
    if (this.#aborted || this.terminal) return;
    this.status.set(ActorStatuses.Initializing);
    try {
      if (actor.init) await actor.init(cx);
    } catch (error) {
      failure = { error: `initialization error: ${errorText(error)}` };
    }
    if (this.#aborted) return;
    if (!failure) this.status.set(ActorStatuses.Idle);
    let idle = true;
    while (!failure) {
      const signal = this.#signal;
      if (signal && signal.kind !== "DrainAndStop") break;
      if (this.#events.length > 0) {
        const event = this.#events.shift()!;
        try {
          const handled = actor.handleSupervisionEvent
            ? await actor.handleSupervisionEvent(cx, event)
            : false;
          if (!handled && isError(event)) {
            failure = {
              error: `UnhandledSupervisionEvent: ${describeSupervisionEvent(event)}`,
              causedBy: event,
            };
          }
        } catch (error) {
          failure = {
            error: `${errorText(error)} while handling supervision event ${
              describeSupervisionEvent(event)
            }`,
            causedBy: event,
          };
        }
        if (this.#aborted) return;
        continue;
      }
      const envelope = this.#dequeue();
      if (envelope === undefined) {
        if (signal) break; // drained
        if (!idle) {
          this.status.set(ActorStatuses.Idle);
          idle = true;
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
        if (this.#aborted) return;
        continue;
      }
      idle = false;
      failure = await this.#handle(cx, envelope);
      if (this.#aborted) return;
    }
    await this.#shutdown(failure);
  }

  /** Handles one message; returns a failure or undefined. */
  async #handle(
    cx: InstanceContext,
    envelope: MessageEnvelope,
  ): Promise<{ error: string } | undefined> {
    const index = portIndexOfEnvelope(envelope);
    this.#headers = envelope.headers;
    try {
      if (index === UNDELIVERABLE_INDEX) {
        const returned = envelope.data;
        if (!isMessageEnvelope(returned)) return undefined;
        this.status.set({ kind: "Processing", since: Date.now(), handler: UNDELIVERABLE_TYPE });
        if (this.actor.handleUndeliverable) {
          const r = this.actor.handleUndeliverable(cx, returned);
          if (r !== undefined) await r;
          return undefined;
        }
        const errors = returned.errors.map(describeDeliveryError).join("; ");
        return {
          error: `delivery of message from ${returned.sender} to ${returned.dest} failed` +
            (errors ? `: ${errors}` : ""),
        };
      }
      const handler = this.#handlers.get(index);
      if (handler === undefined) {
        return {
          error:
            `processing error: no handler for message type "${envelope.type}" (port ${envelope.dest})`,
        }; // MB-4
      }
      this.status.set({ kind: "Processing", since: Date.now(), handler: handler.type });
      const r = handler.fn(cx, envelope.data);
      if (r !== undefined) await r;
      return undefined;
    } catch (error) {
      return { error: `processing error: ${errorText(error)}` }; // MB-4
    } finally {
      this.#headers = EMPTY_HEADERS;
    }
  }

  async #shutdown(
    failure: { error: string; causedBy?: ActorSupervisionEvent } | undefined,
  ): Promise<void> {
    this.#stopping = true;
    const signal = this.#signal;
    const headers = this.#headers;
    this.status.set(ActorStatuses.Stopping);
    this.#clearTimers();
    // Stop the children and wait for them (giving up after 500 ms of silence).
    for (const child of this.children) child.requestStop("Stop", "parent stopping");
    while (this.children.size > 0) {
      const changed = new Promise<void>((resolve) => (this.#childChanged = resolve));
      if (!(await settlesWithin(changed, CHILD_SILENCE_MS))) break;
      if (this.#aborted) return;
    }
    if (this.#aborted) return;
    if (this.actor.cleanup) {
      try {
        const r = this.actor.cleanup(this.context, failure?.error);
        if (r !== undefined) {
          const cleanupMs = config.get(CLEANUP_TIMEOUT);
          if (!(await settlesWithin(r, cleanupMs))) {
            console.error(`hypermesh: cleanup of ${this.id.key} timed out after ${cleanupMs}ms`);
          }
        }
      } catch (error) {
        console.error(`hypermesh: cleanup of ${this.id.key} failed:`, error);
      }
      if (this.#aborted) return;
    }
    if (!failure && signal?.kind === "Abort") {
      failure = { error: `actor explicitly aborted due to: ${signal.reason}` };
    }
    const status: ActorStatus = failure
      ? { kind: "Failed", error: failure.error }
      : { kind: "Stopped", reason: signal?.reason ?? "stopped" };
    this.#finish(status, failure ? "failed" : "stopped");
    const event: ActorSupervisionEvent = {
      actorId: this.id.key,
      occurredAt: Date.now(),
      status,
    };
    if (failure && Object.keys(headers).length > 0) event.messageHeaders = headers;
    if (failure?.causedBy) event.causedBy = failure.causedBy;
    this.core.terminated(this, event);
    this.resolveDone();
  }

  #finish(status: ActorStatus, kind: "stopped" | "failed"): void {
    this.#clearTimers();
    this.#queue = [];
    this.#head = 0;
    this.#events = [];
    this.mailbox.close(kind);
    this.status.set(status);
    this.status.close();
  }

  /** Hard abort: the loop is cut, a pending handler is ignored. */
  override abort(reason = "aborted"): void {
    if (this.terminal || this.#aborted) return;
    this.#aborted = true;
    for (const child of [...this.children]) child.abort(reason);
    this.#finish({ kind: "Failed", error: reason }, "failed");
    this.#notify();
    const changed = this.#childChanged;
    this.#childChanged = undefined;
    changed?.();
    this.core.terminated(this, undefined);
    this.resolveDone();
  }
}

function portIndexOfEnvelope(envelope: MessageEnvelope): number {
  const dest = envelope.dest;
  const open = dest.lastIndexOf("[");
  return parseInt(dest.slice(open + 1), 10);
}

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

  selfMessageWithDelay(type: string, msg: unknown, delayMs: number): void {
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
