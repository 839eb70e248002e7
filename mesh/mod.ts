/**
 * `mesh/`: many hosts as one.
 *
 * - **Data** — extents, points, slices and regions (ndslice, with the seed's
 *   text forms), the resource protocol's statuses, overlays, ranked values,
 *   value meshes, wire messages and the rank-status wait.
 * - **Agents** — the per-proc `ProcAgent` (v1 resource protocol, v0
 *   allocator protocol) and the proc/actor meshes built on it
 *   (`ProcMesh.spawn`, `ActorMesh.cast`).
 * - **Hosts** — the `HostAgent` actor on every host's service proc
 *   (`host_agent`), `HostMeshRef` (text form `ID:HOST,…@REGION`, slicing,
 *   `spawn` of proc meshes fenced on rank statuses, `stopProcMesh`,
 *   `procStates`, `pushConfig`), the owning `HostMesh` (`local`,
 *   `localInProcess`, `process`, `attach`, `take`, two-phase `shutdown`,
 *   `stop`, `await using`), and admin aggregation (`spawnAdmin`).
 *
 * ```ts ignore
 * import { context, shutdownContext } from "../actor/context.ts";
 * import { Extent, HostMesh } from "./mod.ts";
 * const cx = await context();
 * await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), command);
 * const procs = await hosts.spawn(cx, "workers", Extent.of({ gpus: 4 }));
 * const actors = await procs.spawn(cx, "trainer", "my::Trainer", { params });
 * actors.cast(cx, "Step", { n: 1 });
 * await hosts.shutdown(cx);
 * await shutdownContext();
 * ```
 *
 * Invariants: see `_data_mod.ts` and `_agent_mod.ts`; HM-1..HM-4 and
 * MS-42..MS-43 (`host_mesh.ts`), MS-40..MS-41 (`host_mesh_ref.ts`),
 * HO-10..HO-13 (`host_agent.ts`), SA-1..SA-6 / CH-1 / MA-R1 (`admin.ts`),
 * LO-5..LO-6 (`mesh/host_agent/_log_relay.ts`), LO-7..LO-8 (`log_owner.ts`).
 * HW-1..HW-6 (host death: `supervision/host_lost.ts`, `supervision/host_watch.ts`).
 *
 * @module
 */

export * from "./_data_mod.ts";
export * from "./_agent_mod.ts";
export * from "./host_agent/host_agent.ts";
export {
  type HostCallOptions,
  HostMeshRef,
  HostMeshRefParseError,
  HostRef,
  type HostSpawnOptions,
} from "./host_mesh/host_mesh_ref.ts";
export {
  HostMesh,
  type ProcessOptions,
  runHost,
  type ServedHost,
  serveLocalHost,
  serveProcessHost,
  type TeardownReport,
} from "./host_mesh/host_mesh.ts";
export {
  ConfigPushError,
  type ConfigPushFailure,
  type HostMeshRefParseErrorKind,
  MeshConfigurationError,
  ProcCreationError,
  ProcMeshStopError,
  ProcNotExistError,
  ProcSpawnError,
} from "./host_mesh/errors.ts";
export { displayLabel, instanceId, isValidMeshId, stripLabel } from "./host_mesh/id.ts";
export { OWNER_LOG_CLIENT_NAME, ownerLogPort, spawnOwnerLogClient } from "./log_owner.ts";
export {
  type AdminNode,
  aggregateHosts,
  type HostEntry,
  HostSet,
  MESH_ADMIN_ACTOR_NAME,
  MeshAdminAgent,
  spawnAdmin,
  type SpawnAdminOptions,
} from "./admin.ts";
// Supervision (SV-*): failures pushed to mesh owners.
export {
  describeMeshFailure,
  isMeshFailure,
  type MeshFailure,
  type MeshFailureKind,
} from "./supervision/failure.ts";
export {
  DEFAULT_FAILURE_BUFFER,
  FailureStream,
  type FailureSubscribeOptions,
} from "./supervision/failure_stream.ts";
export {
  type DeriveFailure,
  isSupervisorRef,
  MeshSupervisor,
  type SupervisorRef,
} from "./supervision/mesh_supervisor.ts";
export {
  defaultUnhandledMeshFailureHook,
  setUnhandledMeshFailureHook,
  type UnhandledMeshFailureHook,
} from "./supervision/unhandled.ts";
export { publishHostLost } from "./supervision/registry.ts";
export {
  addHostLostListener,
  type HostLike,
  HostLostError,
  type HostLostEvent,
  hostLostEvents,
  type HostLostListener,
  lostHosts,
} from "./supervision/host_lost.ts";
export { HostWatch, type HostWatchOptions } from "./supervision/host_watch.ts";
export type { StopOptions } from "../internal/stop_options.ts";
export type { MeshStopOptions } from "./proc_mesh.ts";
export type { HostMeshRefParts } from "./host_mesh/host_mesh_ref.ts";
export type { HostDrainOptions } from "./host_mesh/host_mesh_ref.ts";
