/**
 * `mesh/`: many hosts as one.
 *
 * - **Data** — the resource protocol's statuses, overlays, ranked values,
 *   value meshes, wire messages and the rank-status wait (`resource/`). The
 *   shapes themselves (extents, points, slices, regions) are the `./ndslice`
 *   entry point (`ndslice/mod.ts`).
 * - **Agents** — the per-proc `ProcAgent` (v1 resource protocol; the v0
 *   allocator protocol's side is the `./v0` entry point) and the proc/actor
 *   meshes built on it (`ProcMesh.spawn`, `ActorMesh.cast`).
 * - **Hosts** — the `HostAgent` actor on every host's service proc
 *   (`host_agent`), `HostMeshRef` (text form `ID:HOST,…@REGION`, slicing,
 *   `spawn` of proc meshes fenced on rank statuses, `stopProcMesh`,
 *   `procStates`, `pushConfig`), the owning `HostMesh` (`local`,
 *   `localInProcess`, `process`, `attach`, `take`, two-phase `shutdown`,
 *   `stop`, `await using`), and admin aggregation (`spawnAdmin`) with its
 *   HTTP API (`serveAdmin`: `/v1/tree`, `/v1/events`, …, `admin/server.ts`).
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
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostMeshRef } from "./mod.ts";
 *
 * // Four hosts as a 2×2 mesh; slicing a mesh reference is local and cheap.
 * const ref = HostMeshRef.parse("test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1");
 * assertEquals(ref.range("replica", 1).toString(), "test:local:3,local:4@2+replica=1/2,host=2/1");
 * ```
 *
 * Invariants: MS-9..MS-11 (`resource/status.ts`), MS-12
 * (`resource/value_mesh.ts`), MS-13 (`resource/ranked_values.ts`),
 * MS-14..MS-15 (`resource/overlay.ts`), MS-16 (`resource/protocol.ts`),
 * MS-17..MS-18 (`resource/rank_status_wait.ts`); PA-1..PA-7
 * (`proc_agent/proc_agent.ts`), PA-8..PA-9 (`proc_agent/v0.ts`), PA-10
 * (`proc_agent/protocol.ts`), MS-30..MS-31 (`actor_mesh.ts`), MS-32..MS-33
 * (`proc_mesh.ts`); HM-1..HM-4 and
 * MS-42..MS-43 (`host_mesh.ts`), MS-40..MS-41 (`host_mesh_ref.ts`),
 * HA-10..HA-13 (`host_agent.ts`), SA-1..SA-3, SA-6, MA-C1, MA-R1, AW-2 (`admin.ts`),
 * AW-1 (`host_agent/proc_metrics.ts`), AW-3..AW-4 (`admin/events.ts`), AW-5..AW-7 and
 * AW-10 (`admin/server.ts`), AW-8 (`supervision/observe.ts`), AW-9 (`host_agent.ts`),
 * OL-5..OL-6 (`mesh/host_agent/_log_relay.ts`), OL-7..OL-8 (`log_owner.ts`).
 * HW-1..HW-6 (host death: `supervision/host_lost.ts`, `supervision/host_watch.ts`).
 * JB-1..JB-4 (jobs: `allocate`, `LocalJob`, `SshJob` in `job/`).
 *
 * @module
 */

export {
  clampMin,
  compareStatus,
  formatElapsed,
  formatStatus,
  isFailure,
  isHealthy,
  isNotExist,
  isStatus,
  isTerminated,
  isTerminating,
  Status,
  STATUS_KINDS,
  type StatusConstructors,
  statusEquals,
  statusKey,
  type StatusKind,
} from "./resource/status.ts";
export {
  applyOverlay,
  OverlayError,
  type OverlayErrorKind,
  type Run,
  StatusOverlay,
  type StatusOverlayJSON,
} from "./resource/overlay.ts";
export {
  type KeyOf,
  type StatusMesh,
  ValueMesh,
  type ValueMeshJSON,
  type ValueMeshOptions,
} from "./resource/value_mesh.ts";
export {
  type RankedGroup,
  RankedGroups,
  RankedValues,
  type RankedValuesOptions,
} from "./resource/ranked_values.ts";
export {
  type CreateOrUpdate,
  formatState,
  type GetRankStatus,
  type GetState,
  type Guard,
  isCreateOrUpdate,
  isGetRankStatus,
  isGetState,
  isKeepaliveGetState,
  isList,
  isResourceMessage,
  isState,
  isStop,
  isStopAll,
  isStreamState,
  isWaitRankStatus,
  type KeepaliveGetState,
  type List,
  type ResourceMessage,
  type State,
  type Stop,
  type StopAll,
  type StreamState,
  type WaitRankStatus,
} from "./resource/protocol.ts";
export {
  OverlayAccumulator,
  type OverlayAccumulatorOptions,
  RankStatusWaitError,
  type RankStatusWaitReason,
  waitRankStatus,
  type WaitRankStatusOptions,
} from "./resource/rank_status_wait.ts";
export * from "./proc_agent/protocol.ts";
export { ProcAgent, type ProcAgentOptions } from "./proc_agent/proc_agent.ts";
export {
  ProcMesh,
  type ProcMeshOptions,
  type ProcRank,
  type ProcRankInit,
  type ProcRankState,
  type SpawnOptions,
} from "./proc_mesh.ts";
export { ActorMesh, ActorMeshStopError, ActorSpawnError } from "./actor_mesh.ts";
export * from "./host_agent/host_agent.ts";
export { type ProcMetrics, ProcMetricsSampler } from "./host_agent/proc_metrics.ts";
export {
  type HostCallOptions,
  HostMeshRef,
  HostMeshRefParseError,
  HostRef,
  type HostSpawnOptions,
} from "./host_mesh/host_mesh_ref.ts";
export { HostMesh, type ProcessOptions, type TeardownReport } from "./host_mesh/host_mesh.ts";
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
export {
  type AdminServer,
  adminToken,
  parseAdminAddr,
  redactConfig,
  serveAdmin,
  type ServeAdminOptions,
  writeTokenFile,
} from "./admin/server.ts";
export { type AdminEvent, AdminEventLog, DEFAULT_EVENT_WINDOW } from "./admin/events.ts";
export { adminOpenApi } from "./admin/openapi.ts";
export { type MeshFailureObserver, observeMeshFailures } from "./supervision/observe.ts";
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
  type RestartHook,
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
export { CallError, type CallOptions, type CallReplies } from "./call.ts";
export type { StopOptions } from "../internal/stop_options.ts";
export type { MeshStopOptions } from "./proc_mesh.ts";
export type { HostMeshRefParts } from "./host_mesh/host_mesh_ref.ts";
export type { HostDrainOptions } from "./host_mesh/host_mesh_ref.ts";
export {
  backoffDelay,
  type BackoffPolicy,
  NO_RESTART,
  RESTART_DEFAULTS,
  type RestartMode,
  type RestartPolicy,
  restartPolicy,
  RestartPolicyError,
  type RestartPolicyInit,
} from "./restart/policy.ts";
export { type NoRestartReason, RestartBudget, type RestartDecision } from "./restart/budget.ts";
export type { RankRestartInfo } from "./restart/restarter.ts";
export {
  allocate,
  type AllocateOptions,
  type HostDaemonSpec,
  type HostJob,
  type JobHostFailure,
  JobMesh,
  type JobProcesses,
  JobStartError,
} from "./job/job.ts";
export { LocalJob, type LocalJobOptions } from "./job/local.ts";
export { parseSshDestination, type SshDestination, SshJob, type SshJobOptions } from "./job/ssh.ts";
