/**
 * `Proc`: a set of actors behind one proc id, and the mailbox sender that
 * routes envelopes to them.
 *
 * A proc delivers envelopes addressed to its own id to the right actor's
 * mailbox and hands everything else to its *forwarder* (a router, a mailbox
 * client, …). It spawns root actors (`name[0]`, names unique for the proc's
 * lifetime), hands out client instances for plain code, routes supervision
 * events of root actors to its supervision coordinator, and tears everything
 * down with {@linkcode Proc.destroyAndWait}.
 *
 * ## Invariants (MB-*)
 * - **MB-31 (no mailbox).** An envelope for an actor of this proc that never
 *   existed (or was forgotten past `TERMINATED_SNAPSHOT_RETENTION`) is
 *   returned with `Unroutable("no mailbox for actor …")`; one for a retained
 *   terminated actor with `Mailbox("mailbox owner … is stopped|failed")`.
 * - **MB-32 (unique roots).** A root name is used at most once per proc
 *   lifetime (actors and client instances alike).
 * - MB-33 (bounded destroy) is defined in `_proc_destroy.ts`, MB-34 (no crash) in
 *   `_root_supervision.ts`, where they are enforced.
 *
 * Terminated-actor snapshots are kept in `_terminated_snapshots.ts`; the
 * serving half of {@linkcode Proc.direct} is `_proc_direct.ts`.
 *
 * @module
 */

import { WatchCell } from "../channel/watch_cell.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { config } from "../config/config.ts";
import { STOP_ACTOR_TIMEOUT } from "../config/attrs.ts";
import {
  bounce,
  describeDeliveryError,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
  type ReturnHandle,
} from "./envelope.ts";
import { ActorId, actorKeyOf, ProcId } from "./reference.ts";
import type { PortRef, PortRefData } from "./port.ts";
import type { ActorStatus } from "./status.ts";
import type { ActorSupervisionEvent } from "./supervision.ts";
import type {
  Actor,
  ActorHandle,
  ClientInstance,
  Context,
  DestroyOptions,
  DestroyResult,
  ProcOptions,
  TerminatedSnapshot,
} from "./types.ts";
import { UnroutableMailboxSender } from "./unroutable.ts";
import { ActorCell, handleOf, InstanceCell, InstanceContext, type ProcCore } from "./_cell.ts";
import { destParts, internKey, UNDELIVERABLE_INDEX } from "./_handler_index.ts";
import { ActorStatuses } from "./status.ts";
import { destroyActors } from "./_proc_destroy.ts";
import { RootSupervision } from "./_root_supervision.ts";
import { TerminatedSnapshots } from "./_terminated_snapshots.ts";
import { serveDirect } from "./_proc_direct.ts";
import { answerBounce } from "./request.ts";
import { raceAbort } from "../internal/abort.ts";

/** What {@linkcode Proc.actorStats} reports of one live actor (AW-2). */
export interface ActorStats {
  /** The actor's class name (`actor` for a plain object, `client` for a client instance). */
  type: string;
  /** Its lifecycle status kind (`Idle`, `Processing`, `Client`, …). */
  status: string;
  /** Messages handled so far. */
  messagesProcessed: number;
  /** Messages queued, not yet handled. */
  mailboxDepth: number;
}

/** A root name was already used in this proc. */
export class DuplicateActorNameError extends Error {
  /** The name. */
  readonly actorName: string;
  /**
   * Creates a DuplicateActorNameError.
   * @param procId The proc.
   * @param actorName The name.
   */
  constructor(procId: ProcId, actorName: string) {
    super(`Cannot spawn "${actorName}" in ${procId.key}: the name was already used`);
    this.name = "DuplicateActorNameError";
    this.actorName = actorName;
  }
}

/** The proc was disposed. */
export class ProcDestroyedError extends Error {
  /**
   * Creates a ProcDestroyedError.
   * @param procId The proc.
   * @param action What was attempted.
   */
  constructor(procId: ProcId, action: string) {
    super(`Cannot ${action} in ${procId.key}: the proc is destroyed`);
    this.name = "ProcDestroyedError";
  }
}

let localProcs = 0;

/** The proc of each proc core (how {@linkcode Proc.of} finds a context's proc). */
const owners = new WeakMap<ProcCore, Proc>();

/**
 * A proc.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { type Context, type PortRefData, Proc } from "./mod.ts";
 *
 * await using proc = Proc.local();
 * const echo = proc.spawn("echo", {
 *   handlers: {
 *     Ping: (cx: Context, msg: { n: number; reply: PortRefData<number> }) =>
 *       cx.send(msg.reply, msg.n + 1),
 *   },
 * });
 * using client = proc.instance("client");
 * const { ref, receiver } = client.openOncePort<number>();
 * echo.ref.send(client, "Ping", { n: 41, reply: ref });
 * assertEquals(await receiver.recv(), 42);
 * ```
 */
export class Proc implements MailboxSender, AsyncDisposable {
  /** The proc's id. */
  readonly procId: ProcId;
  /** Where envelopes for other procs go. */
  readonly forwarder: MailboxSender;
  /** Root failures nobody coordinated (policy `"log"`); `undefined` until one. */
  readonly unhandledSupervisionEvents: WatchCell<ActorSupervisionEvent | undefined> = new WatchCell<
    ActorSupervisionEvent | undefined
  >(undefined);
  readonly #key: string;
  readonly #live = new Map<string, InstanceCell>();
  readonly #rootNames = new Set<string>();
  readonly #terminated = new TerminatedSnapshots();
  readonly #supervision: RootSupervision;
  #destroyed = false;
  #disposers: (() => Promise<void>)[] = [];
  readonly #core: ProcCore;

  /**
   * A proc with the given id whose remote traffic goes to `forwarder`
   * (Monarch's `Proc::configured`). It does not listen.
   * @param procId The proc's id.
   * @param forwarder The sender for other procs.
   * @param options Policy.
   */
  constructor(procId: ProcId, forwarder: MailboxSender, options: ProcOptions = {}) {
    this.procId = procId;
    this.forwarder = forwarder;
    this.#key = internKey(procId.key); // pointer-equal to destParts().procKey
    this.#supervision = new RootSupervision(
      this,
      this.#key,
      options.onUnhandledSupervisionEvent ?? "log",
      this.unhandledSupervisionEvents,
    );
    this.#core = {
      post: (envelope, returnHandle) => postEnvelope(this, envelope, returnHandle),
      spawnChild: (parent, name, actor) => this.#spawnChild(parent, name, actor),
      terminated: (cell, event) => this.#onTerminated(cell, event),
    };
    owners.set(this.#core, this);
  }

  /**
   * The proc a context lives in (contexts carry only its id,
   * {@linkcode Context.procId}, so the actor model has no import cycle).
   * @param cx An actor context or client instance made by a proc.
   * @returns Its proc (also after the proc was disposed).
   * @throws {TypeError} When `cx` was not made by a proc.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Proc } from "./proc.ts";
   * await using proc = Proc.local();
   * using client = proc.instance("client");
   * assert(Proc.of(client) === proc);
   * ```
   */
  static of(cx: Context): Proc {
    const core = InstanceContext.coreOf(cx);
    const proc = core === undefined ? undefined : owners.get(core);
    if (proc === undefined) {
      throw new TypeError(`Cannot find the proc of ${cx?.self?.key}: not a context made by a proc`);
    }
    return proc;
  }

  /**
   * An in-process proc on a `local:` address that forwards nowhere: envelopes
   * for other procs bounce with `Unroutable`.
   * @param options Policy.
   * @returns The proc.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Proc } from "./proc.ts";
   * await using proc = Proc.local();
   * assert(proc.procId.name.startsWith("local_"));
   * ```
   */
  static local(options: ProcOptions = {}): Proc {
    const n = localProcs++;
    const name = `local_${n}`;
    return new Proc(
      new ProcId(ChannelAddr.local(0), name),
      new UnroutableMailboxSender(`proc ${name} is local-only and forwards nowhere`),
      options,
    );
  }

  /**
   * A proc that serves `addr` (Monarch's `Proc::direct`): its id is the bound
   * address plus `name`, received envelopes feed its mailboxes, and its
   * forwarder is a fresh {@linkcode DialMailboxRouter} (direct-addressed
   * procs are dialed at the address in their id). Dispose it to destroy its
   * actors, stop serving and close the router's links.
   * @param addr Where to listen (e.g. `unix:@name`, `tcp:127.0.0.1:0`, `local:0`).
   * @param name The proc name.
   * @param options Policy.
   * @returns The serving proc.
   * @throws {TypeError} For an invalid name.
   * @throws {import("../channel/errors.ts").ChannelError} When `addr` cannot be served.
   * @tags allow-net, allow-read, allow-write
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Proc } from "./proc.ts";
   * await using proc = await Proc.direct("local:0", "doc");
   * assertEquals(proc.procId.name, "doc");
   * ```
   */
  static async direct(
    addr: ChannelAddr | string,
    name: string,
    options: ProcOptions = {},
  ): Promise<Proc> {
    return await serveDirect(addr, name, (id, forwarder) => new Proc(id, forwarder, options));
  }

  /**
   * Registers a cleanup run (in order) by `[Symbol.asyncDispose]` after the
   * actors were destroyed; used by {@linkcode Proc.direct}.
   * @param disposer Async cleanup.
   */
  addDisposer(disposer: () => Promise<void>): void {
    this.#disposers.push(disposer);
  }

  /**
   * Spawns a root actor `name[0]` (MB-32).
   * @param name Root name, unique for the proc's lifetime.
   * @param actor The actor.
   * @returns Its handle.
   * @throws {DuplicateActorNameError} When the name was used before.
   * @throws {TypeError} For an invalid name or actor.
   * @throws {ProcDestroyedError} After disposal.
   */
  spawn<A extends Actor>(name: string, actor: A): ActorHandle<A> {
    if (actor === null || typeof actor !== "object") {
      throw new TypeError(`Invalid actor: ${String(actor)}`);
    }
    const id = this.#allocateRoot(name, "spawn");
    const cell = new ActorCell(this.#core, id, undefined, actor);
    this.#live.set(id.key, cell);
    cell.start();
    return handleOf<A>(cell);
  }

  /**
   * A client instance `name[0]` (status `Client`, no message loop) usable as
   * a send/receive context; dispose it when done (MB-32 applies).
   * @param name Root name.
   * @param options `onUndeliverable`: sees every returned message before it
   *   is queued on `undeliverables` (the root client reports them, GC-1).
   * @returns The instance.
   * @throws {DuplicateActorNameError} When the name was used before.
   * @throws {ProcDestroyedError} After disposal.
   */
  instance(
    name: string,
    options: { onUndeliverable?: (envelope: MessageEnvelope) => void } = {},
  ): ClientInstance {
    const id = this.#allocateRoot(name, "create an instance");
    const cell = new InstanceCell(this.#core, id, undefined, ActorStatuses.Client);
    const { receiver } = cell.mailbox.openPort<MessageEnvelope>();
    cell.mailbox.unbind(receiver.ref.portId.index);
    const tap = options.onUndeliverable;
    cell.mailbox.bind(UNDELIVERABLE_INDEX, (e) => {
      const returned = e.data as MessageEnvelope;
      const why = returned.errors?.map(describeDeliveryError).join("; ") ?? "";
      if (answerBounce(cell.context, returned, why)) return; // RQ-3
      if (tap !== undefined) {
        try {
          tap(e.data as MessageEnvelope);
        } catch (error) {
          console.error(`hypermesh: undeliverable observer of ${id.key} threw: ${error}`);
        }
      }
      receiver.push(e.data as MessageEnvelope);
    });
    cell.context.bindUndeliverables(receiver);
    this.#live.set(id.key, cell);
    return cell.context;
  }

  #allocateRoot(name: string, action: string): ActorId {
    if (this.#destroyed) throw new ProcDestroyedError(this.procId, action);
    const id = new ActorId(this.procId, name, 0);
    if (this.#rootNames.has(name)) throw new DuplicateActorNameError(this.procId, name); // MB-32
    this.#rootNames.add(name);
    return id;
  }

  #spawnChild(parent: InstanceCell, name: string | undefined, actor: Actor): ActorCell {
    if (this.#destroyed) throw new ProcDestroyedError(this.procId, "spawn");
    if (parent.terminal) {
      throw new Error(
        `Cannot spawn a child of ${parent.id.key}: it is ${parent.status.get().kind}`,
      );
    }
    const id = new ActorId(this.procId, name ?? parent.id.name, parent.pids.next++);
    const cell = new ActorCell(this.#core, id, parent, actor);
    parent.children.add(cell);
    this.#live.set(id.key, cell);
    cell.start();
    return cell;
  }

  /**
   * Delivers an envelope: own proc → the actor's mailbox (MB-31); else the
   * forwarder (one hop, TTL-checked). Never throws.
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    const parts = destParts(envelope.dest); // memoized parse (no slicing per message)
    if (parts.procKey !== this.#key) {
      postEnvelope(this.forwarder, envelope, returnHandle);
      return;
    }
    const actorKey = parts.actorKey;
    const cell = this.#live.get(actorKey);
    if (cell !== undefined) {
      cell.mailbox.deliver(envelope, returnHandle, parts.index);
      return;
    }
    const dead = this.#terminated.get(actorKey);
    if (dead !== undefined) {
      const kind = dead.status.kind === "Failed" ? "failed" : "stopped";
      bounce(envelope, {
        kind: "Mailbox",
        message: `mailbox owner ${actorKey} is ${kind}`,
      }, returnHandle); // MB-31
      return;
    }
    bounce(envelope, {
      kind: "Unroutable",
      message: `no mailbox for actor ${actorKey} in proc ${this.#key}`,
    }, returnHandle); // MB-31
  }

  /**
   * Sets the port that receives root actors' supervision events (once).
   * @param port A port accepting `ActorSupervisionEvent` (e.g. an actor's
   * `ref.port("ActorSupervisionEvent")`).
   * @throws {Error} When already set.
   */
  setSupervisionCoordinator(port: PortRefData<ActorSupervisionEvent>): void {
    this.#supervision.setCoordinator(port);
  }

  /** The supervision coordinator port, if set. */
  get supervisionCoordinator(): PortRef<ActorSupervisionEvent> | undefined {
    return this.#supervision.coordinator;
  }

  /**
   * Asks an actor to stop after draining its queue.
   * @param id The actor (id or text).
   * @param reason Why.
   * @returns Its status cell, or `undefined` when unknown or gone.
   */
  stopActor(id: ActorId | string, reason = "stopped"): WatchCell<ActorStatus> | undefined {
    const key = typeof id === "string" ? id : id.key;
    const cell = this.#live.get(key);
    if (cell === undefined || cell.terminal) return undefined;
    cell.requestStop("DrainAndStop", reason);
    return cell.status;
  }

  /**
   * The status cell of a live actor or client instance.
   * @param id The actor.
   * @returns The cell, or `undefined`.
   */
  actorStatus(id: ActorId | string): WatchCell<ActorStatus> | undefined {
    return this.#live.get(typeof id === "string" ? id : id.key)?.status;
  }

  /**
   * The runtime figures of a live actor or client instance (AW-2): its
   * implementation type, status, messages handled and messages queued.
   * A client instance has no message loop: 0 and 0.
   * @param id The actor.
   * @returns The figures, or `undefined` when unknown or gone.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Proc } from "./proc.ts";
   * await using proc = Proc.local();
   * using cx = proc.instance("c");
   * assertEquals(proc.actorStats(cx.self)?.messagesProcessed, 0);
   * ```
   */
  actorStats(id: ActorId | string): ActorStats | undefined {
    const cell = this.#live.get(typeof id === "string" ? id : id.key);
    if (cell === undefined) return undefined;
    const isActor = cell instanceof ActorCell;
    const ctor = isActor ? (cell.actor as object).constructor?.name : undefined;
    return {
      type: isActor ? (ctor && ctor !== "Object" ? ctor : "actor") : "client",
      status: cell.status.get().kind,
      messagesProcessed: isActor ? cell.messagesProcessed : 0,
      mailboxDepth: isActor ? cell.mailboxDepth : 0,
    };
  }

  /**
   * Ids of every live actor and client instance.
   * @returns Ids of every live actor and client instance.
   */
  allActorIds(): ActorId[] {
    return [...this.#live.values()].map((c) => c.id);
  }

  /**
   * Ids of retained terminated actors, oldest first.
   * @returns Ids of retained terminated actors, oldest first.
   */
  allTerminatedActorIds(): ActorId[] {
    return this.#terminated.ids();
  }

  /**
   * The retained snapshot of a terminated actor, if any.
   * @param id The actor.
   * @returns The retained snapshot of a terminated actor, if any.
   */
  terminatedSnapshot(id: ActorId | string): TerminatedSnapshot | undefined {
    return this.#terminated.get(typeof id === "string" ? id : id.key);
  }

  /**
   * Waits until everything forwarded so far was delivered or returned.
   * @returns When the forwarder is flushed.
   */
  async flush(): Promise<void> {
    await this.forwarder.flush?.();
  }

  /**
   * Stops every actor (Monarch's `destroy_and_wait`, reference §4.4):
   * `DrainAndStop` to every root except the supervision coordinator and the
   * caller; wait up to `graceMs`; abort what is left; then the
   * coordinator the same way; then flush the forwarder (bounded by
   * `FORWARDER_FLUSH_TIMEOUT`); finally abort the caller unless
   * `exceptCurrent`. Client instances are left alone (disposing the proc
   * stops them). `graceMs: 0` aborts at once (MB-33).
   * @param options `graceMs` (default `HYPERACTOR_STOP_ACTOR_TIMEOUT`),
   * `reason`, `signal`, caller, exceptCurrent.
   * @returns Which roots stopped and which actors were aborted.
   * @throws {RangeError} When `graceMs` is negative or not finite.
   * @throws {unknown} `signal.reason` when the signal aborts (what is left is
   * aborted at once).
   */
  async destroyAndWait(options: DestroyOptions = {}): Promise<DestroyResult> {
    const graceMs = options.graceMs ?? config.get(STOP_ACTOR_TIMEOUT);
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw new RangeError(`Cannot destroy proc ${this.procId.key}: invalid graceMs ${graceMs}`);
    }
    options.signal?.throwIfAborted();
    const coordinator = this.#supervision.coordinator;
    const destroying = destroyActors(
      {
        live: this.#live,
        coordinatorKey: coordinator ? actorKeyOf(coordinator.port) : undefined,
        flush: () => this.flush(),
      },
      graceMs,
      options,
    );
    return await raceAbort(destroying, options.signal);
  }

  #onTerminated(cell: InstanceCell, event: ActorSupervisionEvent | undefined): void {
    const key = cell.id.key;
    this.#live.delete(key);
    this.#terminated.record(cell);
    if (cell.parent) {
      cell.parent.childTerminated(cell as ActorCell, event);
    } else if (event !== undefined) {
      this.#supervision.route(event);
    }
  }

  /**
   * Destroys every actor (bounded by `HYPERACTOR_STOP_ACTOR_TIMEOUT`), marks
   * client instances stopped (pending `recv()`s reject), then runs the
   * registered disposers (stops serving). Idempotent.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#destroyed) return;
    await this.destroyAndWait({ reason: "proc disposed" });
    this.#destroyed = true;
    for (const cell of [...this.#live.values()]) cell.finishClient("proc disposed");
    this.unhandledSupervisionEvents.close();
    const disposers = this.#disposers;
    this.#disposers = [];
    for (const dispose of disposers) {
      try {
        await dispose();
      } catch (error) {
        console.error(`hypermesh: disposing ${this.#key}:`, error);
      }
    }
  }
}
