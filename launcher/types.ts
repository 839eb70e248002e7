/**
 * The `ProcLauncher` contract shared by the native and systemd launchers.
 *
 * Port of `hyperactor_mesh::proc_launcher` (types, `format_process_name`,
 * `LauncherKind`). The manager states intent in {@linkcode LaunchOptions}; the
 * launcher picks the mechanics and reports the one terminal
 * {@linkcode ProcExitResult}. Readiness is never the launcher's business.
 * @module
 */

import { CHANNEL_SECRET_ENV, channelSecrets } from "../channel/secret.ts";
import type { BootstrapCommand } from "./command.ts";
import type { ProcBind } from "./proc_bind.ts";
import type { StopOptions } from "../internal/stop_options.ts";

/** Env var carrying the base64 bootstrap payload to the child. */
export const BOOTSTRAP_MODE_ENV = "HYPERACTOR_MESH_BOOTSTRAP_MODE";
/** Env var carrying the display name `proc @ host`. */
export const PROCESS_NAME_ENV = "HYPERACTOR_PROCESS_NAME";
/** Env var carrying the address the child's log forwarder serves. */
export const LOG_CHANNEL_ENV = "BOOTSTRAP_LOG_CHANNEL";
/**
 * Env var (`1`) marking a pre-spawned warm child: it prepares everything
 * that does not depend on its mode, then reads one {@linkcode WarmStart}
 * JSON line from stdin (EOF: exit 0 without bootstrapping).
 */
export const WARM_ENV = "HYPERMESH_BOOTSTRAP_WARM";
/**
 * Env var in which a launching host passes the pid a proc must not outlive
 * when that host is not the proc's parent (systemd units; BS-36). The systemd
 * launcher also reads it back from leftover units to find their host (LN-S7).
 */
export const WATCH_PID_ENV = "HYPERMESH_WATCH_PID";

/**
 * Env var a launcher sets to `SIGKILL` when it armed the child's
 * parent-death signal before the child's program started (the native
 * launcher, through util-linux `setpriv --pdeathsig`; LN-24), and to the
 * empty string when it was asked to and could not: the child's guard then
 * needs no FFI (BS-51).
 */
export const PDEATHSIG_ARMED_ENV = "HYPERMESH_PDEATHSIG_ARMED";

/**
 * The one line a warm child reads from stdin when it is adopted for a proc
 * (JSON, newline-terminated): the env-safe bootstrap payload and the
 * per-proc variables a cold launch would have set (LN-7).
 */
export interface WarmStart {
  /** The env-safe bootstrap payload ({@linkcode BOOTSTRAP_MODE_ENV}'s value). */
  mode: string;
  /** Variables to set before bootstrapping (the cold launch's env, LN-7). */
  env: Record<string, string>;
  /**
   * Variables the warm child's command set that the launch's does not:
   * removed before bootstrapping (LN-23). Absent when there are none.
   */
  unset?: string[];
}

/** What {@linkcode ProcLauncher}s that keep warm children pre-spawn. */
export interface PrespawnOptions {
  /** Program, args and env; only launches with an equal command may adopt the child. */
  command: BootstrapCommand;
  /** Pipe stdout/stderr (fixed at pre-spawn: only launches with the same `wantStdio` may adopt it). */
  wantStdio: boolean;
  /** As {@linkcode LaunchOptions.parentDeathSignal} (fixed at pre-spawn). */
  parentDeathSignal?: "SIGKILL";
}

/** What the manager wants launched; the launcher chooses how. */
export interface LaunchOptions {
  /** Env-safe (base64) bootstrap payload, delivered as {@linkcode BOOTSTRAP_MODE_ENV}. */
  bootstrapPayload: string;
  /** Display name, delivered as {@linkcode PROCESS_NAME_ENV}. */
  processName: string;
  /** Program, args and extra env. */
  command: BootstrapCommand;
  /** Pipe stdout/stderr back to the caller (native launcher) instead of inheriting. */
  wantStdio: boolean;
  /** stderr lines the manager wants to keep (informational for launchers). */
  tailLines: number;
  /** Log channel address, delivered as {@linkcode LOG_CHANNEL_ENV} when set. */
  logChannel?: string;
  /** CPU / NUMA binding. */
  procBind?: ProcBind;
  /**
   * Arm the child's parent-death signal before its program runs, when the
   * launcher can (the native launcher: util-linux `setpriv --pdeathsig`,
   * LN-24); it reports what it did in {@linkcode PDEATHSIG_ARMED_ENV}.
   * Other launchers ignore it (the child's own guard arms it).
   */
  parentDeathSignal?: "SIGKILL";
}

/** How the child's stdout/stderr are handled. */
export type StdioHandling =
  | { kind: "Captured"; stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> }
  | { kind: "Inherited" }
  | { kind: "ManagedByLauncher" };

/** How a launched process ended. */
export type ProcExitKind =
  | { kind: "Exited"; code: number }
  | { kind: "Signaled"; signal: number; coreDumped: boolean }
  | { kind: "Failed"; reason: string };

/** The terminal result of a launched process. */
export interface ProcExitResult {
  /** How it ended. */
  kind: ProcExitKind;
  /** Last stderr lines, when the launcher kept any. */
  stderrTail?: string[];
}

/** What {@linkcode ProcLauncher.launch} returns. */
export interface LaunchResult {
  /** OS pid, when the launcher exposes one. */
  pid?: number;
  /** Launch time, epoch ms. */
  startedAt: number;
  /** Stdio disposition. */
  stdio: StdioHandling;
  /** Resolves exactly once with the terminal result; never rejects. The only source of truth for exit. */
  exit: Promise<ProcExitResult>;
}

/** Which launcher backend to use. */
export type LauncherKind = "native" | "systemd";

/**
 * Starts, observes and stops OS processes for procs, keyed by the proc id's
 * canonical text (`ADDR,NAME`). `terminate` and `kill` of an unknown or
 * already-exited id succeed.
 */
export interface ProcLauncher extends AsyncDisposable {
  /** The backend kind. */
  readonly kind: LauncherKind;
  /**
   * Start the process for `procId`.
   * @throws {ProcLauncherError} variant `Launch` when it cannot be started.
   */
  launch(procId: string, options: LaunchOptions): Promise<LaunchResult>;
  /**
   * Polite stop (SIGTERM or equivalent), forced after `graceMs` (default
   * 5000 ms); aborting `signal` forces at once and rejects with its reason.
   */
  terminate(procId: string, options?: StopOptions): Promise<void>;
  /** Immediate forced stop. */
  kill(procId: string): Promise<void>;
}

/** Variants of {@linkcode ProcLauncherError} (the seeds' names). */
export type ProcLauncherErrorVariant = "Launch" | "Terminate" | "Kill" | "Other";

/** Options of {@linkcode ProcLauncherError}. */
export interface ProcLauncherErrorOptions extends ErrorOptions {
  /** The proc id concerned, if any. */
  procId?: string;
}

/**
 * A launcher operation failed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcLauncherError } from "./types.ts";
 * const e = new ProcLauncherError("Launch", "Cannot launch proc p: no such program", { procId: "p" });
 * assertEquals([e.name, e.variant, e.procId], ["ProcLauncherError", "Launch", "p"]);
 * ```
 */
export class ProcLauncherError extends Error {
  /** Which operation failed. */
  readonly variant: ProcLauncherErrorVariant;
  /** The proc id concerned, if any. */
  readonly procId?: string;
  /**
   * Create the error.
   * @param variant which operation failed.
   * @param message "Cannot <action>: <state>".
   * @param options `cause` and `procId`.
   */
  constructor(
    variant: ProcLauncherErrorVariant,
    message: string,
    options?: ProcLauncherErrorOptions,
  ) {
    super(message, options);
    this.name = "ProcLauncherError";
    this.variant = variant;
    if (options?.procId !== undefined) this.procId = options.procId;
  }
}

/** Thrown by {@linkcode parseLauncherKind} for an unknown kind. */
export class InvalidLauncherKindError extends TypeError {
  /** The rejected text. */
  readonly value: string;
  /**
   * Create the error.
   * @param value the rejected text.
   */
  constructor(value: string) {
    super(`Cannot parse proc launcher kind "${value}": expected "native" or "systemd"`);
    this.name = "InvalidLauncherKindError";
    this.value = value;
  }
}

/**
 * Parse a launcher kind from config text: trimmed, case-insensitive; `""` and
 * `"native"` → `"native"`, `"systemd"` → `"systemd"`.
 * @param s the text (e.g. `HYPERACTOR_MESH_PROC_LAUNCHER_KIND`).
 * @returns the kind.
 * @throws {InvalidLauncherKindError} for anything else.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { InvalidLauncherKindError, parseLauncherKind } from "./types.ts";
 * assertEquals(parseLauncherKind(" SystemD "), "systemd");
 * assertEquals(parseLauncherKind(""), "native");
 * assertThrows(() => parseLauncherKind("docker"), InvalidLauncherKindError, '"docker"');
 * ```
 */
export function parseLauncherKind(s: string): LauncherKind {
  const v = String(s).trim().toLowerCase();
  if (v === "" || v === "native") return "native";
  if (v === "systemd") return "systemd";
  throw new InvalidLauncherKindError(String(s));
}

/** Split `ADDR,NAME` at the last comma outside brackets; returns NAME. */
function procName(procId: string): string {
  let depth = 0;
  let cut = -1;
  for (let i = 0; i < procId.length; i++) {
    const c = procId[i];
    if (c === "[" || c === "(" || c === "<") depth++;
    else if ((c === "]" || c === ")" || c === ">") && depth > 0) depth--;
    else if (c === "," && depth === 0) cut = i;
  }
  return cut < 0 ? procId : procId.slice(cut + 1);
}

function envOrUndefined(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined; // no env permission
  }
}

/** Options of {@linkcode formatProcessName} (for tests). */
export interface FormatProcessNameOptions {
  /** Value standing in for this process's `HYPERACTOR_PROCESS_NAME` (`null`: unset). */
  processNameEnv?: string | null;
  /** Hostname provider (default `Deno.hostname`). */
  hostname?: () => string;
}

/**
 * The display name of a proc: `"<proc name> @ <host>"`. The host is the part
 * after the last `" @ "` of this process's `HYPERACTOR_PROCESS_NAME` when set
 * (the whole value if it has no `" @ "`), else `Deno.hostname()`, else
 * `"unknown_host"` (no permission, or an error).
 * @param procId canonical proc id text `ADDR,NAME`.
 * @param options test overrides.
 * @returns the display name.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatProcessName } from "./types.ts";
 * const name = formatProcessName("unix:@abc,worker-1", { processNameEnv: "host_agent @ node7" });
 * assertEquals(name, "worker-1 @ node7");
 * ```
 */
export function formatProcessName(procId: string, options: FormatProcessNameOptions = {}): string {
  const name = procName(procId);
  const env = options.processNameEnv === undefined
    ? envOrUndefined(PROCESS_NAME_ENV)
    : options.processNameEnv ?? undefined;
  let host: string | undefined;
  if (env !== undefined && env.trim() !== "") {
    const at = env.lastIndexOf(" @ ");
    host = (at < 0 ? env : env.slice(at + 3)).trim() || undefined;
  }
  if (host === undefined) {
    try {
      host = (options.hostname ?? Deno.hostname)() || undefined;
    } catch {
      host = undefined;
    }
  }
  return `${name} @ ${host ?? "unknown_host"}`;
}

/**
 * The extra environment of a launched child: the command's env plus
 * {@linkcode BOOTSTRAP_MODE_ENV}, {@linkcode PROCESS_NAME_ENV}, the channel
 * secret (`HYPERMESH_CHANNEL_SECRET`, unless insecure) and (when a log
 * channel is set) {@linkcode LOG_CHANNEL_ENV}, which win over the command's
 * values. Keys are sorted. Used by every launcher.
 * @param options the launch options.
 * @returns the variables to add to the inherited environment.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "./command.ts";
 * import { launchEnv } from "./types.ts";
 * const env = launchEnv({
 *   bootstrapPayload: "e30=",
 *   processName: "p @ h",
 *   command: BootstrapCommand.fromPath("deno").withEnv({ A: "1" }),
 *   wantStdio: false,
 *   tailLines: 0,
 * });
 * assertEquals(Object.keys(env), [
 *   "A",
 *   "HYPERACTOR_MESH_BOOTSTRAP_MODE",
 *   "HYPERACTOR_PROCESS_NAME",
 *   "HYPERMESH_CHANNEL_SECRET",
 * ]);
 * ```
 */
export function launchEnv(options: LaunchOptions): Record<string, string> {
  const merged: Record<string, string> = {
    ...options.command.env,
    [BOOTSTRAP_MODE_ENV]: options.bootstrapPayload,
    [PROCESS_NAME_ENV]: options.processName,
  }; // LN-7: the launcher's variables win over the command's
  if (options.logChannel !== undefined) merged[LOG_CHANNEL_ENV] = options.logChannel; // LN-7
  // AU-2: the child proves this process's secret (systemd units inherit no env).
  const secret = channelSecrets()?.[0];
  if (secret !== undefined) merged[CHANNEL_SECRET_ENV] = secret.toEnv();
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(merged).sort()) sorted[key] = merged[key];
  return sorted;
}
