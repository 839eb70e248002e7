/**
 * The typed handler model.
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
 * ## Invariants (MB-*)
 * - **MB-3 (sequential).** An actor handles one message at a time, in
 *   arrival order per sender; the next handler starts after the previous
 *   one's promise settled.
 * - **MB-4 (failure is supervision).** A throwing/rejecting handler or
 *   `init`, an unknown message type, or an unhandled undeliverable fails that
 *   actor only (status `Failed`) and emits an {@linkcode ActorSupervisionEvent};
 *   it never rejects a proc-level promise or crashes the proc.
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
 *
 * @module
 */

import type { MessageEnvelope } from "./envelope.ts";
import type { Context } from "./types.ts";
import type { ActorSupervisionEvent, SupervisedFailure } from "./supervision.ts";

/** What a handler may return. */
export type HandlerResult = void | Promise<void>;

/** Any handler: context and plain-data message. */
// deno-lint-ignore no-explicit-any
export type AnyHandler = (cx: Context<any>, msg: any) => HandlerResult;

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

/** Maps each message type an actor handles to its body type. */
export type MessagesOf<A extends Actor> = {
  [K in keyof A["handlers"] & string]: A["handlers"][K] extends // deno-lint-ignore no-explicit-any
  (cx: any, msg: infer P) => HandlerResult ? P
    : never;
};

/** The message type names an actor handles. */
export type MessageTypeOf<A extends Actor> = keyof MessagesOf<A> & string;

/**
 * Builds a handler-only actor from a handler map (type inference helper).
 * @param handlers Message type name → handler.
 * @returns An actor with those handlers.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { actorOf } from "./actor.ts";
 * const a = actorOf({ Ping: (_cx, _msg: number) => {} });
 * assertEquals(Object.keys(a.handlers), ["Ping"]);
 * ```
 */
export function actorOf<H extends Record<string, AnyHandler>>(handlers: H): { handlers: H } {
  return { handlers };
}
