/**
 * What the restart controllers may change inside a proc mesh and its actor
 * meshes, and nobody else: each mesh registers its slot here when it is
 * built (the meshes' public API stays read-only).
 *
 * @module
 */

import type { ActorSpec } from "../proc_agent/protocol.ts";
import type { MeshSupervisor } from "../supervision/mesh_supervisor.ts";
import type { RestartPolicy } from "./policy.ts";
import type { Context } from "../../actor/types.ts";
import type { ActorMeshRestarter, ProcRespawner } from "./restarter.ts";

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

/** The restart-facing side of a proc mesh. */
export interface ProcMeshSlot {
  /** The mesh's restart policy. */
  readonly policy: RestartPolicy;
  /** Points `rank` at a new proc (its owner `cx` renews the proc's lease). */
  replaceRank(cx: Context, rank: number, fresh: RankBinding): void;
  /** The actor meshes spawned on it and not stopped. */
  actorMeshes(): ActorMeshSlot[];
  /** Aborts restarts in flight, of the proc mesh and its actor meshes (RS-9). */
  closeRestarts(): Promise<void>;
  /** Puts the mesh under `policy`, starting new procs with `respawn`. */
  enableRestarts(cx: Context, parts: { policy: RestartPolicy; respawn: ProcRespawner }): void;
}

/** Slots by mesh object. */
export const procMeshSlots: WeakMap<object, ProcMeshSlot> = new WeakMap();

/** Slots by mesh object. */
export const actorMeshSlots: WeakMap<object, ActorMeshSlot> = new WeakMap();
