/**
 * What the restart controllers may change inside a proc mesh and its actor
 * meshes, and nobody else: each mesh registers its slot here when it is
 * built (the meshes' public API stays read-only).
 *
 * @module
 */

import type { RestartPolicy } from "./policy.ts";
import type { Context } from "../../actor/types.ts";
import type { ActorMeshSlot, ProcRespawner, RankBinding } from "./restarter.ts";

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
  enableRestarts(
    cx: Context,
    parts: {
      policy: RestartPolicy;
      respawn: ProcRespawner;
      stopProc: (fresh: RankBinding) => void;
    },
  ): void;
}

export type { ActorMeshSlot, RankBinding };

/** Slots by mesh object. */
export const procMeshSlots: WeakMap<object, ProcMeshSlot> = new WeakMap();

/** Slots by mesh object. */
export const actorMeshSlots: WeakMap<object, ActorMeshSlot> = new WeakMap();
