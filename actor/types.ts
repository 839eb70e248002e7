/**
 * The actor model's shared types: the typed handler model ({@linkcode Actor}),
 * the context handed to handlers ({@linkcode Context}), client instances of
 * plain code, handles of spawned actors, and the option and result types of
 * a proc. Every other module of `actor/` imports its shared types from here;
 * this module imports no module that imports it (no import cycle).
 *
 * ## The typed handler model
 *
 * An actor is any object with a `handlers` map from message type name to a
 * handler `(cx, msg) => void | Promise<void>`, plus optional lifecycle hooks.
 * Message types are strings; a handler receives plain data (in-process the
 * body is passed by reference, so a sender must not mutate a message after
 * sending it). The message types an actor accepts are inferred from its
 * handlers, so `ActorRef<Echo>.send(cx, "Ping", body)` is type-checked:
 *
 * ```ts ignore
 * class Echo implements Actor {
 *   count = 0;
 *   readonly handlers = {
 *     Ping: (cx: Context, msg: { n: number; reply: PortRefData<number> }) => {
 *       this.count++;
 *       cx.send(msg.reply, msg.n);
 *     },
 *   };
 * }
 * ```
 *
 * Arrow functions in a class field see the instance as `this`. A plain
 * object literal works too (`proc.spawn("agent", { handlers: {} })`).
 *
 * Contexts and client instances are created by a `Proc`: actors get a
 * {@linkcode Context} in every hook; `proc.instance(name)` returns a
 * {@linkcode ClientInstance} (status `Client`, no message loop) that scripts
 * and tests use to send and to receive replies on ports they open. A context
 * names its proc by id ({@linkcode Context.procId}); code that needs the
 * `Proc` object itself asks `Proc.of(cx)`.
 *
 * ## Invariants (MB-*)
 * - **MB-3 (sequential).** An actor handles one message at a time, in
 *   arrival order per sender; the next handler starts after the previous
 *   one's promise settled.
 * - **MB-4 (failure is supervision).** A throwing/rejecting handler or
 *   `init`, an unknown message type, or an unhandled undeliverable fails that
 *   actor only (status `Failed`) and emits an {@linkcode ActorSupervisionEvent};
 *   it never rejects a proc-level promise or crashes the proc. (A request's
 *   handler answers its caller instead, RQ-2 in `request.ts`.)
 * - **MB-40 (status runs).** While handling a message the actor's status is
 *   `Processing` naming that message's handler. A run of handlers of one
 *   type that return no promise, back to back, shares one published
 *   `Processing` status (`since` = start of the run): watchers see a new
 *   `Processing` when the handler type changes, after an asynchronous
 *   handler or a supervision event, every 256 messages, and after `Idle`.
 *   An emptied queue is looked at again one microtask later before `Idle`
 *   is published, so a batch delivered one message per microtask (a mailbox
 *   server draining a channel read) stays one run. (Reading the clock and
 *   publishing per message cost a third of the in-process throughput.)
 * - **MB-50 (mesh failures escalate).** A mesh failure delivered to an
 *   owning actor (message type `__supervise__`) runs
 *   {@linkcode Actor.handleMeshFailure} in the message loop like any
 *   handler; `true` means handled; `false`, no hook, or a throw fails the
 *   actor with `UnhandledMeshFailure: …`, and its supervision event carries
 *   the failure (`meshFailure`), so it climbs to the actor's own owner.
 * - **MB-51 (casts to dead ranks).** A message sent by a mesh cast (header
 *   `hypermesh.mesh_cast`) that comes back undeliverable is logged, not a
 *   failure of the sending actor, unless the actor has its own
 *   `handleUndeliverable`.
 * - **MB-30 (timers die with the actor).** Pending `selfMessageWithDelay`
 *   timers are cleared when the actor stops, fails or is aborted.
 *
 * @module
 */

import type { WatchCell } from "../channel/watch_cell.ts";
import type { HeaderValue, MessageEnvelope } from "./envelope.ts";
import type { ActorId, ProcId } from "./reference.ts";
import type {
  ActorRef,
  HandlerResult,
  MessageSender,
  MessagesOf,
  MessageTypeOf,
  OncePortRef,
  PortRef,
  PortRefData,
  SendOptions,
} from "./port.ts";
import type { OncePortReceiver, PortReceiver } from "./mailbox.ts";
import type { ActorStatus } from "./status.ts";
import type { StopOptions } from "../internal/stop_options.ts";
import type { ActorSupervisionEvent, SupervisedFailure } from "./supervision.ts";

/**
 * Any handler: context and plain-data message. What it returns (awaited) is
 * the reply when the message is a request (RQ-1, `request.ts`), and is
 * dropped otherwise.
 */
// deno-lint-ignore no-explicit-any
export type AnyHandler = (cx: Context<any>, msg: any) => unknown;

/** An actor: message handlers plus optional lifecycle hooks. */
export interface Actor {
  /** Message type name → handler. Types not listed are a supervision error. */
  readonly handlers: Readonly<Record<string, AnyHandler>>;
  /**
   * Runs once before the first message; a throw fails the actor with
   * `initialization error: …`.
   */
  init?(cx: Context<this>): HandlerResult;
  /**
   * A child reached a terminal status. Return true when handled; false (or
   * no hook) makes an error event fail this actor with
   * `UnhandledSupervisionEvent` (non-error events are then ignored).
   */
  handleSupervisionEvent?(
    cx: Context<this>,
    event: ActorSupervisionEvent,
  ): boolean | Promise<boolean>;
  /**
   * A mesh this actor owns reported a failure (the seeds' `__supervise__`;
   * the mesh layer passes its `MeshFailure`). Return true when handled;
   * false (or no hook) fails this actor with `UnhandledMeshFailure`, which
   * escalates to the actor's own owner (MB-50).
   */
  handleMeshFailure?(cx: Context<this>, failure: SupervisedFailure): boolean | Promise<boolean>;
  /**
   * A message this actor sent came back undeliverable. Default: fail the
   * actor with `delivery of message from SENDER to DEST failed`.
   */
  handleUndeliverable?(cx: Context<this>, envelope: MessageEnvelope): HandlerResult;
  /**
   * Runs while stopping, bounded by `HYPERACTOR_CLEANUP_TIMEOUT`.
   * @param error The failure message when the actor failed.
   */
  cleanup?(cx: Context<this>, error?: string): HandlerResult;
}

/**
 * Builds a handler-only actor from a handler map (type inference helper).
 * @param handlers Message type name → handler.
 * @returns An actor with those handlers.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { actorOf } from "./types.ts";
 * const a = actorOf({ Ping: (_cx, _msg: number) => {} });
 * assertEquals(Object.keys(a.handlers), ["Ping"]);
 * ```
 */
export function actorOf<H extends Record<string, AnyHandler>>(handlers: H): { handlers: H } {
  return { handlers };
}

/** The sending/receiving capabilities of an actor or client instance. */
export interface Context<A extends Actor = Actor> extends MessageSender {
  /** This instance's actor id. */
  readonly self: ActorId;
  /** A typed reference to this actor. */
  readonly selfRef: ActorRef<A>;
  /** The id of the proc this instance lives in (`Proc.of(cx)` is the proc). */
  readonly procId: ProcId;
  /** This instance's status. */
  readonly status: WatchCell<ActorStatus>;
  /** Headers of the message being handled (empty outside a handler). */
  readonly headers: Readonly<Record<string, HeaderValue>>;
  /**
   * Sends `msg` to a port; `port` may be a live reference or its JSON data
   * (as received inside a message). Delivery failures come back to this
   * instance as undeliverables; never throws for them.
   * @param port The destination.
   * @param msg The plain-data body.
   * @param options Headers.
   */
  send<M>(port: PortRefData<M>, msg: M, options?: SendOptions): void;
  /**
   * Spawns a child actor linked to this instance (its supervision events
   * come here). Unnamed children share this instance's name; every child
   * draws its pid from the root's counter.
   * @param actor The actor.
   * @returns The child's handle.
   */
  spawn<C extends Actor>(actor: C): ActorHandle<C>;
  /**
   * The child's handle.
   * @param name The child's name.
   * @param actor The actor.
   * @returns The child's handle.
   */
  spawn<C extends Actor>(name: string, actor: C): ActorHandle<C>;
  /**
   * A new dynamic port and its receiver.
   * @returns A new dynamic port and its receiver.
   */
  openPort<M>(): { ref: PortRef<M>; receiver: PortReceiver<M> };
  /**
   * A new once port and its receiver.
   * @returns A new once port and its receiver.
   */
  openOncePort<M>(): { ref: OncePortRef<M>; receiver: OncePortReceiver<M> };
  /**
   * Delivers `msg` to this actor's own handler for `type` after `delayMs`
   * (dropped silently if the actor stopped meanwhile; MB-30).
   * @param type Message type name.
   * @param msg The body.
   * @param options `delayMs`: the delay in ms.
   * @throws {RangeError} When `delayMs` is negative or not finite.
   */
  selfMessageWithDelay<K extends MessageTypeOf<A>>(
    type: K,
    msg: MessagesOf<A>[K],
    options: { delayMs: number },
  ): void;
  /**
   * Asks this actor to stop after the current message, draining what is
   * already queued (a client instance is marked stopped at once).
   * @param reason Why.
   */
  stop(reason?: string): void;
}

/** A client-only instance (no message loop); dispose it when done. */
export interface ClientInstance extends Context, Disposable {
  /**
   * Messages this client sent that came back undeliverable (its well-known
   * `Undeliverable` port).
   */
  readonly undeliverables: PortReceiver<MessageEnvelope>;
}

/** A spawned actor, as seen by whoever spawned it. */
export interface ActorHandle<A extends Actor = Actor> {
  /** The actor's id. */
  readonly actorId: ActorId;
  /** A typed reference to the actor. */
  readonly ref: ActorRef<A>;
  /** The actor's status (closed after the terminal status). */
  readonly status: WatchCell<ActorStatus>;
  /**
   * Asks the actor to stop after draining its queue (`DrainAndStop`).
   * @param reason Why.
   */
  stop(reason?: string): void;
  /**
   * Waits for the terminal status.
   * @param options Cancellation.
   * @returns `Stopped` or `Failed`.
   */
  wait(options?: { signal?: AbortSignal }): Promise<ActorStatus>;
  /**
   * `ActorHandle.ref` (the seeds' `handle.bind()`).
   * @returns {@linkcode ActorHandle.ref} (the seeds' `handle.bind()`).
   */
  bind(): ActorRef<A>;
}

/** What a proc does with a failed root actor when no coordinator is set. */
export type UnhandledSupervisionPolicy = "exit" | "log";

/** Options of a `Proc`. */
export interface ProcOptions {
  /**
   * `"log"` (default, library-safe): log the event and publish it on
   * `Proc.unhandledSupervisionEvents`. `"exit"` (bootstrapped procs,
   * Monarch's behaviour): exit the OS process with code 1.
   */
  onUnhandledSupervisionEvent?: UnhandledSupervisionPolicy;
}

/**
 * Options of `Proc.destroyAndWait`: the shared {@linkcode StopOptions} —
 * `graceMs` each group of actors gets to stop (default
 * `HYPERACTOR_STOP_ACTOR_TIMEOUT`; 0 aborts at once), `reason` given to every
 * actor (default `"proc destroyed"`), `signal` (aborting aborts what is left
 * at once and rejects with its reason) — plus the caller.
 */
export interface DestroyOptions extends StopOptions {
  /** The calling actor, if any: not waited on, stopped last. */
  cx?: Context;
  /**
   * Keep the calling actor alive (the ProcAgent's StopAll); otherwise it is
   * aborted at the end.
   */
  exceptCurrent?: boolean;
}

/** Outcome of `Proc.destroyAndWait`. */
export interface DestroyResult {
  /** Root actors that reached a terminal status in time. */
  stopped: ActorId[];
  /** Actors that had to be aborted (roots and their unfinished descendants). */
  aborted: ActorId[];
}

/** What a proc remembers about a terminated actor. */
export interface TerminatedSnapshot {
  /** The actor. */
  actorId: ActorId;
  /** Its terminal status. */
  status: ActorStatus;
  /** When it terminated (ms since the epoch). */
  terminatedAt: number;
  /** Its parent's id text, for children. */
  parent?: string;
}
