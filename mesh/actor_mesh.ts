/**
 * `ActorMesh`: one actor per rank of a {@linkcode ProcMesh}, all spawned
 * under the same resource name, plus the errors of spawning and stopping one.
 *
 * Casting fans out per host (reference §12.4, `./cast_fanout.ts`,
 * `host/cast_relay.ts`, FO-1, FO-5..FO-7, CR-1..CR-4): a host with two or more live ranks of
 * the mesh gets ONE `CastForward` message that its router turns into one
 * copy per local rank as it reads it; a host with one rank gets its copy
 * directly. Every actor gets its own copy, in order with everything else
 * the sender sends through that host; replies come back through the ports
 * the message carries.
 *
 * ## Invariants (MS-*, SV-*)
 * - **MS-30 (cast reaches all).** `cast(cx, type, msg)` posts exactly one
 *   message to every actor of the mesh.
 * - **MS-31 (stop fence).** `stop()` resolves only when every rank reports a
 *   terminated status, and otherwise rejects with
 *   {@linkcode ActorMeshStopError} carrying the per-rank statuses.
 * - **SV-22 (latched answers).** After a rank's failure reached the owner,
 *   `statuses()` answers for that rank at once from the latched failure,
 *   and `states()` and `stop()` do for a rank whose proc is gone — no agent
 *   round trip, no idle wait.
 * - **SV-23 (casts to dead ranks).** `cast` never throws and never fails
 *   the caller for a failed rank: a rank with a latched failure is not sent
 *   to; the message comes back to the caller as an undeliverable at once
 *   (a client finds it on `undeliverables`; an actor's loop logs it,
 *   MB-51), and every cast message carries the `hypermesh.mesh_cast`
 *   header so a bounce from a rank not yet known dead does not fail an
 *   actor either.
 *
 * @module
 */

import { config } from "../config/config.ts";
import { MESH_GET_ACTOR_STATE_MAX_IDLE } from "../config/attrs.ts";
import type { Actor } from "../actor/types.ts";
import type { MessagesOf, MessageTypeOf, RepliesOf } from "../actor/port.ts";
import { type Requester, RequestError } from "../actor/request.ts";
import { type CallOptions, callRanks, type CallReplies, requestOnHost } from "./call.ts";
import type { Context } from "../actor/types.ts";
import { ActorRef, type MessageSender, type SendOptions } from "../actor/port.ts";
import { ActorId } from "../actor/reference.ts";
import type { Region } from "../ndslice/region.ts";
import type { State } from "./resource/protocol.ts";
import { formatStatus, isTerminated, isTerminating, Status } from "./resource/status.ts";
import type { StatusMesh } from "./resource/value_mesh.ts";
import type { ActorState } from "./proc_agent/protocol.ts";
import { fenceRankStatuses } from "./_mesh_fence.ts";
import type { MeshStopOptions, ProcMesh } from "./proc_mesh.ts";
import { createEnvelope } from "../actor/envelope.ts";
import { MESH_CAST_HEADER } from "../actor/supervision.ts";
import type { MeshFailure } from "./supervision/failure.ts";
import type { FailureSubscribeOptions } from "./supervision/failure_stream.ts";
import { MeshSupervisor } from "./supervision/mesh_supervisor.ts";
import { StatusOverlay } from "./resource/overlay.ts";
import { HostLostError } from "./supervision/host_lost.ts";
import { incarnationName } from "./proc_agent/protocol.ts";
import type { RankRestartInfo } from "./restart/restarter.ts";
import { actorMeshSlots } from "./restart/_slots.ts";
import { CAST_FORWARD_TYPE, type CastForward, planCast } from "./cast_fanout.ts";

function describeRanks(statuses: StatusMesh, pick: (s: Status) => boolean): string {
  const parts: string[] = [];
  const values = statuses.values();
  for (let rank = 0; rank < values.length && parts.length < 4; rank++) {
    if (pick(values[rank])) parts.push(`rank ${rank} is ${formatStatus(values[rank])}`);
  }
  const bad = values.filter(pick).length;
  return parts.join(", ") + (bad > parts.length ? ` (+${bad - parts.length} more)` : "");
}

/** Spawning an actor mesh failed on some rank, or some rank never reported. */
export class ActorSpawnError extends Error {
  /** The mesh (resource) name. */
  readonly meshName: string;
  /** Per-rank statuses (silent ranks as `Timeout`). */
  readonly statuses: StatusMesh;
  /**
   * Creates an ActorSpawnError.
   * @param meshName The mesh name.
   * @param statuses Per-rank statuses.
   * @param options `cause`: the wait error, for idle timeouts.
   */
  constructor(meshName: string, statuses: StatusMesh, options?: ErrorOptions) {
    super(
      `Cannot spawn actor mesh "${meshName}": ${describeRanks(statuses, isTerminating)}`,
      options,
    );
    this.name = "ActorSpawnError";
    this.meshName = meshName;
    this.statuses = statuses;
  }

  /** Ranks whose status is terminating (failed, stopped or timed out). */
  get failedRanks(): number[] {
    return this.statuses.values().flatMap((s, rank) => isTerminating(s) ? [rank] : []);
  }
}

/** Stopping an actor mesh left some rank not terminated. */
export class ActorMeshStopError extends Error {
  /** The mesh name. */
  readonly meshName: string;
  /** Per-rank statuses. */
  readonly statuses: StatusMesh;
  /**
   * Creates an ActorMeshStopError.
   * @param meshName The mesh name.
   * @param statuses Per-rank statuses.
   * @param options `cause`.
   */
  constructor(meshName: string, statuses: StatusMesh, options?: ErrorOptions) {
    super(
      `Cannot stop actor mesh "${meshName}": ${describeRanks(statuses, (s) => !isTerminated(s))}`,
      options,
    );
    this.name = "ActorMeshStopError";
    this.meshName = meshName;
    this.statuses = statuses;
  }
}

/**
 * A spawned actor mesh. Obtain one from `ProcMesh.spawn`.
 *
 * @example
 * ```ts ignore
 * const mesh = await procMesh.spawn<Echo>(cx, "echo", "test::Echo");
 * const replies = await mesh.call(cx, "Echo", "hi", { timeoutMs: 5_000 });
 * for (const [rank, reply] of replies.entries()) console.log(rank, reply);
 * await mesh.stop(cx);
 * ```
 */
export class ActorMesh<A extends Actor = Actor> {
  /** The resource name shared by every actor. */
  readonly name: string;
  /** The procs the actors live on. */
  readonly procMesh: ProcMesh;
  /** Statuses reported when the spawn completed. */
  readonly spawnStatuses: StatusMesh;
  /**
   * The owner-side failure state of this mesh (`publish(failure)` is its
   * entry point; proc failures of the proc mesh arrive here too, SV-7).
   */
  readonly supervisor: MeshSupervisor;
  readonly #refs: ActorRef<A>[];
  readonly #incarnations: number[];

  /**
   * Use `ProcMesh.spawn` instead.
   * @param procMesh The procs.
   * @param parts `name` (the resource name), `spawnStatuses` (statuses at
   * spawn), `supervisor` (its owner-side supervision; default: one without
   * an owner port).
   */
  constructor(
    procMesh: ProcMesh,
    parts: { name: string; spawnStatuses: StatusMesh; supervisor?: MeshSupervisor },
  ) {
    const { name, spawnStatuses, supervisor } = parts;
    this.procMesh = procMesh;
    this.name = name;
    this.spawnStatuses = spawnStatuses;
    this.supervisor = supervisor ?? new MeshSupervisor(name, procMesh.numRanks);
    this.#refs = procMesh.ranks().map((r) => new ActorRef<A>(new ActorId(r.procId, name, 0)));
    this.#incarnations = this.#refs.map(() => 0);
    const mesh = this as ActorMesh<A>;
    actorMeshSlots.set(this, {
      name,
      spec: { actorType: "", params: null },
      supervisor: this.supervisor,
      incarnation: (rank) => mesh.#incarnations[rank] ?? 0,
      rebind: (rank, incarnation) => { // RS-7: the rank's current proc, this incarnation
        mesh.#incarnations[rank] = incarnation;
        const procId = procMesh.rank(rank).procId;
        mesh.#refs[rank] = new ActorRef<A>(
          new ActorId(procId, incarnationName(name, incarnation), 0),
        );
      },
    });
  }

  /**
   * Each rank's restart history under the mesh's restart policy (RS-6):
   * restarts of its actor on a live proc, whether one is pending, whether
   * the policy gave up, and its last failure. (Restarts of the procs are
   * `procMesh.restarts()`.)
   * @returns One entry per rank.
   */
  restarts(): RankRestartInfo[] {
    return actorMeshSlots.get(this)?.restarter?.info() ??
      this.#refs.map((_, rank) => ({
        rank,
        restarts: 0,
        restarting: false,
        gaveUp: false,
        lastFailure: this.supervisor.failureOf(rank) ?? null,
      }));
  }

  /** The ranks of the mesh. */
  get region(): Region {
    return this.procMesh.region;
  }

  /**
   * One reference per rank, in rank order.
   * @returns One reference per rank, in rank order.
   */
  values(): ActorRef<A>[] {
    return [...this.#refs];
  }

  /**
   * Every failure of this mesh from now on: its actors' failures and the
   * proc failures of its ranks (SV-4, SV-7). Ending the iteration
   * unsubscribes; a reader that falls behind reads `lagged` on its next
   * failure (SV-5). While one is active at a client owner, failures count
   * as handled (SV-8).
   * @param options Buffer bound (default 256) and cancellation.
   * @returns The failures.
   * @example
   * ```ts ignore
   * for await (const failure of greeters.failures()) {
   *   console.error(`${failure.actorId} failed: ${failure.reason}`);
   *   break;
   * }
   * ```
   */
  failures(options?: FailureSubscribeOptions): AsyncIterableIterator<MeshFailure> {
    return this.supervisor.failures(options);
  }

  /**
   * Sends `msg` to every actor (MS-30); ranks known failed get nothing and
   * the message comes back to `cx` as undeliverable (SV-23). Never throws
   * for failed ranks.
   * @param cx The sender.
   * @param type The message type.
   * @param msg The body (each actor gets its own copy across processes; in
   *   process the same object, which must not be mutated).
   * @param options Headers.
   */
  cast<K extends MessageTypeOf<A>>(
    cx: MessageSender,
    type: K,
    msg: MessagesOf<A>[K],
    options?: SendOptions,
  ): void {
    const headers = { ...options?.headers, [MESH_CAST_HEADER]: this.name }; // SV-23
    const refs = [...this.#refs]; // FO-5: the current refs
    const plan = planCast(
      refs.map((r) => r.actorId.procId),
      (rank) => this.supervisor.failureOf(rank) === undefined,
    );
    for (const [relay, ranks] of plan.forwards) { // FO-1: one message per host
      const forward: CastForward = {
        kind: "CastForward",
        type,
        data: msg,
        headers,
        dests: ranks.map((rank) => refs[rank].port(type).port),
      };
      cx.postMessage(relay, CAST_FORWARD_TYPE, forward, true, { headers }); // FO-7: marked
    }
    for (const rank of plan.direct) refs[rank].send(cx, type, msg, { headers });
    for (let rank = 0; rank < refs.length; rank++) {
      const ref = refs[rank];
      const failure = this.supervisor.failureOf(rank);
      if (failure === undefined) continue;
      const envelope = createEnvelope({
        sender: cx.self.key,
        dest: ref.port(type).port,
        type,
        data: msg,
        headers,
      });
      envelope.errors.push({
        kind: "Unroutable",
        message: `rank ${rank} of mesh "${this.name}" failed: ${failure.reason}`,
      });
      const returnPort = new ActorRef<Actor>(cx.self).port("Undeliverable").port;
      cx.postMessage(returnPort, "Undeliverable", envelope, false); // SV-23
    }
  }

  /**
   * Asks every actor and collects the replies by rank (MC-1): each entry is
   * the rank's reply — its handler's return value (RQ-1) — or a
   * {@linkcode import("./call.ts").CallError} (timed out, handler threw,
   * undeliverable, rank known failed). Never hangs past `timeoutMs`.
   * @param cx The caller.
   * @param type The message type.
   * @param msg The body.
   * @param options `timeoutMs`, `signal`, headers.
   * @returns One entry per rank.
   * @throws {import("../actor/request.ts").RequestError} `aborted` when
   * `signal` aborts (MC-2).
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { context, shutdownContext } from "../actor/context.ts";
   * import { registerActorType } from "../actor/registry.ts";
   * import { Extent } from "../ndslice/extent.ts";
   * import { HostMesh } from "./host_mesh/host_mesh.ts";
   * registerActorType("doc::Greeter", () => ({
   *   handlers: { Greet: (_cx: unknown, msg: { name: string }) => `hello ${msg.name}` },
   * }));
   * const cx = await context();
   * try {
   *   await using hosts = await HostMesh.localInProcess();
   *   const procs = await hosts.spawn(cx, "doc", Extent.of({ procs: 2 }));
   *   const greeters = await procs.spawn(cx, "greeter", "doc::Greeter");
   *   const replies = await greeters.call(cx, "Greet", { name: "mesh" }, { timeoutMs: 5_000 });
   *   for (const [rank, reply] of replies.entries()) console.log(rank, reply);
   *   assertEquals(replies.values(), ["hello mesh", "hello mesh"]);
   * } finally {
   *   await shutdownContext();
   * }
   * ```
   */
  call<K extends MessageTypeOf<A>>(
    cx: Requester,
    type: K,
    msg: MessagesOf<A>[K],
    options?: CallOptions,
  ): Promise<CallReplies<RepliesOf<A>[K]>> {
    return callRanks<A, K>(
      cx,
      {
        name: this.name,
        region: this.region,
        values: () => this.values(),
        failureOf: (rank) => this.supervisor.failureOf(rank)?.reason,
        fanout: true, // FO-6
      },
      type,
      msg,
      options,
    );
  }

  /**
   * Current per-rank statuses from the agents (`GetRankStatus`).
   * @param cx The caller.
   * @param options Idle bound (default `HYPERACTOR_MESH_GET_ACTOR_STATE_MAX_IDLE`) and cancellation.
   * @returns Statuses; silent ranks as `Timeout`, ranks of a lost host as
   * `Failed` at once (HW-4).
   */
  async statuses(
    cx: Context,
    options: { maxIdleMs?: number; signal?: AbortSignal } = {},
  ): Promise<StatusMesh> {
    const agents = this.procMesh.agents();
    const { statuses } = await fenceRankStatuses(
      cx,
      this.region,
      (reply, rank) => {
        if (this.#answerLatched(cx, reply, rank, false)) return; // SV-22
        agents[rank].send(cx, "GetRankStatus", { kind: "GetRankStatus", name: this.name, reply });
      },
      {
        maxIdleMs: options.maxIdleMs ?? config.get(MESH_GET_ACTOR_STATE_MAX_IDLE),
        signal: options.signal,
        hostOf: (rank) => agents[rank].actorId.procId.addr, // HW-4
      },
    );
    return statuses;
  }

  /**
   * Stops every actor: `Stop` then `GetRankStatus` to each agent, fenced
   * until every rank reported (MS-31).
   * @param cx The caller.
   * @param options `reason` (default `"stopped"`), idle bound (default
   * `HYPERACTOR_MESH_GET_ACTOR_STATE_MAX_IDLE`), `signal` (aborting ends the
   * wait and rejects with its reason).
   * @returns The final statuses (all terminated).
   * @throws {ActorMeshStopError} When a rank is not terminated or stayed silent.
   * @throws {HostLostError} After stopping the other ranks, when a rank's
   * host is lost (HW-4).
   */
  async stop(cx: Context, options: MeshStopOptions = {}): Promise<StatusMesh> {
    const reason = options.reason ?? "stopped";
    await actorMeshSlots.get(this)?.restarter?.close(); // RS-9
    const agents = this.procMesh.agents();
    const { statuses, error, lost } = await fenceRankStatuses(cx, this.region, (reply, rank) => {
      if (this.#answerLatched(cx, reply, rank, true)) return; // SV-22: its proc is gone
      agents[rank].send(cx, "Stop", { kind: "Stop", name: this.name, reason });
      agents[rank].send(cx, "GetRankStatus", { kind: "GetRankStatus", name: this.name, reply });
    }, {
      maxIdleMs: options.maxIdleMs ?? config.get(MESH_GET_ACTOR_STATE_MAX_IDLE),
      signal: options.signal,
      hostOf: (rank) => agents[rank].actorId.procId.addr,
    });
    if (lost !== undefined) throw lost[0].forAction(`stop actor mesh "${this.name}"`); // HW-4
    if (error !== undefined || !statuses.values().every(isTerminated)) {
      throw new ActorMeshStopError(this.name, statuses, { cause: error });
    }
    this.supervisor.close(); // a stopped mesh reports nothing more (SV-3)
    return statuses;
  }

  /** Replies a rank's latched status to a fence port; false when there is none. */
  #answerLatched(cx: Context, reply: string, rank: number, procOnly: boolean): boolean {
    const failure = this.supervisor.failureOf(rank);
    if (failure === undefined || (procOnly && failure.kind === "ActorFailure")) return false;
    cx.send(
      { port: reply, returnUndeliverable: false },
      StatusOverlay.single(rank, failure.status).toJSON(),
    );
    return true;
  }

  /**
   * Each rank's `State<ActorState>` (`GetState` to every agent); a rank that
   * does not answer within the idle bound gets a `Timeout` state, a rank of
   * a lost host a `Failed` one at once (HW-4).
   * @param cx The caller.
   * @param options Idle bound (default `HYPERACTOR_MESH_GET_ACTOR_STATE_MAX_IDLE`) and cancellation.
   * @returns One state per rank, in rank order.
   */
  states(
    cx: Context,
    options: { maxIdleMs?: number; signal?: AbortSignal } = {},
  ): Promise<State<ActorState>[]> {
    const maxIdleMs = options.maxIdleMs ?? config.get(MESH_GET_ACTOR_STATE_MAX_IDLE);
    const start = performance.now();
    return Promise.all(
      this.procMesh.agents().map(async (agent, rank) => {
        const failure = this.supervisor.failureOf(rank);
        if (failure !== undefined && failure.kind !== "ActorFailure") {
          return { // SV-22: the proc is gone, its agent cannot answer
            kind: "State" as const,
            name: this.name,
            status: failure.status,
            state: null,
            generation: 0,
            timestamp: failure.occurredAt,
          };
        }
        const host = agent.actorId.procId.addr;
        const dead = (e: HostLostError) => ({
          kind: "State" as const,
          name: this.name,
          status: Status.failed(`host ${e.host} is lost (${e.reason})`), // HW-4
          state: null,
          generation: 0,
          timestamp: Date.now(),
        });
        try {
          return await requestOnHost<State<ActorState>>(cx, host, "get actor state", (reply) => {
            agent.send(cx, "GetState", { kind: "GetState", name: this.name, reply });
          }, { timeoutMs: maxIdleMs, signal: options.signal }); // HW-4
        } catch (error) {
          if (error instanceof HostLostError) return dead(error);
          if (!(error instanceof RequestError && error.reason === "timeout")) throw error;
          return {
            kind: "State" as const,
            name: this.name,
            status: Status.timeout(performance.now() - start),
            state: null,
            generation: 0,
            timestamp: Date.now(),
          };
        }
      }),
    );
  }
}
