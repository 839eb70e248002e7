/**
 * `ProcMesh`: ranked procs over a {@linkcode Region}, each driven through its
 * proc agent. `spawn` creates an {@linkcode ActorMesh} on every rank through
 * the resource protocol: `CreateOrUpdate<ActorSpec>` to each agent (rank
 * bound per destination) followed by `GetRankStatus` to an overlay
 * accumulator port, fenced with `HYPERACTOR_MESH_ACTOR_SPAWN_MAX_IDLE`.
 * Spawning procs over hosts (`HostMeshRef.spawn`) builds a `ProcMesh` with
 * {@linkcode ProcMesh.fromRanks}.
 *
 * ## Invariants (MS-*, SV-*)
 * - **MS-32 (spawn fence).** `spawn` resolves only when every rank reported
 *   a non-terminating status; any terminating rank, or ranks silent for the
 *   idle bound, reject with `ActorSpawnError` carrying every rank's status
 *   (silent ones as `Timeout`).
 * - **MS-33 (rank binding).** Rank `i` of the mesh receives
 *   `CreateOrUpdate{rank: i}`, so its agent reports at overlay position `i`.
 * - **SV-20 (owned).** The `cx` that spawns an actor mesh owns it: its
 *   actors' failures are pushed to a port of `cx` and come out of the actor
 *   mesh's `failures()` (and this proc mesh's), or escalate to `cx`.
 * - **SV-21 (latched answers).** `states()` answers at once for a rank with
 *   a latched proc-level failure (its status: the failure's), without
 *   asking its agent.
 *
 * @module
 */

import { config } from "../config/config.ts";
import { MESH_ACTOR_SPAWN_MAX_IDLE, MESH_GET_PROC_STATE_MAX_IDLE } from "../config/attrs.ts";
import type { Actor } from "../actor/types.ts";
import type { Context } from "../actor/types.ts";
import { ActorRef } from "../actor/port.ts";
import { ActorId, isValidName, ProcId } from "../actor/reference.ts";
import type { Region } from "../ndslice/region.ts";
import { formatStatus, isTerminating, Status } from "./resource/status.ts";
import { StatusOverlay } from "./resource/overlay.ts";
import type { ActorSpec, IntrospectResult, ProcAttrs } from "./proc_agent/protocol.ts";
import type { ProcAgent } from "./proc_agent/proc_agent.ts";
import { fenceRankStatuses } from "./_mesh_fence.ts";
import { ActorMesh, ActorSpawnError } from "./actor_mesh.ts";
import type { MeshFailure } from "./supervision/failure.ts";
import type { FailureSubscribeOptions } from "./supervision/failure_stream.ts";
import { MeshSupervisor } from "./supervision/mesh_supervisor.ts";
import type { StatusMesh } from "./resource/value_mesh.ts";
import { stopProcMesh } from "./host_mesh/_spawn.ts";
import type { StopOptions } from "../internal/stop_options.ts";
import { OwnerKeepalive } from "./supervision/keepalive.ts";
import { adoptProc, retireProc } from "./supervision/registry.ts";
import { assertHostsAlive, HostLostError } from "./supervision/host_lost.ts";
import { RequestError } from "../actor/request.ts";
import { requestOnHost } from "./call.ts";
import {
  NO_RESTART,
  type RestartPolicy,
  restartPolicy,
  type RestartPolicyInit,
} from "./restart/policy.ts";
import {
  ActorMeshRestarter,
  ProcMeshRestarter,
  type RankRestartInfo,
} from "./restart/restarter.ts";
import { type ActorMeshSlot, actorMeshSlots, procMeshSlots } from "./restart/_slots.ts";

/**
 * Options of `ProcMesh.stop`, `ActorMesh.stop` and
 * `HostMeshRef.stopProcMesh`: the shared `StopOptions`' `reason`
 * (default `"stopped"`) and `signal` (aborting ends the fence and rejects
 * with its reason), plus the idle bound of the fence. The grace of each
 * proc's stop is the host's (`HYPERACTOR_PROCESS_EXIT_TIMEOUT`).
 */
export interface MeshStopOptions extends Pick<StopOptions, "reason" | "signal"> {
  /** Longest silence of the fence, ms (each method documents its default). */
  maxIdleMs?: number;
}

/** One rank of a proc mesh. */
export interface ProcRank {
  /** The proc. */
  readonly procId: ProcId;
  /** Its agent. */
  readonly agent: ActorRef<ProcAgent>;
}

/** One rank as given to {@linkcode ProcMesh.fromRanks} (ids may be text). */
export interface ProcRankInit {
  /** The proc (id or text). */
  procId: ProcId | string;
  /** Its agent (reference, id, or id text). */
  agent: ActorRef<ProcAgent> | ActorId | string;
}

/** A rank's proc state as seen through its agent. */
export interface ProcRankState {
  /** The rank. */
  rank: number;
  /** The proc id text. */
  procId: string;
  /** `Running`; `Failed` when poisoned; `Timeout` when the agent did not answer. */
  status: Status;
  /** The agent's proc attributes, when it answered. */
  attrs: ProcAttrs | null;
}

/** Options of {@linkcode ProcMesh.fromRanks}. */
export interface ProcMeshOptions {
  /** The mesh's name (default `""`). */
  name?: string;
  /** Its owner-side supervision (default: one without an owner port). */
  supervisor?: MeshSupervisor;
}

/** Options of {@linkcode ProcMesh.spawn}. */
export interface SpawnOptions {
  /** Plain-data parameters of the actor type (default `null`). */
  params?: unknown;
  /** Cancellation. */
  signal?: AbortSignal;
  /** Idle bound, ms (default `HYPERACTOR_MESH_ACTOR_SPAWN_MAX_IDLE`). */
  maxIdleMs?: number;
  /**
   * Restarts of a failed actor on its live proc (RS-7; default: the proc
   * mesh's policy). Checked before anything is spawned (RS-1).
   */
  restartPolicy?: RestartPolicyInit;
}

/**
 * Ranked procs, each with its agent.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Region } from "../ndslice/region.ts";
 * import { ProcMesh } from "./proc_mesh.ts";
 * const mesh = ProcMesh.fromRanks(Region.parse("procs=2/1"), [
 *   { procId: "local:1,p0", agent: "local:1,p0,proc_agent[0]" },
 *   { procId: "local:2,p1", agent: "local:2,p1,proc_agent[0]" },
 * ]);
 * assertEquals(mesh.numRanks, 2);
 * assertEquals(mesh.rank(1).agent.actorId.key, "local:2,p1,proc_agent[0]");
 * ```
 */
export class ProcMesh {
  /** The ranks' region. */
  readonly region: Region;
  /** The mesh's name (its instance id when spawned over hosts). */
  readonly name: string;
  /**
   * The owner-side failure state of this mesh. Its `publish(failure)` is the
   * entry point for failures detected outside the agents' push (a lost host).
   */
  readonly supervisor: MeshSupervisor;
  readonly #ranks: ProcRank[];
  /** Actor meshes spawned here and what they were spawned with (re-created by restarts). */
  readonly #actorMeshes = new Set<ActorMesh<Actor>>();
  #restarter: ProcMeshRestarter | undefined;
  #policy: RestartPolicy = NO_RESTART;

  private constructor(
    region: Region,
    ranks: ProcRank[],
    name: string,
    supervisor: MeshSupervisor,
  ) {
    this.region = region;
    this.name = name;
    this.supervisor = supervisor;
    this.#ranks = ranks;
    // deno-lint-ignore no-this-alias
    const mesh = this;
    procMeshSlots.set(this, {
      get policy() {
        return mesh.#policy;
      },
      replaceRank: (cx, rank, fresh) => {
        const procId = ProcId.parse(fresh.procId);
        retireProc(this.#ranks[rank].procId.key); // RS-7: the former incarnation
        this.#ranks[rank] = { procId, agent: ActorRef.attest<ProcAgent>(fresh.agent) };
        adoptProc(procId.key); // SV-16
        // OW-1 for the new proc (a keepalive left without ranks has stopped).
        if (!OwnerKeepalive.of(this)?.track(procId)) OwnerKeepalive.start(cx, this);
      },
      actorMeshes: () =>
        [...this.#actorMeshes].flatMap((m) => {
          const slot = actorMeshSlots.get(m);
          return slot === undefined || slot.supervisor.closed ? [] : [slot];
        }),
      closeRestarts: async () => {
        await this.#restarter?.close(); // RS-9
        for (const m of this.#actorMeshes) await actorMeshSlots.get(m)?.restarter?.close();
      },
      enableRestarts: (cx, parts) => {
        this.#policy = parts.policy;
        if (parts.policy.restart === "never" || this.#restarter !== undefined) return;
        const slot = procMeshSlots.get(this)!;
        this.#restarter = new ProcMeshRestarter(cx, this, {
          policy: parts.policy,
          numRanks: this.numRanks,
          respawn: parts.respawn,
          replaceRank: slot.replaceRank,
          actorMeshes: slot.actorMeshes,
          recreateActor: (slot, rank, incarnation, signal) =>
            this.#recreateActor(cx, slot, rank, incarnation, signal),
          stopProc: parts.stopProc,
        });
      },
    });
  }

  /** The mesh's restart policy (`never` unless spawned with one). */
  get restartPolicy(): RestartPolicy {
    return this.#policy;
  }

  /**
   * Each rank's restart history (RS-6): restarts so far, whether one is
   * pending, whether the policy gave up on it, and its last failure.
   * @returns One entry per rank.
   */
  restarts(): RankRestartInfo[] {
    return this.#restarter?.info() ??
      Array.from({ length: this.numRanks }, (_, rank) => ({
        rank,
        restarts: 0,
        restarting: false,
        gaveUp: false,
        lastFailure: this.supervisor.failureOf(rank) ?? null,
      }));
  }

  /**
   * A proc mesh from its ranks, in region order.
   * @param region The region (its `numRanks` must equal `ranks.length`).
   * @param ranks One entry per rank.
   * @param options Name and supervision.
   * @returns The mesh.
   * @throws {RangeError} When the counts differ.
   * @throws {import("../actor/reference.ts").ReferenceParseError} For bad id text.
   */
  static fromRanks(
    region: Region,
    ranks: readonly ProcRankInit[],
    options: ProcMeshOptions = {},
  ): ProcMesh {
    if (ranks.length !== region.numRanks) {
      throw new RangeError(
        `Invalid ranks: ${ranks.length} given for region ${region} of ${region.numRanks}`,
      );
    }
    return new ProcMesh(
      region,
      ranks.map((r) => ({
        procId: typeof r.procId === "string" ? ProcId.parse(r.procId) : r.procId,
        agent: r.agent instanceof ActorRef ? r.agent : ActorRef.attest<ProcAgent>(r.agent),
      })),
      options.name ?? "",
      options.supervisor ?? new MeshSupervisor(options.name ?? "", region.numRanks),
    );
  }

  /**
   * Every failure of this mesh from now on: its procs' unrequested exits
   * and lost hosts, and the actor failures of every actor mesh spawned on
   * it (SV-4, SV-7). Ending the iteration unsubscribes; a reader that falls
   * behind reads `lagged` on its next failure (SV-5). While one is active
   * at a client owner, failures count as handled (SV-8).
   * @param options Buffer bound (default 256) and cancellation.
   * @returns The failures.
   * @example
   * ```ts ignore
   * for await (const failure of procs.failures()) {
   *   console.error(`rank ${failure.rank} failed: ${failure.reason}`);
   * }
   * ```
   */
  failures(options?: FailureSubscribeOptions): AsyncIterableIterator<MeshFailure> {
    return this.supervisor.failures(options);
  }

  /** Number of ranks. */
  get numRanks(): number {
    return this.#ranks.length;
  }

  /**
   * Every rank, in order.
   * @returns Every rank, in order.
   */
  ranks(): readonly ProcRank[] {
    return this.#ranks;
  }

  /**
   * One rank of the mesh.
   * @param index A rank.
   * @returns That rank.
   * @throws {RangeError} Out of range.
   */
  rank(index: number): ProcRank {
    const r = this.#ranks[index];
    if (r === undefined) throw new RangeError(`Invalid rank: ${index}`);
    return r;
  }

  /**
   * The agents, in rank order.
   * @returns The agents, in rank order.
   */
  agents(): ActorRef<ProcAgent>[] {
    return this.#ranks.map((r) => r.agent);
  }

  /**
   * Spawns actor type `actorType` (registered with `registerActorType` in
   * every proc's process) as `name` on every rank (MS-32, MS-33).
   * @param cx The caller.
   * @param name The resource/actor name (a valid actor name, unused on these procs).
   * @param actorType Registered type name.
   * @param options `params` (plain data, default `null`), cancellation and
   * idle bound.
   * @returns The actor mesh.
   * @throws {TypeError} For an invalid name.
   * @throws {ActorSpawnError} When a rank fails, stops or stays silent.
   * @throws {HostLostError} When a rank's host is or becomes lost (HW-4).
   */
  async spawn<A extends Actor = Actor>(
    cx: Context,
    name: string,
    actorType: string,
    options: SpawnOptions = {},
  ): Promise<ActorMesh<A>> {
    const params = options.params ?? null;
    const policy = options.restartPolicy === undefined
      ? this.#policy
      : restartPolicy(options.restartPolicy); // RS-1
    if (!isValidName(name)) throw new TypeError(`Invalid actor mesh name: "${name}"`);
    if (typeof actorType !== "string" || actorType.length === 0) {
      throw new TypeError(`Invalid actor type: ${JSON.stringify(actorType)}`);
    }
    const supervisor = MeshSupervisor.forOwner(cx, name, this.numRanks); // SV-20
    const spec: ActorSpec = { actorType, params, supervisor: supervisor.ref };
    let mesh: ActorMesh<A>;
    try {
      mesh = await this.#spawn<A>(cx, name, spec, supervisor, options);
    } catch (error) {
      supervisor.close();
      throw error;
    }
    this.#actorMeshes.add(mesh as unknown as ActorMesh<Actor>); // re-created by proc restarts
    const slot = actorMeshSlots.get(mesh)!;
    slot.spec = spec;
    if (policy.restart !== "never") {
      slot.restarter = new ActorMeshRestarter(this, {
        slot,
        policy,
        numRanks: this.numRanks,
        recreateActor: (slot, rank, incarnation, signal) =>
          this.#recreateActor(cx, slot, rank, incarnation, signal),
      });
    }
    return mesh;
  }

  /**
   * RS-7: creates an actor mesh's actor on `rank`'s current proc as
   * `incarnation` (`CreateOrUpdate` then `GetRankStatus`), resolving once it
   * runs.
   */
  async #recreateActor(
    cx: Context,
    slot: ActorMeshSlot,
    rank: number,
    incarnation: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { procId, agent } = this.#ranks[rank];
    const spec: ActorSpec = { ...slot.spec, incarnation };
    const json = await requestOnHost<unknown>(
      cx,
      procId.addr,
      `restart actor "${slot.name}"`,
      (reply) => {
        agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name: slot.name, rank, spec });
        agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name: slot.name, reply });
      },
      { timeoutMs: config.get(MESH_ACTOR_SPAWN_MAX_IDLE), signal },
    );
    let status: Status | undefined;
    try {
      status = StatusOverlay.fromJSON(json).runs().find((r) => r.start <= rank && rank < r.end)
        ?.value;
    } catch { /* a malformed answer: no status */ }
    if (status?.kind !== "Running") {
      const what = status === undefined ? "no status" : formatStatus(status);
      throw new Error(`actor "${slot.name}" did not come back on rank ${rank}: ${what}`);
    }
  }

  async #spawn<A extends Actor>(
    cx: Context,
    name: string,
    spec: ActorSpec,
    supervisor: MeshSupervisor,
    options: SpawnOptions,
  ): Promise<ActorMesh<A>> {
    // Proc failures reach the actor mesh too (SV-7), rewritten to its actor.
    this.supervisor.link(supervisor, (f) => ({
      ...f,
      meshName: name,
      actorId: new ActorId(this.#ranks[f.rank].procId, name, 0).key,
    }));
    const action = `spawn actor mesh "${name}"`;
    assertHostsAlive(this.#ranks.map((r) => r.procId.addr), action); // HW-4
    const { statuses, error, lost } = await fenceRankStatuses(cx, this.region, (reply, rank) => {
      const agent = this.#ranks[rank].agent;
      agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name, rank, spec }); // MS-33
      agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name, reply });
    }, {
      maxIdleMs: options.maxIdleMs ?? config.get(MESH_ACTOR_SPAWN_MAX_IDLE),
      signal: options.signal,
      hostOf: (rank) => this.#ranks[rank].procId.addr,
    });
    if (lost !== undefined) throw lost[0].forAction(action); // HW-4
    if (error !== undefined || statuses.values().some(isTerminating)) {
      throw new ActorSpawnError(name, statuses, { cause: error }); // MS-32
    }
    return new ActorMesh<A>(this, { name, spawnStatuses: statuses, supervisor });
  }

  /**
   * Each rank's proc state via its agent (`Introspect` of the proc): running,
   * failed when poisoned by supervision errors, or timed out.
   * @param cx The caller.
   * @param options Bound per rank (default `HYPERACTOR_MESH_GET_PROC_STATE_MAX_IDLE`) and cancellation.
   * @returns One state per rank.
   */
  states(
    cx: Context,
    options: { maxIdleMs?: number; signal?: AbortSignal } = {},
  ): Promise<ProcRankState[]> {
    const maxIdleMs = options.maxIdleMs ?? config.get(MESH_GET_PROC_STATE_MAX_IDLE);
    const start = performance.now();
    return Promise.all(this.#ranks.map(async (r, rank) => {
      const failure = this.supervisor.failureOf(rank);
      if (failure !== undefined && failure.kind !== "ActorFailure") {
        return { rank, procId: r.procId.key, status: failure.status, attrs: null }; // SV-21
      }
      const dead = (e: HostLostError) => ({
        rank,
        procId: r.procId.key,
        status: Status.failed(`host ${e.host} is lost (${e.reason})`), // HW-4
        attrs: null,
      });
      let result: IntrospectResult;
      try {
        result = await requestOnHost<IntrospectResult>(
          cx,
          r.procId.addr,
          "get proc state",
          (reply) => {
            r.agent.send(cx, "Introspect", { child: r.procId.key, reply });
          },
          { timeoutMs: maxIdleMs, signal: options.signal },
        ); // HW-4
      } catch (error) {
        if (error instanceof HostLostError) return dead(error);
        if (!(error instanceof RequestError && error.reason === "timeout")) throw error;
        const status = Status.timeout(performance.now() - start);
        return { rank, procId: r.procId.key, status, attrs: null };
      }
      if (result.attrs.nodeType !== "proc") {
        const status = Status.failed(`agent does not know proc ${r.procId.key}`);
        return { rank, procId: r.procId.key, status, attrs: null };
      }
      const attrs = result.attrs;
      const status = attrs.isPoisoned
        ? Status.failed(`proc has ${attrs.failedActorCount} failed actor(s)`)
        : Status.Running;
      return { rank, procId: r.procId.key, status, attrs };
    }));
  }

  /**
   * Stops every proc of this mesh through its host agents (per proc `Stop`
   * + `WaitRankStatus(Stopped)`, as `HostMeshRef.stopProcMesh`) and ends the
   * owner's keepalive of it (OW-2).
   * @param cx The caller.
   * @param options `reason` (default `"stopped"`), idle bound (default
   * `HYPERACTOR_MESH_PROC_STOP_MAX_IDLE`), `signal` (aborting ends the wait
   * and rejects with its reason).
   * @returns Final statuses, all terminated.
   * @throws {import("./host_mesh/errors.ts").ProcMeshStopError} Otherwise.
   */
  stop(cx: Context, options: MeshStopOptions = {}): Promise<StatusMesh> {
    OwnerKeepalive.stopFor(this); // OW-2
    return stopProcMesh(cx, this, options); // RS-9: ends the restarts first
  }

  /**
   * `{region, ranks: [{procId, agent}]}` with text ids.
   * @returns `{region, ranks: [{procId, agent}]}` with text ids.
   */
  toJSON(): { region: string; ranks: { procId: string; agent: string }[] } {
    return {
      region: this.region.toString(),
      ranks: this.#ranks.map((r) => ({ procId: r.procId.key, agent: r.agent.actorId.key })),
    };
  }
}
