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
import { EnvelopeQueue } from "./_envelope_queue.ts";

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

/** Why a message loop ends in failure. */
type Failure = {
  error: string;
  causedBy?: ActorSupervisionEvent;
  /** Headers of the message whose handling failed. */
  headers?: Readonly<Record<string, HeaderValue>>;
};

/**
 * Messages handled synchronously in a row before the loop lets other
 * microtasks (other actors' loops) run.
 */
const SYNC_BURST = 256;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" &&
    typeof (value as { then?: unknown }).then === "function";
}

/** An actor: a cell with a sequential message loop (MB-3). */
export class ActorCell extends InstanceCell {
  readonly actor: Actor;
  readonly #handlers = new Map<number, { type: string; fn: AnyHandler }>();
  readonly #queue = new EnvelopeQueue();
  #events: ActorSupervisionEvent[] = [];
  #wake: (() => void) | undefined;
  #signal: Signal | undefined;
  #aborted = false;
  #stopping = false;
  #headers: Readonly<Record<string, HeaderValue>> = EMPTY_HEADERS;
  /**
   * The handler named by the published `Processing` status while a run of
   * synchronous handlers of that type may reuse it; undefined otherwise.
   */
  #processing: string | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #childChanged: (() => void) | undefined;

  constructor(core: ProcCore, id: ActorId, parent: InstanceCell | undefined, actor: Actor) {
    super(core, id, parent, ActorStatuses.Created, (envelope, index) => {
      this.#queue.push(envelope, index);
      this.#notify();
    });
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

  #notify(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
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
    let failure: Failure | undefined;
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
    let spun = false;
    let burst = 0;
    while (!failure) {
      const signal = this.#signal;
      if (signal && signal.kind !== "DrainAndStop") break;
      if (this.#events.length > 0) {
        this.#processing = undefined;
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
      if (this.#queue.size === 0) {
        if (signal) break; // drained
        if (!idle && !spun) {
          // A producer delivering a batch one microtask at a time (a mailbox
          // server draining a channel read) refills the queue in one tick:
          // look again before publishing Idle and parking (MB-40).
          spun = true;
          await undefined;
          if (this.#aborted) return;
          continue;
        }
        if (!idle) {
          this.status.set(ActorStatuses.Idle);
          idle = true;
        }
        burst = 0;
        this.#processing = undefined;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        if (this.#aborted) return;
        continue;
      }
      idle = false;
      spun = false;
      const index = this.#queue.headIndex;
      const outcome = this.#handle(cx, this.#queue.shift(), index);
      if (outcome === undefined) {
        // Sync fast path: a handler that returned no promise costs no await
        // (MB-3 holds: it already finished). Let other loops in now and then.
        if (++burst >= SYNC_BURST) {
          burst = 0;
          this.#processing = undefined;
          await undefined;
        }
      } else {
        burst = 0;
        this.#processing = undefined;
        failure = outcome instanceof Promise ? await outcome : outcome;
      }
      if (this.#aborted) return;
    }
    await this.#shutdown(failure);
  }

  /**
   * Handles one message: `undefined` when a handler finished synchronously,
   * a failure, or a promise of either when the handler returned one.
   */
  #handle(
    cx: InstanceContext,
    envelope: MessageEnvelope,
    index: number,
  ): Failure | undefined | Promise<Failure | undefined> {
    const headers = envelope.headers;
    this.#headers = headers;
    let r: unknown;
    try {
      if (index === UNDELIVERABLE_INDEX) {
        const returned = envelope.data;
        if (!isMessageEnvelope(returned)) return this.#done(undefined);
        this.status.set({ kind: "Processing", since: Date.now(), handler: UNDELIVERABLE_TYPE });
        this.#processing = undefined;
        if (!this.actor.handleUndeliverable) {
          const errors = returned.errors.map(describeDeliveryError).join("; ");
          return this.#done({
            error: `delivery of message from ${returned.sender} to ${returned.dest} failed` +
              (errors ? `: ${errors}` : ""),
            headers,
          });
        }
        r = this.actor.handleUndeliverable(cx, returned);
      } else {
        const handler = this.#handlers.get(index);
        if (handler === undefined) {
          return this.#done({
            error:
              `processing error: no handler for message type "${envelope.type}" (port ${envelope.dest})`,
            headers,
          }); // MB-4
        }
        if (this.#processing !== handler.type) {
          // MB-40: one Processing status per run of synchronous handlers of a type.
          this.status.set({ kind: "Processing", since: Date.now(), handler: handler.type });
          this.#processing = handler.type;
        }
        r = handler.fn(cx, envelope.data);
      }
    } catch (error) {
      return this.#done({ error: `processing error: ${errorText(error)}`, headers }); // MB-4
    }
    if (!isThenable(r)) return this.#done(undefined);
    return this.#settle(r, headers);
  }

  #done<F extends Failure | undefined>(outcome: F): F {
    this.#headers = EMPTY_HEADERS;
    return outcome;
  }

  async #settle(
    r: PromiseLike<unknown>,
    headers: Readonly<Record<string, HeaderValue>>,
  ): Promise<Failure | undefined> {
    try {
      await r;
      return undefined;
    } catch (error) {
      return { error: `processing error: ${errorText(error)}`, headers }; // MB-4
    } finally {
      this.#headers = EMPTY_HEADERS;
    }
  }

  async #shutdown(failure: Failure | undefined): Promise<void> {
    this.#stopping = true;
    const signal = this.#signal;
    const headers = failure?.headers ?? EMPTY_HEADERS;
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
    this.#queue.clear();
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
