/**
 * `ProcAgent`: the actor every proc runs (named `proc_agent` for v1, `mesh`
 * for v0) through which hosts and meshes drive the proc — a port of
 * `hyperactor_mesh::proc_agent`.
 *
 * As a resource agent it creates actors by registered type name under the
 * resource name (`CreateOrUpdate<ActorSpec>`), stops them (`Stop`), stops
 * everything (`StopAll`, then hands an exit code to the bootstrap), and
 * answers `GetRankStatus` / `GetState` / `KeepaliveGetState`. It is the
 * proc's supervision coordinator: root actors' supervision events are
 * recorded per actor and reflected in statuses. An orphan check stops actors
 * whose keepalive lapsed. `Introspect` describes the proc from live state.
 * An actor created with a `supervisor` in its spec has its failure pushed
 * to that port as a `MeshFailure` (SV-11, SV-12 in `supervision/push.ts`).
 * The v0 messages (`Configure`, `Gspawn`, `Status`, `StopActor`) are
 * described in `proc_agent_v0.ts`.
 *
 * Status of a created actor (see `actorStatusToResource`): spawn failed or
 * refused → `Failed(error)`; stop requested → `Stopped`; an error event →
 * `Failed("because of supervision events: […]")`; a clean terminal event →
 * `Stopped`; otherwise its actor status mapped (`Created`/`Initializing` →
 * `Initializing`, `Idle`/`Processing` → `Running`, `Stopping` → `Stopping`).
 *
 * Deviations from the seed, on purpose: only *error* supervision events
 * poison the proc (a cleanly stopped mesh must not block the next spawn);
 * `StopAll` reports exit code 1 when an actor had to be aborted (the seed
 * reports 0 unless the destroy itself failed); introspection is computed per
 * query instead of being republished after a delay; `numActors` counts live
 * actors only.
 *
 * ## Invariants (PA-*)
 * - PA-1, PA-2, PA-5 and PA-6 are defined in `_resources.ts`, PA-4 in
 *   `_orphans.ts`, where they are enforced.
 * - **PA-3 (StopAll).** `StopAll` never replies: it stops every actor but the
 *   agent within `HYPERACTOR_STOP_ACTOR_TIMEOUT` (then aborts the rest) and
 *   calls `onStopAll(code)` exactly once per StopAll — 0 when every actor
 *   stopped, 1 when some had to be aborted or the destroy failed.
 * - **PA-7 (live introspection).** An `Introspect` of the proc lists every
 *   actor live at that moment (including ones spawned directly on the proc),
 *   the retained stopped ones, and `isPoisoned ⇔ failedActorCount > 0`.
 *
 * @module
 */

import { config } from "../../config/config.ts";
import { MESH_ORPHAN_TIMEOUT, STOP_ACTOR_TIMEOUT } from "../../config/attrs.ts";
import type { Context } from "../../actor/types.ts";
import type { ActorHandle } from "../../actor/types.ts";
import type { MessageEnvelope } from "../../actor/envelope.ts";
import { PortRef } from "../../actor/port.ts";
import type { Proc } from "../../actor/proc.ts";
import type { ActorSupervisionEvent } from "../../actor/supervision.ts";
import type { ReconfigurableMailboxSender } from "../../actor/transport/reconfigurable_sender.ts";
import {
  type CreateOrUpdate,
  type GetRankStatus,
  type GetState,
  isCreateOrUpdate,
  isGetRankStatus,
  isGetState,
  isKeepaliveGetState,
  isStop,
  type KeepaliveGetState,
  type Stop,
  type StopAll,
} from "../resource/protocol.ts";
import type { StatusOverlayJSON } from "../resource/overlay.ts";
import {
  type ActorSpec,
  type Configure,
  type GetProc,
  type Gspawn,
  type Introspect,
  type IntrospectResult,
  isIntrospect,
  type NewClientInstance,
  PROC_AGENT_ACTOR_NAME,
  type StatusQuery,
  type StopActor,
  type StopActorResult,
} from "./protocol.ts";
import { introspect, waitTerminal } from "./_core.ts";
import { raceAbort } from "../../internal/abort.ts";
import type { StopOptions } from "../../internal/stop_options.ts";
import {
  handleConfigure,
  handleGspawn,
  handleStatus,
  handleStopActor,
  type V0Host,
  type V0Mode,
} from "./v0_handlers.ts";
import { ActorResources, errorText, safeJson } from "./_resources.ts";
import { OrphanCheck } from "./_orphans.ts";
import { actorFailure, pushFailure } from "../supervision/push.ts";

/** Options of a {@linkcode ProcAgent}. */
export interface ProcAgentOptions {
  /**
   * Receives the exit code after `StopAll` (PA-3); the bootstrap drains its
   * mailbox server and exits with it. Default: `Deno.exit(code)` (the seed's
   * behaviour without a shutdown channel).
   */
  onStopAll?: (code: number) => void;
  /**
   * v0 only: a supervision event arrived with no supervisor and nothing
   * recording it. Default: log and `Deno.exit(1)` (the seed's crash).
   */
  onUnhandledSupervisionEvent?: (event: ActorSupervisionEvent) => void;
  /** Orphan check period, ms (default `HYPERACTOR_MESH_ORPHAN_TIMEOUT`; 0 disables). */
  orphanTimeoutMs?: number;
  /** Extra system actors (besides the agent itself) for introspection. */
  isSystemActor?: (actorId: string) => boolean;
  /** Set by `bootstrapV0`: the proc's queueing forwarder (makes this a v0 agent). */
  v0Sender?: ReconfigurableMailboxSender;
}

/**
 * The proc agent actor. Boot it with {@linkcode ProcAgent.bootV1} (or
 * `bootstrapV0`); talk to it through its `ActorRef`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../../actor/proc.ts";
 * import { registerActorType } from "../../actor/registry.ts";
 * import { ProcAgent } from "./proc_agent.ts";
 * import type { StatusOverlayJSON } from "../resource/overlay.ts";
 *
 * registerActorType("doc::Noop", () => ({ handlers: {} }));
 * await using proc = Proc.local();
 * const agent = ProcAgent.bootV1(proc, { orphanTimeoutMs: 0 });
 * using client = proc.instance("client");
 * const spec = { actorType: "doc::Noop", params: null };
 * agent.ref.send(client, "CreateOrUpdate", { kind: "CreateOrUpdate", name: "noop", rank: 3, spec });
 * const { ref, receiver } = client.openPort<StatusOverlayJSON>();
 * agent.ref.send(client, "GetRankStatus", { kind: "GetRankStatus", name: "noop", reply: ref.port });
 * const overlay = await receiver.recv();
 * assertEquals([overlay.runs[0].start, overlay.runs[0].end], [3, 4]);
 * ```
 */
export class ProcAgent implements V0Host {
  /** The managed proc. */
  readonly proc: Proc;
  /** v0 configuration state, or `undefined` for a v1 agent. */
  v0: V0Mode | undefined;
  /** Whether supervision events are recorded (always for v1). */
  recordSupervisionEvents: boolean;
  readonly #resources: ActorResources;
  readonly #options: ProcAgentOptions;
  readonly #orphans: OrphanCheck;
  #selfKey = "";

  /**
   * Use {@linkcode ProcAgent.bootV1} or `bootstrapV0` instead.
   * @param proc The proc to manage.
   * @param options Callbacks and overrides.
   */
  constructor(proc: Proc, options: ProcAgentOptions = {}) {
    this.proc = proc;
    this.#options = options;
    this.#resources = new ActorResources(proc);
    if (options.v0Sender !== undefined) {
      this.v0 = { kind: "UnconfiguredV0", sender: options.v0Sender };
      this.recordSupervisionEvents = false;
      this.#orphans = new OrphanCheck(0); // v0 procs have no owner to check for
    } else {
      this.v0 = undefined;
      this.recordSupervisionEvents = true;
      const t = options.orphanTimeoutMs ?? config.get(MESH_ORPHAN_TIMEOUT);
      this.#orphans = new OrphanCheck(Number.isFinite(t) && t > 0 ? t : 0);
    }
  }

  /**
   * Spawns a v1 agent named `proc_agent` on `proc`.
   * @param proc The proc.
   * @param options Callbacks and overrides.
   * @returns The agent's handle.
   * @throws {import("../../actor/proc.ts").DuplicateActorNameError} When the proc already had one.
   */
  static bootV1(proc: Proc, options: ProcAgentOptions = {}): ActorHandle<ProcAgent> {
    const { v0Sender: _ignored, ...rest } = options;
    return proc.spawn(PROC_AGENT_ACTOR_NAME, new ProcAgent(proc, rest));
  }

  /** Actors with at least one error supervision event. */
  get failedActorCount(): number {
    return this.#resources.failedCount;
  }

  /**
   * Introspects the proc (or a terminated actor) from live state, without
   * going through the message loop (PA-7).
   * @param child Reference text; default the proc id.
   * @returns The node.
   */
  introspect(child: string = this.proc.procId.key): IntrospectResult {
    return introspect({
      proc: this.proc,
      isSystem: (id) => id === this.#selfKey || (this.#options.isSystemActor?.(id) ?? false),
      failedActorCount: this.#resources.failedCount,
      actorTypes: this.#actorTypes(),
    }, child);
  }

  #actorTypes(): Map<string, string> {
    const types = new Map<string, string>();
    for (const record of this.#resources.records()) {
      if (record.spawn.ok && record.actorType) types.set(record.spawn.actorId, record.actorType);
    }
    return types;
  }

  /**
   * Installs itself as the proc's supervision coordinator. The orphan check
   * is armed by the first keepalive (nothing can expire before one), which
   * also keeps timers off a booting proc's path to Ready.
   * @param cx The agent's context.
   * @throws {Error} When the proc already has a coordinator.
   */
  init(cx: Context): void {
    this.#selfKey = cx.self.key;
    this.proc.setSupervisionCoordinator(cx.selfRef.port("ActorSupervisionEvent"));
  }

  /**
   * Replies and anything else that bounces are logged, never fatal.
   * @param _cx The agent's context.
   * @param envelope The returned envelope.
   */
  handleUndeliverable(_cx: Context, envelope: MessageEnvelope): void {
    console.warn(`hypermesh: proc agent could not deliver ${envelope.type} to ${envelope.dest}`);
  }

  /** Message handlers (see `mesh/proc_agent/protocol.ts`). */
  readonly handlers = {
    CreateOrUpdate: (cx: Context, msg: CreateOrUpdate<ActorSpec>): Promise<void> =>
      this.#create(cx, msg),
    Stop: (cx: Context, msg: Stop): Promise<void> => this.#stop(cx, msg),
    StopAll: (cx: Context, msg: StopAll): Promise<void> => this.#stopAll(cx, msg),
    GetRankStatus: (cx: Context, msg: GetRankStatus): void => this.#getRankStatus(cx, msg),
    GetState: (cx: Context, msg: GetState): void => this.#getState(cx, msg),
    KeepaliveGetState: (cx: Context, msg: KeepaliveGetState): void => {
      if (!isKeepaliveGetState(msg)) return this.#ignore("KeepaliveGetState", msg);
      const record = this.#resources.get(msg.getState.name);
      if (record !== undefined) record.expiryMs = msg.expiresAfterMs;
      this.#orphans.arm(cx); // PA-4
      this.#getState(cx, msg.getState);
    },
    ActorSupervisionEvent: (cx: Context, event: ActorSupervisionEvent): void =>
      this.#supervisionEvent(cx, event),
    Introspect: (cx: Context, msg: Introspect): void => {
      if (!isIntrospect(msg)) return this.#ignore("Introspect", msg);
      this.#reply(cx, msg.reply, this.introspect(msg.child));
    },
    SelfCheck: (cx: Context, _msg: Record<string, never>): Promise<void> =>
      this.#orphans.check(
        cx,
        () => this.#resources.records(),
        (actorId, options) => this.stopActor(actorId, options),
      ),
    NewClientInstance: (_cx: Context, msg: NewClientInstance): void => {
      msg.reply(this.#newClient());
    },
    GetProc: (_cx: Context, msg: GetProc): void => msg.reply(this.proc),
    Configure: (cx: Context, msg: Configure): void => handleConfigure(this, cx, msg),
    Gspawn: (cx: Context, msg: Gspawn): Promise<void> => handleGspawn(this, cx, msg),
    Status: (cx: Context, msg: StatusQuery): void => handleStatus(this, cx, msg),
    StopActor: (cx: Context, msg: StopActor): Promise<void> => handleStopActor(this, cx, msg),
  };

  /**
   * Stops one actor and waits (bounded) for its terminal status.
   * @param actorId The actor id text.
   * @param options `graceMs`: how long to wait for the terminal status
   * (default `HYPERACTOR_STOP_ACTOR_TIMEOUT`); `reason` (default
   * `"stopped"`); `signal` (aborting ends the wait and rejects with its
   * reason; the stop request stays sent).
   * @returns `Success`, `Timeout`, or `NotFound` when unknown or already gone.
   */
  async stopActor(actorId: string, options: StopOptions = {}): Promise<StopActorResult> {
    const { graceMs = config.get(STOP_ACTOR_TIMEOUT), reason = "stopped", signal } = options;
    signal?.throwIfAborted();
    const cell = this.proc.stopActor(actorId, reason);
    if (cell === undefined) return { kind: "NotFound" };
    const terminal = await raceAbort(waitTerminal(cell, graceMs), signal);
    return terminal ? { kind: "Success" } : { kind: "Timeout" };
  }

  /**
   * Sends a reply whose failure must not affect the agent (bounces dropped).
   * @param cx The agent's context.
   * @param port PortId text.
   * @param msg The reply.
   */
  reply<M>(cx: Context, port: string, msg: M): void {
    this.#reply(cx, port, msg);
  }

  #reply<M>(cx: Context, port: string, msg: M): void {
    try {
      // Reply failures are only logged in the seed; here they are dropped so a
      // vanished requester can never fail the agent (PA-5).
      PortRef.attest<M>(port).withReturnUndeliverable(false).send(cx, msg);
    } catch (error) {
      console.warn(`hypermesh: proc agent cannot reply to ${port}: ${errorText(error)}`);
    }
  }

  #ignore(type: string, msg: unknown): void {
    console.warn(`hypermesh: proc agent ignores malformed ${type}: ${safeJson(msg)}`);
  }

  async #create(_cx: Context, msg: CreateOrUpdate<ActorSpec>): Promise<void> {
    if (!isCreateOrUpdate(msg) || msg.rank === null) return this.#ignore("CreateOrUpdate", msg);
    await this.#resources.create(msg.name, msg.rank, msg.spec); // PA-1, PA-2
  }

  async #stop(_cx: Context, msg: Stop): Promise<void> {
    if (!isStop(msg)) return this.#ignore("Stop", msg);
    const actorId = this.#resources.markStopped(msg.name); // PA-6
    if (actorId === undefined) return;
    await this.stopActor(actorId, { reason: msg.reason });
  }

  async #stopAll(cx: Context, msg: StopAll): Promise<void> {
    const reason = typeof msg?.reason === "string" ? msg.reason : "stop all";
    let code = 1;
    try {
      const { aborted } = await this.proc.destroyAndWait({
        graceMs: config.get(STOP_ACTOR_TIMEOUT),
        cx,
        reason,
        exceptCurrent: true,
      });
      code = aborted.length === 0 ? 0 : 1; // PA-3
      if (aborted.length > 0) {
        console.error(
          `hypermesh: StopAll on ${cx.self.key} aborted ${aborted.map((a) => a.key).join(", ")}`,
        );
      }
    } catch (error) {
      console.error(`hypermesh: StopAll on ${cx.self.key} failed: ${errorText(error)}`);
    }
    this.#resources.markAllStopped();
    const onStopAll = this.#options.onStopAll ?? ((c: number) => Deno.exit(c));
    onStopAll(code); // PA-3: never a reply
  }

  #getRankStatus(cx: Context, msg: GetRankStatus): void {
    if (!isGetRankStatus(msg)) return this.#ignore("GetRankStatus", msg);
    this.#reply<StatusOverlayJSON>(cx, msg.reply, this.#resources.rankStatus(msg.name)); // PA-5
  }

  #getState(cx: Context, msg: GetState): void {
    if (!isGetState(msg)) return this.#ignore("GetState", msg);
    this.#reply(cx, msg.reply, this.#resources.state(msg.name));
  }

  #supervisionEvent(cx: Context, event: ActorSupervisionEvent): void {
    if (this.recordSupervisionEvents) this.#resources.recordEvent(event); // PA-2, PA-7
    const record = this.#resources.recordOf(event.actorId);
    if (record?.supervisor !== undefined && !record.stopped) {
      // SV-11: the actor mesh's owner learns it at once (SV-12: never blocks).
      const failure = actorFailure(
        record.supervisor,
        record.createRank,
        this.proc.procId.key,
        event,
      );
      if (failure !== undefined) pushFailure(cx, record.supervisor, failure);
    }
    const supervisor = this.v0?.kind === "ConfiguredV0" ? this.v0.supervisor : undefined;
    if (supervisor !== undefined) {
      this.#reply(cx, supervisor, event);
    } else if (!this.recordSupervisionEvents) {
      const crash = this.#options.onUnhandledSupervisionEvent ?? ((e: ActorSupervisionEvent) => {
        console.error(
          `hypermesh: could not propagate supervision event for ${e.actorId}, crashing`,
        );
        Deno.exit(1);
      });
      crash(event);
    }
  }

  #newClient() {
    for (let n = 0;; n++) {
      const name = n === 0 ? "client" : `client_${n}`;
      try {
        return this.proc.instance(name);
      } catch (error) {
        if ((error as Error)?.name !== "DuplicateActorNameError") throw error;
      }
    }
  }
}
