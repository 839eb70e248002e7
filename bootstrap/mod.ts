/**
 * Bootstrap: from "spawned" to "Ready" and back down.
 *
 * Parent side:
 * - {@linkcode BootstrapProcManager} — launches one OS process per proc with
 *   the bootstrap command (default: `deno run … bootstrap.ts`), passing a
 *   `Bootstrap.Proc` payload in `HYPERACTOR_MESH_BOOTSTRAP_MODE`; tracks each
 *   proc in a {@linkcode BootstrapProcHandle} (`status`, `watch`, `ready`,
 *   `wait`, `terminate`, `kill`); stops one (`terminateProc`,
 *   `requestStop`) or all (`terminateAll`, concurrency-capped); SIGKILLs
 *   leftovers on dispose and on process exit.
 * - {@linkcode ProcStatus} / {@linkcode ProcStatusCell} — the lifecycle
 *   `Starting → Running → Ready → Stopping → Stopped | Killed | Failed`.
 * - {@linkcode StreamForwarder} / {@linkcode FileAppender} — captured child
 *   stdout/stderr: console mirror, stderr tail for diagnostics, rank prefix,
 *   aggregate files, log channel.
 * - {@linkcode LogForwardActor} / {@linkcode LogClientActor} — log
 *   forwarding: a host-side forwarder serves the manager's `logChannel` and
 *   hands the lines to the client's log client, which prints them at once
 *   (`[host proc] line`) or aggregated per window; {@linkcode syncFlush} is
 *   the barrier "everything forwarded so far is printed".
 * - The legacy v0 allocator (`ProcessAllocator`: one child per rank speaking
 *   `Hello`/`StartProc`/`StartedProc`/`StopAndExit`) and its child side
 *   (`runV0ProcMesh`) are exported from the `./v0` entry point (`v0.ts`).
 *
 * Child side:
 * - {@linkcode bootstrap} / {@linkcode bootstrapOrDie} — run the mode in the
 *   environment (`Proc`, `Host` via hook, `V0ProcMesh`); the proc agent is
 *   injected by the entry point (`bootstrap.ts`, the `./main` export), since
 *   it lives in `mesh/`.
 * - {@linkcode installParentDeathGuard} — the child dies with its parent.
 * - {@linkcode toEnvSafeString} / {@linkcode fromEnvSafeString} — the mode's
 *   env-safe encoding.
 *
 * ## Invariants (BS-*, LO-*)
 * Defined in the module that enforces each (listed here by ID only):
 * BS-1, BS-6 `proc_status.ts`; BS-2, BS-5 `mode.ts`; BS-3, BS-36
 * `pdeathsig.ts`; BS-4 `stream_forwarder.ts`; BS-7 `file_appender.ts`;
 * BS-8..BS-10 `manager.ts`; BS-11, BS-14 `_exit_monitor.ts`; BS-12, BS-13,
 * BS-30, BS-31, BS-37, BS-39 `bootstrap.ts`; BS-15, BS-16 `log_forward.ts`;
 * BS-17, BS-18 `log_client.ts`; BS-20 `_v0_rank.ts`; BS-21..BS-24
 * `v0_allocator.ts`; BS-32..BS-35 `warm_pool.ts`; BS-38 `_socket_dirs.ts`;
 * BS-40 `v0_proc_mesh.ts`; LO-1..LO-3 `log_sender.ts`; LO-4 `manager.ts`;
 * SN-1, SN-2 (readiness for systemd, {@linkcode sdNotify}) `sd_notify.ts`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { displayProcStatus, fromEnvSafeString, toEnvSafeString } from "./mod.ts";
 * const mode = fromEnvSafeString(toEnvSafeString({ kind: "V0ProcMesh" }));
 * assertEquals(mode, { kind: "V0ProcMesh" });
 * assertEquals(displayProcStatus({ kind: "Stopped", exitCode: 0, stderrTail: [] }), "Stopped(exit=0)");
 * ```
 * @module
 */

export * from "./mode.ts";
export * from "./proc_status.ts";
export * from "./pdeathsig.ts";
export * from "./stream_forwarder.ts";
export * from "./file_appender.ts";
export * from "./sd_notify.ts";
export {
  BootstrapProcHandle,
  type BootstrapProcHandleOptions,
  STOP_ALL_MESSAGE,
  type StopAllMessage,
} from "./proc_handle.ts";
export {
  type BootstrapCallback,
  type BootstrapProcConfig,
  BootstrapProcManager,
  type BootstrapProcManagerOptions,
  type LogMessage,
  type ProcLogSink,
} from "./manager.ts";
export {
  KEEPALIVE_INTERVAL_MS,
  LogForwardActor,
  type LogForwardActorOptions,
  spawnLogForwarder,
  type SpawnLogForwarderOptions,
  syncFlush,
  type SyncFlushOptions,
} from "./log_forward.ts";
export {
  type AggregatedEntry,
  DEFAULT_AGGREGATE_WINDOW_MS,
  formatAggregatedBlock,
  LineAggregator,
  type LogBatch,
  LogClientActor,
  type LogClientOptions,
  type LogWriter,
  normalizedLevenshtein,
  type SetAggregateMessage,
  SIMILARITY_THRESHOLD,
  type StartSyncFlushMessage,
} from "./log_client.ts";
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_LINES,
  DEFAULT_WINDOW,
  droppedMarker,
  MAX_BATCH_LINES,
  type OwnerLogAck,
  type OwnerLogBatch,
  OwnerLogSender,
  type OwnerLogSenderOptions,
} from "./log_sender.ts";
export {
  type AgentBootResult,
  bootstrap,
  BootstrapHookMissingError,
  bootstrapModeOf,
  type BootstrapOptions,
  bootstrapOrDie,
  type BootstrapOutcome,
  bootstrapProc,
  type EnvReader,
  type HostRunner,
  type ProcAgentBooter,
} from "./bootstrap.ts";
export type { WarmPool, WarmPoolStats } from "./warm_pool.ts";
export type { StopOptions } from "../internal/stop_options.ts";
