/**
 * The legacy v0 allocator protocol (the `./v0` entry point), kept for
 * programs written against Monarch's first process allocator.
 *
 * Parent side: a {@linkcode ProcessAllocator} starts one child per rank with
 * `HYPERACTOR_MESH_BOOTSTRAP_MODE` = `V0ProcMesh`, speaks
 * `Hello`/`StartProc`/`StartedProc`/`StopAndExit` with each over a channel and
 * reports progress as {@linkcode AllocProcState} events of a
 * {@linkcode ProcessAlloc}. Child side: {@linkcode runV0ProcMesh} answers the
 * allocator and boots a proc whose agent ({@linkcode bootstrapV0}) queues
 * outbound traffic until the mesh's `Configure` arrives, then serves
 * `Gspawn`, `StatusQuery` and `StopActor`.
 *
 * New code uses the v1 path instead: `HostMesh` / `ProcMesh` from the root
 * module, which spawns through bootstrap `Proc` payloads and the resource
 * protocol.
 *
 * Invariants: BS-20..BS-24 (`bootstrap/v0_allocator.ts`), PA-8..PA-9
 * (`mesh/proc_agent/v0.ts`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { fromEnvSafeString, toEnvSafeString } from "./bootstrap/mod.ts";
 * import { BOOTSTRAP_ADDR_ENV, BOOTSTRAP_INDEX_ENV } from "./v0.ts";
 *
 * // A v0 child learns its mode, the allocator's address and its rank from its environment.
 * assertEquals(fromEnvSafeString(toEnvSafeString({ kind: "V0ProcMesh" })), { kind: "V0ProcMesh" });
 * assertEquals([BOOTSTRAP_ADDR_ENV, BOOTSTRAP_INDEX_ENV], [
 *   "HYPERACTOR_MESH_BOOTSTRAP_ADDR",
 *   "HYPERACTOR_MESH_INDEX",
 * ]);
 * ```
 * @module
 */

export {
  type AllocProcState,
  type AllocRunning,
  type AllocStopped,
  ProcessAlloc,
  ProcessAllocator,
  type ProcessAllocatorOptions,
  V0AllocatorError,
  type V0AllocatorErrorVariant,
  type V0AllocRanks,
  type V0AllocSpec,
  type V0StopOptions,
} from "./bootstrap/v0_allocator.ts";
export {
  type Allocator2Process,
  BOOTSTRAP_ADDR_ENV,
  BOOTSTRAP_INDEX_ENV,
  HEARTBEAT_INTERVAL_MS,
  type Process2Allocator,
  type Process2AllocatorMessage,
  runV0ProcMesh,
  V0BootstrapError,
  type V0ProcBooter,
  type V0ProcMeshOptions,
} from "./bootstrap/v0_proc_mesh.ts";
export {
  type BootstrappedV0,
  bootstrapV0,
  type BootstrapV0Options,
  ProcAgentStateError,
} from "./mesh/proc_agent/v0.ts";
export type { V0Host, V0Mode } from "./mesh/proc_agent/v0_handlers.ts";
export {
  type Configure,
  type Gspawn,
  type GspawnResult,
  isConfigure,
  isGspawn,
  isGspawnResult,
  isStopActor,
  PROC_AGENT_V0_ACTOR_NAME,
  type StatusQuery,
  type StopActor,
  type StopActorResult,
} from "./mesh/proc_agent/protocol.ts";
