/**
 * Folder-private: the actor cell and its message loop (start, signals,
 * supervision, shutdown). The base cell shared with clients and the
 * {@linkcode Context} implementation live in `_instance_cell.ts` (re-exported
 * here).
 * @module
 */

// Light timers: a stopping proc must not load Deno's lazy setTimeout (BS-37).
import { settlesWithinLight } from "../internal/light_timer.ts";
import { config } from "../config/config.ts";
import { CLEANUP_TIMEOUT } from "../config/attrs.ts";
import {
  createEnvelope,
  describeDeliveryError,
  type HeaderValue,
  isMessageEnvelope,
  type MessageEnvelope,
} from "./envelope.ts";
import type { ActorId } from "./reference.ts";
import type { Actor, AnyHandler } from "./types.ts";
import { type ActorStatus, ActorStatuses } from "./status.ts";
import {
  type ActorSupervisionEvent,
  describeSupervisedFailure,
  describeSupervisionEvent,
  isError,
  MESH_CAST_HEADER,
  MESH_FAILURE_TYPE,
  type SupervisedFailure,
} from "./supervision.ts";
import { handlerIndex, UNDELIVERABLE_INDEX, UNDELIVERABLE_TYPE } from "./_handler_index.ts";
import { EnvelopeQueue } from "./_envelope_queue.ts";
import { answerBounce, replyPortOf, sendReply } from "./request.ts";

import {
  DROP,
  EMPTY_HEADERS,
  InstanceCell,
  type InstanceContext,
  type ProcCore,
} from "./_instance_cell.ts";

export { handleOf, InstanceCell, InstanceContext, type ProcCore } from "./_instance_cell.ts";

const CHILD_SILENCE_MS = 500;
const MESH_FAILURE_INDEX = handlerIndex(MESH_FAILURE_TYPE);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Signal = { kind: "DrainAndStop" | "Stop" | "Abort"; reason: string };
const SIGNAL_RANK = { DrainAndStop: 1, Stop: 2, Abort: 3 } as const;

/** Why a message loop ends in failure. */
type Failure = {
  error: string;
  causedBy?: ActorSupervisionEvent;
  /** The mesh failure this actor did not handle (MB-50). */
  meshFailure?: SupervisedFailure;
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
  /** Messages taken off the queue and handled (AW-2). */
  #processed = 0;

  constructor(core: ProcCore, id: ActorId, parent: InstanceCell | undefined, actor: Actor) {
    super(core, id, parent, ActorStatuses.Created, (envelope, index) => {
      if (index === UNDELIVERABLE_INDEX && isMessageEnvelope(envelope.data)) {
        const returned = envelope.data;
        const why = returned.errors.map(describeDeliveryError).join("; ");
        if (answerBounce(this.context, returned, why)) return; // RQ-3: not queued behind a handler
      }
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

  /** Messages handled so far (AW-2). */
  get messagesProcessed(): number {
    return this.#processed;
  }

  /** Messages queued, not yet handled (AW-2). */
  get mailboxDepth(): number {
    return this.#queue.size;
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

  override childTerminated(child: InstanceCell, event: ActorSupervisionEvent | undefined): void {
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
      this.#processed++;
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
        if (!this.actor.handleUndeliverable && returned.headers?.[MESH_CAST_HEADER] !== undefined) {
          // MB-51: the dead rank reaches the mesh's owner as a mesh failure.
          console.warn(
            `hypermesh: ${this.id.key}: cast to ${returned.dest} of mesh "${
              returned.headers[MESH_CAST_HEADER]
            }" was undeliverable`,
          );
          return this.#done(undefined);
        }
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
        if (handler === undefined && index === MESH_FAILURE_INDEX) {
          return this.#supervise(cx, envelope.data as SupervisedFailure, headers); // MB-50
        }
        const replyTo = replyPortOf(headers);
        if (replyTo !== undefined) return this.#request(cx, handler, envelope, replyTo);
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

  /** RQ-1, RQ-2: runs a request's handler and replies its outcome; never fails the actor. */
  #request(
    cx: InstanceContext,
    handler: { type: string; fn: AnyHandler } | undefined,
    envelope: MessageEnvelope,
    replyTo: string,
  ): undefined | Promise<undefined> {
    if (handler === undefined) {
      sendReply(cx, replyTo, {
        error: `no handler for message type "${envelope.type}" on ${this.id.key}`,
      }); // RQ-2
      return this.#done(undefined);
    }
    if (this.#processing !== handler.type) {
      this.status.set({ kind: "Processing", since: Date.now(), handler: handler.type }); // MB-40
      this.#processing = handler.type;
    }
    let r: unknown;
    try {
      r = handler.fn(cx, envelope.data);
    } catch (error) {
      sendReply(cx, replyTo, { error: errorText(error) }); // RQ-2
      return this.#done(undefined);
    }
    if (!isThenable(r)) {
      sendReply(cx, replyTo, { ok: r }); // RQ-1
      return this.#done(undefined);
    }
    return (async () => {
      try {
        sendReply(cx, replyTo, { ok: await r }); // RQ-1
      } catch (error) {
        sendReply(cx, replyTo, { error: errorText(error) }); // RQ-2
      } finally {
        this.#headers = EMPTY_HEADERS;
      }
      return undefined;
    })();
  }

  /** MB-50: a mesh failure of an owned mesh: handled, or this actor fails. */
  #supervise(
    cx: InstanceContext,
    failure: SupervisedFailure,
    headers: Readonly<Record<string, HeaderValue>>,
  ): Failure | undefined | Promise<Failure | undefined> {
    this.status.set({ kind: "Processing", since: Date.now(), handler: MESH_FAILURE_TYPE });
    this.#processing = undefined;
    const unhandled = (why = ""): Failure => ({
      error: `UnhandledMeshFailure: ${describeSupervisedFailure(failure)}${why}`,
      meshFailure: failure,
      headers,
    });
    const hook = this.actor.handleMeshFailure;
    if (hook === undefined) return this.#done(unhandled());
    let r: boolean | Promise<boolean>;
    try {
      r = hook.call(this.actor, cx, failure);
    } catch (error) {
      return this.#done(unhandled(` (handler threw: ${errorText(error)})`));
    }
    if (!isThenable(r)) return this.#done(r === true ? undefined : unhandled());
    return (async () => {
      try {
        return (await r) === true ? undefined : unhandled();
      } catch (error) {
        return unhandled(` (handler threw: ${errorText(error)})`);
      } finally {
        this.#headers = EMPTY_HEADERS;
      }
    })();
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
      if (!(await settlesWithinLight(changed, CHILD_SILENCE_MS))) break;
      if (this.#aborted) return;
    }
    if (this.#aborted) return;
    if (this.actor.cleanup) {
      try {
        const r = this.actor.cleanup(this.context, failure?.error);
        if (r !== undefined) {
          const cleanupMs = config.get(CLEANUP_TIMEOUT);
          if (!(await settlesWithinLight(r, cleanupMs))) {
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
    if (failure?.meshFailure) event.meshFailure = failure.meshFailure;
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
