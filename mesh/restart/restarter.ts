/**
 * Restart in place: the owner-side controllers that bring a failed rank
 * back under its mesh's {@linkcode RestartPolicy}.
 *
 * A {@linkcode ProcMeshRestarter} takes the proc-level failures of a proc
 * mesh (a proc killed, failed, or exited by itself): after the backoff it
 * asks the rank's host agent for a new proc — same rank, same mesh, same
 * spec, a fresh proc name, so messages to the old incarnation bounce —,
 * re-creates on it every actor mesh that was spawned on the proc mesh (with
 * the recorded actor type and parameters), points the rank at it, and
 * unlatches the rank. An {@linkcode ActorMeshRestarter} does the same for
 * an actor that failed on a live proc: a new incarnation of the actor on
 * the same proc (`NAME--rN`, RS-7).
 *
 * While a rank is down, it is latched failed (SV-2): casts to it come back
 * to the sender as undeliverable and `call` answers its rank with an
 * `undeliverable` `CallError` at once (SV-23, MC-2) — nothing is queued
 * for it. Every other rank keeps running and answering.
 *
 * ## Invariants (RS-*)
 * - **RS-5 (restarting is not escalated).** A failure a restart controller
 *   takes (through `MeshSupervisor.onRestart`) is published with
 *   `restarting: true` and its `attempt` — latched, streamed and derived to
 *   the actor meshes as any other (SV-2, SV-7) — but not escalated (SV-8):
 *   the rank comes back, and `recover` unlatches it. A failure the policy
 *   declines escalates as before.
 * - **RS-6 (visible).** Every restart is published as a `MeshFailure` with
 *   `restarting: true` and its attempt (RS-5); `restarts()` reports each
 *   rank's count, last failure and whether a restart is pending; the new
 *   proc's host reports `restarts` / `lastFailure` for it (`HostProcInfo`,
 *   shown by `hypermesh status` and the admin tree).
 * - **RS-7 (new incarnations).** A restarted rank runs a new proc with a
 *   fresh name; a restarted actor on a live proc runs under a fresh root
 *   name (`incarnationName`: `NAME--rN`, spawned by its proc agent on a
 *   `CreateOrUpdate` with a higher `incarnation`). The mesh's references
 *   point at the new incarnation; a message to a former one bounces to its
 *   sender (never delivered to the new one) and is not reported by GC-1.
 * - **RS-8 (a failed restart is a failure).** When the new incarnation
 *   cannot be started (spawn error, actors that fail to come up), that is
 *   published as a new failure of the rank and goes through the policy
 *   again; the intensity limit (RS-2) ends the loop.
 * - **RS-9 (teardown wins).** Once the mesh is stopped (or its restarter
 *   closed), no restart starts; a restart in flight is aborted, and a proc
 *   it already created is stopped.
 *
 * @module
 */

import { delay } from "@std/async/delay";
import type { Context } from "../../actor/types.ts";
import type { ActorRef } from "../../actor/port.ts";
import type { ProcAgent } from "../proc_agent/proc_agent.ts";
import { ActorId, type ProcId } from "../../actor/reference.ts";
import { Status } from "../resource/status.ts";
import type { MeshFailure } from "../supervision/failure.ts";
import type { MeshSupervisor } from "../supervision/mesh_supervisor.ts";
import { RestartBudget } from "./budget.ts";
import type { RestartPolicy } from "./policy.ts";
import { incarnationName } from "../proc_agent/protocol.ts";
import type { ActorSpec } from "../proc_agent/protocol.ts";

/** One rank of a proc mesh (the shape of `ProcMesh.rank()`). */
export interface RankBinding {
  /** The proc id text. */
  procId: string;
  /** The agent's actor id text. */
  agent: string;
}

/** The restart-facing side of an actor mesh. */
export interface ActorMeshSlot {
  /** The mesh's name. */
  readonly name: string;
  /** What its actors were spawned with (set once spawned). */
  spec: ActorSpec;
  /** Its actor-level restart controller, under a restart policy. */
  restarter?: ActorMeshRestarter;
  /** Its supervision. */
  readonly supervisor: MeshSupervisor;
  /** The incarnation running on `rank` (0 on a fresh proc). */
  incarnation(rank: number): number;
  /** Points `rank` at `incarnationName(name, incarnation)` on the rank's current proc. */
  rebind(rank: number, incarnation: number): void;
}

/** One rank's restart history, as `ProcMesh.restarts()` / `ActorMesh.restarts()` report it. */
export interface RankRestartInfo {
  /** The rank. */
  rank: number;
  /** Restarts so far. */
  restarts: number;
  /** A restart is waiting out its backoff or bringing the rank up. */
  restarting: boolean;
  /** The policy gave up on the rank (RS-2): its last failure escalated. */
  gaveUp: boolean;
  /** The rank's last failure, if any. */
  lastFailure: MeshFailure | null;
}

/**
 * Starts a new proc for a rank and resolves once it runs.
 * @param rank The rank.
 * @param restartOf The attempt and the failure it replaces (shown by its host).
 * @param signal Aborted when the mesh is torn down.
 * @returns The new proc and its agent.
 */
export type ProcRespawner = (
  rank: number,
  restartOf: { attempt: number; lastFailure: string },
  signal: AbortSignal,
) => Promise<RankBinding>;

/** What a restarter needs of its proc mesh. */
export interface RestartableProcMesh {
  /** The mesh's name. */
  readonly name: string;
  /** Its supervision. */
  readonly supervisor: MeshSupervisor;
  /** The rank's current proc. */
  rank(index: number): { procId: ProcId; agent: ActorRef<ProcAgent> };
}

/** Per-rank bookkeeping shared by both controllers. */
class RankBook {
  readonly budget: RestartBudget;
  readonly last = new Map<number, MeshFailure>();
  readonly pending = new Map<number, Promise<void>>();
  readonly gaveUp = new Set<number>();
  readonly abort = new AbortController();

  constructor(policy: RestartPolicy, supervisor: MeshSupervisor) {
    this.budget = new RestartBudget(policy);
    supervisor.onClosed(() => this.abort.abort(new DOMException("mesh closed", "AbortError")));
  }

  /** Decides for `failure`; returns its attempt when it restarts. */
  take(failure: MeshFailure, run: (attempt: number, delayMs: number) => Promise<void>) {
    if (this.abort.signal.aborted) return undefined; // RS-9
    this.last.set(failure.rank, failure);
    const decision = this.budget.decide(failure);
    if (!decision.restart) {
      if (decision.why === "intensity") this.gaveUp.add(failure.rank); // RS-2
      return undefined;
    }
    const running = run(decision.attempt, decision.delayMs).finally(() => {
      if (this.pending.get(failure.rank) === running) this.pending.delete(failure.rank);
    });
    this.pending.set(failure.rank, running);
    return decision.attempt;
  }

  info(numRanks: number): RankRestartInfo[] {
    return Array.from({ length: numRanks }, (_, rank) => ({
      rank,
      restarts: this.budget.restarts(rank),
      restarting: this.pending.has(rank),
      gaveUp: this.gaveUp.has(rank),
      lastFailure: this.last.get(rank) ?? null,
    }));
  }

  async close(): Promise<void> {
    this.abort.abort(new DOMException("mesh stopped", "AbortError"));
    await Promise.allSettled([...this.pending.values()]);
  }
}

/**
 * Creates (or re-creates) one actor of an actor mesh on a rank's current
 * proc, as incarnation `incarnation`, and resolves once it runs.
 * @throws {Error} When it does not come up.
 */
export type ActorRecreator = (
  slot: ActorMeshSlot,
  rank: number,
  incarnation: number,
  signal: AbortSignal,
) => Promise<void>;

/**
 * The proc-level restart controller of one proc mesh.
 * @example
 * ```ts ignore
 * const procs = await hosts.ref.spawn(cx, "workers", Extent.of({ procs: 2 }), {
 *   restartPolicy: { restart: "on-failure", maxRestarts: 2, withinMs: 60_000 },
 * });
 * for await (const f of procs.failures()) console.log(f.rank, f.restarting, f.attempt);
 * ```
 */
export class ProcMeshRestarter {
  readonly #cx: Context;
  readonly #mesh: RestartableProcMesh;
  readonly #respawn: ProcRespawner;
  readonly #actorMeshes: () => ActorMeshSlot[];
  readonly #replace: (cx: Context, rank: number, fresh: RankBinding) => void;
  readonly #recreate: ActorRecreator;
  readonly #stopProc: (fresh: RankBinding) => void;
  readonly #book: RankBook;
  readonly #numRanks: number;

  /**
   * Installs the controller as the proc mesh's restart hook (RS-5).
   * @param cx The owner.
   * @param mesh The proc mesh.
   * @param parts The policy, rank count, how to start a rank's proc, how to
   * rebind a rank, the actor meshes to re-create and how, and how to stop a
   * proc started for a mesh that is gone.
   */
  constructor(
    cx: Context,
    mesh: RestartableProcMesh,
    parts: {
      policy: RestartPolicy;
      numRanks: number;
      respawn: ProcRespawner;
      replaceRank: (cx: Context, rank: number, fresh: RankBinding) => void;
      actorMeshes: () => ActorMeshSlot[];
      recreateActor: ActorRecreator;
      stopProc: (fresh: RankBinding) => void;
    },
  ) {
    this.#recreate = parts.recreateActor;
    this.#stopProc = parts.stopProc;
    this.#cx = cx;
    this.#mesh = mesh;
    this.#respawn = parts.respawn;
    this.#replace = parts.replaceRank;
    this.#actorMeshes = parts.actorMeshes;
    this.#numRanks = parts.numRanks;
    this.#book = new RankBook(parts.policy, mesh.supervisor);
    mesh.supervisor.onRestart((failure) => {
      if (failure.kind === "ActorFailure") return undefined; // the actor mesh's own
      return this.#book.take(failure, (attempt, delayMs) => this.#run(failure, attempt, delayMs));
    });
  }

  /**
   * Each rank's restart history (RS-6).
   * @returns One entry per rank.
   */
  info(): RankRestartInfo[] {
    return this.#book.info(this.#numRanks);
  }

  /**
   * Stops restarting: aborts restarts in flight and waits for them (RS-9).
   * @returns When nothing is in flight.
   */
  close(): Promise<void> {
    this.#mesh.supervisor.onRestart(undefined);
    return this.#book.close();
  }

  async #run(failure: MeshFailure, attempt: number, delayMs: number): Promise<void> {
    const signal = this.#book.abort.signal;
    const rank = failure.rank;
    let fresh: RankBinding | undefined;
    try {
      if (delayMs > 0) await delay(delayMs, { signal }); // RS-3 (0: at once)
      fresh = await this.#respawn(rank, { attempt, lastFailure: failure.reason }, signal);
      signal.throwIfAborted();
      this.#replace(this.#cx, rank, fresh);
      for (const slot of this.#actorMeshes()) {
        await this.#recreate(slot, rank, 0, signal);
        slot.rebind(rank, 0);
        slot.supervisor.recover(rank, "proc");
      }
      this.#mesh.supervisor.recover(rank, "proc");
    } catch (error) {
      if (signal.aborted) {
        if (fresh === undefined) return;
        try {
          this.#stopProc(fresh); // RS-9
        } catch { /* the owner can no longer send: the proc's lease runs out (OW-1) */ }
        return;
      }
      // RS-8: the new incarnation failed to come up.
      const procId = fresh?.procId ?? `${failure.procId}~restart${attempt}`;
      const reason = `restart ${attempt} failed: ${
        error instanceof Error ? error.message : String(error)
      }`;
      this.#mesh.supervisor.publish({
        kind: "ProcExit",
        meshName: this.#mesh.name,
        rank,
        procId,
        actorId: null,
        status: Status.failed(reason),
        reason,
        stderrTail: [],
        occurredAt: Date.now(),
      });
    }
  }
}

/**
 * The actor-level restart controller of one actor mesh: a failed actor on a
 * live proc comes back as a new incarnation on the same proc (RS-7).
 */
export class ActorMeshRestarter {
  readonly #procMesh: RestartableProcMesh;
  readonly #slot: ActorMeshSlot;
  readonly #recreate: ActorRecreator;
  readonly #book: RankBook;
  readonly #numRanks: number;

  /**
   * Installs the controller as the actor mesh's restart hook (RS-5).
   * @param procMesh The proc mesh the actors live on.
   * @param parts The actor mesh's slot, its policy, rank count, and how to
   * re-create an actor.
   */
  constructor(
    procMesh: RestartableProcMesh,
    parts: {
      slot: ActorMeshSlot;
      policy: RestartPolicy;
      numRanks: number;
      recreateActor: ActorRecreator;
    },
  ) {
    this.#recreate = parts.recreateActor;
    this.#procMesh = procMesh;
    this.#slot = parts.slot;
    this.#numRanks = parts.numRanks;
    this.#book = new RankBook(parts.policy, parts.slot.supervisor);
    parts.slot.supervisor.onRestart((failure) => {
      if (failure.kind !== "ActorFailure") return undefined; // the proc mesh's
      if (failure.procId !== procMesh.rank(failure.rank).procId.key) return undefined; // stale
      return this.#book.take(failure, (attempt, delayMs) => this.#run(failure, attempt, delayMs));
    });
  }

  /**
   * Each rank's restart history (RS-6).
   * @returns One entry per rank.
   */
  info(): RankRestartInfo[] {
    return this.#book.info(this.#numRanks);
  }

  /**
   * Stops restarting (RS-9).
   * @returns When nothing is in flight.
   */
  close(): Promise<void> {
    this.#slot.supervisor.onRestart(undefined);
    return this.#book.close();
  }

  async #run(failure: MeshFailure, attempt: number, delayMs: number): Promise<void> {
    const signal = this.#book.abort.signal;
    const rank = failure.rank;
    const incarnation = this.#slot.incarnation(rank) + 1;
    try {
      if (delayMs > 0) await delay(delayMs, { signal }); // RS-3 (0: at once)
      if (this.#procMesh.rank(rank).procId.key !== failure.procId) return; // the proc restarted
      this.#slot.rebind(rank, incarnation); // a failed attempt still uses its name up
      await this.#recreate(this.#slot, rank, incarnation, signal);
      this.#slot.supervisor.recover(rank, "actor");
    } catch (error) {
      if (signal.aborted) return; // RS-9
      const reason = `restart ${attempt} failed: ${
        error instanceof Error ? error.message : String(error)
      }`;
      this.#slot.supervisor.publish({ // RS-8
        kind: "ActorFailure",
        meshName: this.#slot.name,
        rank,
        procId: failure.procId,
        actorId: new ActorId(
          this.#procMesh.rank(rank).procId,
          incarnationName(this.#slot.name, incarnation),
          0,
        ).key,
        status: Status.failed(reason),
        reason,
        stderrTail: [],
        occurredAt: Date.now(),
      });
    }
  }
}
