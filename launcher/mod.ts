/**
 * Launchers: start, observe and stop the OS processes that host procs.
 *
 * - {@linkcode ProcLauncher} — the contract (`launch`, `terminate`, `kill`,
 *   `Symbol.asyncDispose`), keyed by proc id text `ADDR,NAME`; the manager
 *   states intent in {@linkcode LaunchOptions}, the launcher reports one
 *   terminal {@linkcode ProcExitResult}. Readiness is not the launcher's
 *   business (it comes from the bootstrap callback).
 * - {@linkcode NativeProcLauncher} — direct children via `Deno.Command`.
 * - {@linkcode BootstrapCommand} — program, args and env to start, with a
 *   plain-data JSON form for bootstrap payloads.
 * - {@linkcode ProcBind} / {@linkcode wrapCommand} — `numactl` / `taskset`
 *   placement.
 * - {@linkcode stopChild} — polite-first, bounded stop of a child.
 * - {@linkcode parseLauncherKind}, {@linkcode formatProcessName},
 *   {@linkcode launchEnv} — helpers shared by every launcher.
 *
 * Process groups: the native launcher starts each child through `setsid`
 * (the util-linux program when installed, else `detached: true`, where Deno
 * runs `setsid()` before exec), so each child leads its own session and
 * process group and every signal goes to `-pid`. Descendants that leave the
 * group are the child's own business (a bootstrap child sets PDEATHSIG for
 * its own).
 *
 * ## Invariants (LN-*)
 * - **LN-1 (polite-first).** A live child gets SIGTERM before any SIGKILL
 *   (`stopChild`, `NativeProcLauncher.terminate`).
 * - **LN-2 (bounded-stop).** `stopChild()` and `terminate()` settle within the
 *   grace period plus reap time, whatever the child does with SIGTERM.
 * - **LN-3 (own-group).** A native child leads its own process group;
 *   `terminate`, `kill` and dispose signal the whole group.
 * - **LN-4 (one-exit).** `LaunchResult.exit` resolves exactly once and never
 *   rejects; the child leaves the pid table before it resolves.
 * - **LN-5 (dispose-kills).** Disposing a native launcher SIGKILLs every
 *   recorded group, awaits every exit and refuses later launches.
 * - **LN-6 (exit-safety-net).** When this process exits normally (`unload`,
 *   including `Deno.exit()`), every still-recorded group gets SIGKILL. Best
 *   effort: a parent killed by a signal runs no handler.
 * - **LN-7 (launch-env).** The child's env is the inherited env plus the
 *   command env plus `HYPERACTOR_MESH_BOOTSTRAP_MODE`,
 *   `HYPERACTOR_PROCESS_NAME` and (when set) `BOOTSTRAP_LOG_CHANNEL`, the last
 *   three winning.
 * - **LN-8 (unknown-ok).** `terminate` and `kill` of an unknown or exited proc
 *   id succeed.
 * - LN-20..LN-22 (pre-spawned warm children) are defined in `warm_child.ts`,
 *   LN-S1..LN-S7 (the systemd launcher) in `systemd.ts` and
 *   `_systemd_properties.ts`.
 *
 * Exact timings, error wording and the native launcher's `coreDumped` (always
 * `false`: Deno does not expose `WCOREDUMP`) are deliberately not promised.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseLauncherKind, ProcBind, wrapCommand } from "./mod.ts";
 * assertEquals(parseLauncherKind("Native"), "native");
 * const wrapped = wrapCommand("deno", ["run"], { bind: new ProcBind({ cpus: "0" }) });
 * assertEquals(wrapped.program, "taskset");
 * ```
 * @module
 */

export {
  BOOTSTRAP_PERMISSIONS,
  BootstrapCommand,
  type BootstrapCommandData,
  type BootstrapCommandInit,
  BootstrapCommandParseError,
  type CurrentCommandOptions,
} from "./command.ts";
export {
  hasNumaNodes,
  NUMA_NODE0_PATH,
  PROC_BIND_KEYS,
  ProcBind,
  type ProcBindInit,
  type ProcBindKey,
  UnknownProcBindKeyError,
  wrapCommand,
  type WrapCommandOptions,
  type WrappedCommand,
} from "./proc_bind.ts";
export { stopChild, type StopChildOptions, type StopOptions, type StopResult } from "./stop.ts";
export { NativeProcLauncher, type NativeProcLauncherOptions } from "./native.ts";
export {
  BOOTSTRAP_MODE_ENV,
  formatProcessName,
  type FormatProcessNameOptions,
  InvalidLauncherKindError,
  launchEnv,
  type LauncherKind,
  type LaunchOptions,
  type LaunchResult,
  LOG_CHANNEL_ENV,
  parseLauncherKind,
  PROCESS_NAME_ENV,
  type ProcExitKind,
  type ProcExitResult,
  type ProcLauncher,
  ProcLauncherError,
  type ProcLauncherErrorOptions,
  type ProcLauncherErrorVariant,
  type StdioHandling,
} from "./types.ts";
export {
  type SystemdConnectOptions,
  SystemdProcLauncher,
  SystemdUnavailableError,
  type SystemdUnavailableVariant,
} from "./systemd.ts";
export {
  hasExecMainResult,
  isUnitTerminal,
  mapUnitExit,
  UNIT_NAME_MAX,
  UNIT_PREFIX,
  type UnitExitProps,
  unitName,
} from "./systemd_unit.ts";
export { type PrespawnOptions, WARM_ENV, type WarmStart } from "./types.ts";
export { WarmChild, type WarmChildState } from "./warm_child.ts";
export type { NativeLaunchOptions } from "./native.ts";
