/**
 * The proc agents (v1 `proc_agent`, v0 `mesh`), their message protocol, and
 * the proc/actor meshes built on them (merged into `mesh/mod.ts` by the lead).
 *
 * Invariants: PA-1..PA-7 (`proc_agent.ts`), PA-8..PA-9 (`proc_agent_v0.ts`),
 * PA-10 (`mesh/proc_agent/protocol.ts`), MS-30..MS-31 (`actor_mesh.ts`), MS-32..MS-33
 * (`proc_mesh.ts`).
 *
 * @module
 */

export * from "./proc_agent/protocol.ts";
export {
  actorStatusToResource,
  ProcAgent,
  type ProcAgentOptions,
  SUPERVISION_REFUSAL,
} from "./proc_agent/proc_agent.ts";
export {
  type BootstrappedV0,
  bootstrapV0,
  type BootstrapV0Options,
  ProcAgentStateError,
} from "./proc_agent/v0.ts";
export {
  ProcMesh,
  type ProcMeshOptions,
  type ProcRank,
  type ProcRankInit,
  type ProcRankState,
  type SpawnOptions,
} from "./proc_mesh.ts";
export { ActorMesh, ActorMeshStopError, ActorSpawnError } from "./actor_mesh.ts";
export type { V0Host, V0Mode } from "./proc_agent/v0_handlers.ts";
