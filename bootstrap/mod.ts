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
 * - {@linkcode ProcessAllocator} — the legacy v0 allocator: one child per
 *   rank speaking `Hello`/`StartProc`/`StartedProc`/`StopAndExit`, progress
 *   as {@linkcode AllocProcState} events.
 *
 * Child side:
 * - {@linkcode bootstrap} / {@linkcode bootstrapOrDie} — run the mode in the
 *   environment (`Proc`, `Host` via hook, `V0ProcMesh`); the proc agent is
 *   injected by the entry point (`bootstrap.ts`), since it lives in `mesh/`.
 * - {@linkcode installParentDeathGuard} — the child dies with its parent.
 * - {@linkcode runV0ProcMesh} — the legacy allocator protocol.
 * - {@linkcode toEnvSafeString} / {@linkcode fromEnvSafeString} — the mode's
 *   env-safe encoding.
 *
 * ## Invariants (BS-*)
 * - **BS-1 (locking).** A status transition is one synchronous step
 *   (`proc_status.ts`).
 * - **BS-2 (deterministic env encoding)**, **BS-5 (typed decode errors)** —
 *   `mode.ts`.
 * - **BS-3 (orphan safety)**, **BS-36 (watched pid: systemd procs die with
 *   their host)** — `pdeathsig.ts`.
 * - **BS-4 (no line lost at exit)** — `stream_forwarder.ts`; the manager lets
 *   the pipes drain (bounded) before recording the exit.
 * - **BS-6 (terminal is final)** — `proc_status.ts`.
 * - **BS-7** — `file_appender.ts`.
 * - **BS-8 (launcher once)**, **BS-9 (no orphan on dispose)**, **BS-10
 *   (bounded bulk stop)**, **BS-11 (no stale socket)** — `manager.ts`.
 * - **BS-12 (callback after serving)**, **BS-13 (drain before exit)** —
 *   `bootstrap.ts`.
 * - **BS-20 (attributed bad input)**, **BS-21 (event order)**, **BS-22
 *   (channel outlives child)**, **BS-23 (polite-first stop)**, **BS-24 (no
 *   leftovers)** — `v0_allocator.ts`.
 * - **BS-14 (forwarded lines before the exit status)** — `manager.ts`.
 * - **BS-15 (in order)**, **BS-16 (no leaked timer or socket)** —
 *   `log_forward.ts`.
 * - **BS-17 (printed exactly once)**, **BS-18 (barrier)** — `log_client.ts`.
 * - **LO-1 (bounded, never blocking)**, **LO-2 (in order)**, **LO-3
 *   (drained before exit)** — `log_sender.ts`; **LO-4 (owner lines before
 *   the exit status)** — `manager.ts`.
 * - **BS-30 (warm is cold)**, **BS-31 (quiet drain)**, **BS-37 (no node
 *   timers on a cold proc's life)** — `bootstrap.ts`.
 * - **BS-32 (eligible or cold)**, **BS-33 (never hand out the dead)**,
 *   **BS-34 (pool dispose)**, **BS-35 (bounded respawn)** — `_warm_pool.ts`
 *   (`HYPERMESH_PREWARM_PROCS`).
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

export * from "./_data_mod.ts";
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
  overrideOrGlobal,
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
} from "./v0_proc_mesh.ts";
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
} from "./v0_allocator.ts";
export type { WarmPool, WarmPoolStats } from "./_warm_pool.ts";
export type { StopOptions } from "../internal/stop_options.ts";
