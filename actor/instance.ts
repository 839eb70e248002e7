/**
 * The context handed to handlers (`cx`) and the client instances of plain
 * code: who is sending, where bounces go, ports, child spawns, timers.
 *
 * Both are created by a {@linkcode Proc}: actors get a {@linkcode Context}
 * in every hook; `proc.instance(name)` returns a {@linkcode ClientInstance}
 * (status `Client`, no message loop) that scripts and tests use to send and
 * to receive replies on ports they open.
 *
 * ## Invariants (MB-*)
 * - **MB-30 (timers die with the actor).** Pending `selfMessageWithDelay`
 *   timers are cleared when the actor stops, fails or is aborted.
 *
 * @module
 */

import type { WatchCell } from "../channel/watch_cell.ts";
import type { HeaderValue, MessageEnvelope } from "./envelope.ts";
import type { ActorId } from "./reference.ts";
import type { Actor, MessagesOf, MessageTypeOf } from "./actor.ts";
import type { ActorRef, MessageSender, PortRefData, SendOptions } from "./port.ts";
import type { OncePortReceiver, PortReceiver } from "./mailbox.ts";
import type { OncePortRef, PortRef } from "./port.ts";
import type { ActorStatus } from "./status.ts";
import type { Proc } from "./proc.ts";

/** The sending/receiving capabilities of an actor or client instance. */
export interface Context<A extends Actor = Actor> extends MessageSender {
  /** This instance's actor id. */
  readonly self: ActorId;
  /** A typed reference to this actor. */
  readonly selfRef: ActorRef<A>;
  /** The proc this instance lives in. */
  readonly proc: Proc;
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
