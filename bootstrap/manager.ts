/**
 * `BootstrapProcManager`: the host-side runtime that launches and supervises
 * bootstrap child processes (port of the seed's `BootstrapProcManager`).
 *
 * Per spawn it serves a one-shot callback channel, encodes a
 * `Bootstrap.Proc` payload, launches the bootstrap command through the
 * manager's launcher, marks the handle `Running`, wires captured stdio into
 * {@linkcode StreamForwarder}s, monitors the exit (`Exited → Stopped`,
 * `Signaled → Killed`, `Failed → Failed`, with the stderr tail) and marks
 * `Ready{addr, agent}` when the child calls back.
 *
 * Warm pool: with `HYPERMESH_PREWARM_PROCS` > 0 at construction (and the
 * native launcher kind), the manager keeps that many children of its default
 * command pre-spawned and a spawn that can use one adopts it instead of
 * starting a process; everything above is unchanged (`warm_pool.ts`,
 * BS-32..BS-35).
 *
 * ## Invariants (BS-*, LO-*)
 * - **BS-8 (launcher once).** The launcher is chosen once: `setLauncher()`
 *   before first use, else from `HYPERACTOR_MESH_PROC_LAUNCHER_KIND` at the
 *   first `launcher()` / `spawn()`; later `setLauncher()` calls are refused.
 * - **BS-9 (no orphan on dispose).** Disposing the manager SIGKILLs every
 *   child still running, awaits every exit, and removes the socket directory.
 *   When this process exits normally (`unload`, including `Deno.exit()`),
 *   every recorded child group gets SIGKILL (best effort: a parent killed by
 *   a signal runs no handler; children's parent-death guards cover that).
 * - **BS-10 (bounded bulk stop).** `terminateAll()` runs at most
 *   `maxInFlight` terminations at once; an already-exited child counts as ok.
 * - BS-11 (no stale socket file) and BS-14 (forwarded lines before the exit
 *   status) are defined where they are enforced, `_exit_monitor.ts`.
 * - **LO-4 (owner lines before the exit status).** With log forwarding on
 *   and a per-proc `logSink` (`BootstrapProcConfig.logSink`), every line is
 *   pushed to the sink, and the sink's `drain()` has settled (after both
 *   pipes reached EOF, bounded) before the terminal status is published; the
 *   mesh layer's sink resolves once the owner acknowledged every line, or
 *   after 1 s (enforced in `_proc_stdio.ts`).
 * - BS-38: the socket directory is `hypermesh-<pid>-*`, swept by the next
 *   manager (`_socket_dirs.ts`).
 *
 * BS-8 is enforced in `_launcher_slot.ts`; the exit safety net and the
 * dispose-time kill of BS-9 live in `_safety_net.ts`.
 *
 * Log forwarding: `HYPERACTOR_MESH_ENABLE_LOG_FORWARDING` (per-proc override
 * first) sends each captured line batch, as a {@linkcode LogMessage}, to the
 * manager's `logChannel` — the address served by a host-side
 * `LogForwardActor` (see `log_forward.ts`), which is also handed to the
 * child as `BOOTSTRAP_LOG_CHANNEL`. A proc spawned with a `logSink` (the mesh
 * layer's sender to the mesh owner, `mesh/host_agent/_log_relay.ts`) gets every
 * batch pushed to it too (LO-4). Without either the lines are only mirrored,
 * tailed and file-captured (one warning per manager).
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { makeSocketDir, sweepSocketDirs } from "./_socket_dirs.ts";
import { serve } from "../channel/mod.ts";
import type { ChannelServer } from "../channel/types.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Context } from "../actor/types.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import type { ProcBind } from "../launcher/proc_bind.ts";
import type { ProcLauncher } from "../launcher/types.ts";
import { config } from "../config/config.ts";
import { MESH_TERMINATE_CONCURRENCY } from "../config/attrs.ts";
import { raceAbort } from "../internal/abort.ts";
import type { StopOptions } from "../internal/stop_options.ts";
import { HostError } from "../host/errors.ts";
import type { ProcManager } from "../host/proc_handle.ts";
import {
  type BulkTerminate,
  bulkTerminate,
  type SingleTerminate,
  type TerminateAllOptions,
  type TerminateProcResult,
  TerminateSummary,
} from "../host/terminate.ts";
import { isExit } from "./proc_status.ts";
import type { ProcStatus } from "./proc_status.ts";
import type { FileAppender } from "./file_appender.ts";
import { BootstrapProcHandle } from "./proc_handle.ts";
import { forgetLivePid, killRunning, recordLivePid } from "./_safety_net.ts";
import { LauncherSlot } from "./_launcher_slot.ts";
import { envGet, forwardStdio, openFileAppender } from "./_proc_stdio.ts";
import { awaitCallback, monitorExit } from "./_exit_monitor.ts";
import { launchBootstrap } from "./_launch_proc.ts";
import { type WarmPool, warmPoolFromConfig } from "./warm_pool.ts";

/** What a bootstrapped child sends on the callback channel (plain data). */
export interface BootstrapCallback {
  /** The proc's serving address (text). */
  addr: string;
  /** The proc agent's actor id (text). */
  agent: string;
}

export type { LogMessage } from "./log_forward.ts";

/** Per-proc configuration of {@linkcode BootstrapProcManager.spawn}. */
export interface BootstrapProcConfig {
  /** The proc's create rank (used as the `[rank] ` log prefix). */
  createRank: number;
  /** Config installed in the child as its `ClientOverride` layer (wire keys). */
  clientConfigOverride: ConfigSnapshot;
  /** CPU / NUMA binding. */
  procBind?: ProcBind;
  /** Command used instead of the manager's. */
  bootstrapCommand?: BootstrapCommand;
  /**
   * Where this proc's lines go when log forwarding is on (e.g. an
   * `OwnerLogSender` to the mesh's owner, LO-1..LO-4); used instead of the
   * manager's `logChannel` warning path, alongside the channel when both are set.
   */
  logSink?: ProcLogSink;
}

/**
 * A per-proc destination of forwarded lines (see
 * {@linkcode BootstrapProcConfig.logSink}).
 */
export interface ProcLogSink {
  /**
   * One batch of (rank-prefixed) lines of one stream; must not throw. A
   * returned promise holds the reading of that stream until it settles
   * (backpressure; it must settle in bounded time, LO-1).
   */
  push(target: "stdout" | "stderr", lines: readonly string[]): void | Promise<void>;
  /**
   * Called once after both streams reached EOF (bounded), before the proc's
   * terminal status is published (LO-4); should resolve within ~1 s.
   */
  drain(): Promise<unknown>;
}

/** Options of {@linkcode BootstrapProcManager}. */
export interface BootstrapProcManagerOptions {
  /** Parent of the socket directory (default `XDG_RUNTIME_DIR`, else the temp dir). */
  runtimeDir?: string;
  /** Where aggregate log files go when file capture is on (default: `/tmp/<user>` with `HYPERACTOR_FORCE_FILE_LOG`, else none). */
  fileCaptureDir?: string;
  /**
   * The served log channel that forwarded lines go to (a `LogForwardActor`'s
   * `addr`); used only for procs with log forwarding on (BS-14).
   */
  logChannel?: ChannelAddr | string;
}

interface Child {
  handle: BootstrapProcHandle;
  launcherId: string;
}

function defaultRuntimeDir(): string | undefined {
  const xdg = envGet("XDG_RUNTIME_DIR");
  return xdg === undefined || xdg === "" ? undefined : xdg;
}

/**
 * Launches and supervises bootstrap procs, one OS process each.
 *
 * The manager owns its launcher (disposed with it), its socket directory
 * (a fresh 0700 directory, removed on dispose) and an optional aggregate
 * file appender. Status queries keep working after a stop; `terminateProc`
 * and `terminateAll` forget the procs they stop (as the seed does).
 *
 * @example
 * ```ts ignore
 * await using manager = new BootstrapProcManager(
 *   BootstrapCommand.fromPath(Deno.execPath(), ["run", "-A", "bootstrap.ts"]),
 * );
 * const handle = await manager.spawn(procId, backendAddr, {
 *   createRank: 0,
 *   clientConfigOverride: config.propagatableSnapshot(),
 * });
 * await handle.ready();
 * await handle.terminate(cx, { graceMs: 2_000, reason: "done" });
 * ```
 */
export class BootstrapProcManager
  implements
    ProcManager<BootstrapProcHandle, BootstrapProcConfig, ProcStatus>,
    SingleTerminate,
    BulkTerminate,
    AsyncDisposable {
  readonly #command: BootstrapCommand;
  readonly #socketDir: string;
  readonly #fileCaptureDir: string | undefined;
  readonly #logChannel: string | undefined;
  #warnedNoLogChannel = false;
  readonly #children = new Map<string, Child>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #running = new Map<string, { launcherId: string; pid?: number }>();
  readonly #launcher = new LauncherSlot();
  readonly #warmPool: WarmPool | undefined;
  #fileAppender: Promise<FileAppender | undefined> | undefined;
  #disposing: Promise<void> | undefined;

  /**
   * Creates the manager and its socket directory (mode 0700).
   * @param command The default bootstrap command.
   * @param options Runtime and log directories.
   * @throws {Deno.errors.PermissionDenied} Or other fs errors creating the directory.
   * @tags allow-read, allow-write, allow-env
   */
  constructor(command: BootstrapCommand, options: BootstrapProcManagerOptions = {}) {
    this.#command = command;
    const parent = options.runtimeDir ?? defaultRuntimeDir();
    this.#socketDir = makeSocketDir(parent); // hypermesh-<pid>-*, 0700
    this.#track(sweepSocketDirs(parent)); // BS-38: those of dead managers go
    this.#fileCaptureDir = options.fileCaptureDir;
    this.#logChannel = options.logChannel === undefined
      ? undefined
      : ChannelAddr.parse(options.logChannel.toString()).toString();
    this.#warmPool = warmPoolFromConfig(command); // HYPERMESH_PREWARM_PROCS (BS-32..BS-35)
  }

  /** The warm pool (`HYPERMESH_PREWARM_PROCS` > 0 at construction), if any. */
  get warmPool(): WarmPool | undefined {
    return this.#warmPool;
  }

  /** The log channel forwarded lines go to, if any. */
  get logChannel(): string | undefined {
    return this.#logChannel;
  }

  /** The default bootstrap command. */
  get command(): BootstrapCommand {
    return this.#command;
  }

  /** The socket directory where procs serve `<socketDir>/<name>`. */
  get socketDir(): string {
    return this.#socketDir;
  }

  /**
   * `"unix"`: every proc is local and served on a Unix socket.
   * @returns `"unix"`: every proc is local and served on a Unix socket.
   */
  transport(): "unix" {
    return "unix";
  }

  /**
   * Installs the launcher (BS-8). Must precede the first `launcher()` or
   * `spawn()`. The manager owns it from now on (disposes it).
   * @param launcher The launcher.
   * @throws {ProcLauncherError} `Other` ("already initialized") when a launcher
   * was set or the default was chosen.
   */
  setLauncher(launcher: ProcLauncher): void {
    this.#launcher.set(launcher); // BS-8
  }

  /**
   * The launcher, choosing the default on first use (BS-8):
   * `HYPERACTOR_MESH_PROC_LAUNCHER_KIND` `""`/`native` → a
   * {@linkcode NativeProcLauncher}; `systemd` → `SystemdProcLauncher.connect()`
   * (loaded on demand, so D-Bus code is not loaded for native users).
   * @returns The launcher (the same one on every call).
   * @throws {import("../launcher/types.ts").InvalidLauncherKindError} For any
   * other kind (nothing is chosen then).
   * @throws Whatever `SystemdProcLauncher.connect()` throws (nothing is chosen then).
   */
  launcher(): Promise<ProcLauncher> {
    return this.#launcher.get(); // BS-8
  }

  /**
   * The status of a proc known to this manager.
   * @param procId The proc.
   * @returns Its status, or `undefined` when unknown (never spawned here, or
   * forgotten by `terminateProc` / `terminateAll`).
   */
  status(procId: ProcId): ProcStatus | undefined {
    return this.#children.get(procId.key)?.handle.status();
  }

  /**
   * The status stream of a proc known to this manager.
   * @param procId The proc.
   * @param options Cancellation.
   * @returns Its status generator, or `undefined` when unknown.
   */
  watch(
    procId: ProcId,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ProcStatus, void, undefined> | undefined {
    return this.#children.get(procId.key)?.handle.watch(options);
  }

  /**
   * Forgets a terminated proc (the `release` capability of `ProcManager`,
   * HA-14): its handle is closed and dropped. A live or unknown proc is left
   * alone.
   * @param procId The proc.
   * @returns Whether it was dropped.
   */
  release(procId: ProcId): boolean {
    const child = this.#children.get(procId.key);
    if (child === undefined || !isExit(child.handle.status())) return false;
    this.#children.delete(procId.key);
    child.handle.close();
    return true;
  }

  /**
   * The handle of a proc known to this manager.
   * @param procId The proc.
   * @returns The handle, or `undefined`.
   */
  handle(procId: ProcId): BootstrapProcHandle | undefined {
    return this.#children.get(procId.key)?.handle;
  }

  /**
   * Launches proc `procId` in a new child process (see the module doc).
   * @param procId The proc's id.
   * @param backendAddr The host back-end the child forwards to.
   * @param procConfig Rank, config override, binding, command override.
   * @returns Its handle (`Running`; `Ready` once the child called back).
   * @throws {HostError} `ChannelError` (callback channel),
   * `ProcessConfigurationFailure` (payload), `ProcessSpawnFailure` (launcher
   * selection or launch, or the manager is disposed).
   * @tags allow-run, allow-net, allow-read, allow-write, allow-env
   */
  async spawn(
    procId: ProcId,
    backendAddr: ChannelAddr,
    procConfig: BootstrapProcConfig,
  ): Promise<BootstrapProcHandle> {
    if (this.#disposing !== undefined) {
      throw HostError.processSpawnFailure(procId, "the proc manager is disposed");
    }
    const previous = this.#children.get(procId.key);
    if (previous !== undefined && !isExit(previous.handle.status())) {
      throw HostError.procExists(procId.name);
    }
    let launcher: ProcLauncher;
    try {
      launcher = await this.launcher();
    } catch (error) {
      throw HostError.processSpawnFailure(procId, error);
    }
    let callback: ChannelServer<BootstrapCallback>;
    try {
      callback = await serve<BootstrapCallback>(ChannelAddr.any("unix"));
    } catch (error) {
      throw HostError.channelError(error);
    }
    // BS-43: no refill while this proc starts (its start needs the CPU).
    const quiet = this.#warmPool?.holdRefill();
    try {
      const handle = await this.#spawn(procId, backendAddr, procConfig, launcher, callback);
      if (quiet !== undefined) {
        handle.ready().catch(() => {}).finally(() => quiet[Symbol.dispose]());
      }
      return handle;
    } catch (error) {
      quiet?.[Symbol.dispose]();
      await callback.close();
      throw error;
    }
  }

  async #spawn(
    procId: ProcId,
    backendAddr: ChannelAddr,
    procConfig: BootstrapProcConfig,
    launcher: ProcLauncher,
    callback: ChannelServer<BootstrapCallback>,
  ): Promise<BootstrapProcHandle> {
    const { result, launcherId, fileCapture, tailLines, logChannel, forwarding, prefixWithRank } =
      await launchBootstrap(
        procId,
        backendAddr,
        procConfig,
        launcher,
        {
          callbackAddr: callback.addr,
          socketDir: this.#socketDir,
          defaultCommand: this.#command,
          logChannel: () =>
            procConfig.logSink === undefined ? this.#logChannelForSpawn() : this.#logChannel,
          ...(this.#warmPool === undefined ? {} : { warmPool: this.#warmPool }),
        },
      );
    if (result.pid !== undefined) recordLivePid(result.pid);
    this.#running.set(procId.key, {
      launcherId,
      ...(result.pid === undefined ? {} : { pid: result.pid }),
    });

    const handle = new BootstrapProcHandle(procId, {
      launcher,
      ...(result.pid === undefined ? {} : { pid: result.pid }),
    });
    handle.markRunning(result.startedAt);
    this.#children.get(procId.key)?.handle.close();
    this.#children.set(procId.key, { handle, launcherId });

    const forwarders = result.stdio.kind === "Captured"
      ? forwardStdio(result.stdio, procId, procConfig.createRank, {
        tailLines,
        appender: fileCapture ? await this.#appender() : undefined,
        logChannel,
        logSink: forwarding ? procConfig.logSink : undefined,
        prefixWithRank,
      })
      : [];
    this.#track(monitorExit(procId, handle, result, forwarders, {
      callback,
      socketDir: this.#socketDir,
      onExit: () => {
        // Launcher-managed stdio (systemd): nothing to forward; release the sink.
        if (forwarders.length === 0 && forwarding) void procConfig.logSink?.drain();
        if (result.pid !== undefined) forgetLivePid(result.pid);
        this.#running.delete(procId.key);
      },
    }));
    this.#track(awaitCallback(handle, callback));
    return handle;
  }

  #logChannelForSpawn(): string | undefined {
    if (this.#logChannel === undefined && !this.#warnedNoLogChannel) {
      this.#warnedNoLogChannel = true;
      console.warn(
        "hypermesh: log forwarding is enabled but the proc manager has no logChannel; lines are only mirrored",
      );
    }
    return this.#logChannel;
  }

  #appender(): Promise<FileAppender | undefined> {
    this.#fileAppender ??= openFileAppender(this.#fileCaptureDir);
    return this.#fileAppender;
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch((error) => {
      console.error("hypermesh: bootstrap proc manager task failed:", error);
    });
    this.#tasks.add(tracked);
    tracked.finally(() => this.#tasks.delete(tracked));
  }

  /**
   * Non-blocking stop: posts `StopAll` to the proc's agent, marks it
   * `Stopping`, and in the background waits up to `graceMs` for the exit
   * before escalating through the launcher. Idempotent: a no-op for unknown,
   * stopping or exited procs. The proc stays known, so `status()` follows it.
   * @param cx The sending context.
   * @param procId The proc.
   * @param options `graceMs` before escalation (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `reason` (default
   * `"stop requested"`), `signal` (aborting kills the proc at once).
   */
  requestStop(cx: Context, procId: ProcId, options: StopOptions = {}): void {
    const child = this.#children.get(procId.key);
    if (child === undefined) return;
    const status = child.handle.status();
    if (isExit(status) || status.kind === "Stopping") return;
    child.handle.sendStopAll(cx, options.reason ?? "stop requested");
    child.handle.markStopping();
    const { graceMs, signal } = options;
    const stopping = child.handle.waitOrBrutallyKill({ graceMs, signal });
    this.#track(signal === undefined ? stopping : stopping.catch(() => child.handle.wait()));
  }

  /**
   * Terminates one proc (`handle.terminate`) and forgets it.
   * @param cx The calling actor.
   * @param procId The proc.
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason` (default `"terminate proc"`), `signal` (aborting kills the proc
   * at once and rejects with its reason).
   * @returns Empty actor lists (the child process reports no actor ids).
   * @throws {Error} When the proc is unknown.
   * @throws {import("../host/proc_handle.ts").TerminateError} As `terminate()`.
   */
  async terminateProc(
    cx: Context,
    procId: ProcId,
    options: StopOptions = {},
  ): Promise<TerminateProcResult> {
    const child = this.#children.get(procId.key);
    if (child === undefined) {
      throw new Error(`Cannot terminate proc: proc doesn't exist: ${procId}`);
    }
    this.#children.delete(procId.key);
    using _quiet = this.#warmPool?.holdRefill(); // BS-43
    await child.handle.terminate(cx, { ...options, reason: options.reason ?? "terminate proc" });
    return { stopped: [], aborted: [] };
  }

  /**
   * Terminates every known proc, at most `maxInFlight` at a time (BS-10), and
   * forgets them. An already-exited proc counts as ok.
   * @param cx The calling actor.
   * @param options Per-proc `graceMs` (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `maxInFlight` (default
   * `HYPERACTOR_MESH_TERMINATE_CONCURRENCY`; values below 1 act as 1),
   * `reason` (default `"terminate all"`), `signal` (aborting kills what is
   * left at once and rejects with its reason).
   * @returns The summary.
   */
  async terminateAll(cx: Context, options: TerminateAllOptions = {}): Promise<TerminateSummary> {
    const { maxInFlight = config.get(MESH_TERMINATE_CONCURRENCY), signal } = options;
    using _quiet = this.#warmPool?.holdRefill(); // BS-43
    const stop = { graceMs: options.graceMs, reason: options.reason ?? "terminate all", signal };
    const handles = [...this.#children.values()].map((c) => c.handle);
    this.#children.clear();
    if (handles.length === 0) return new TerminateSummary({ attempted: 0, ok: 0, failed: 0 });
    const summary = bulkTerminate(handles, (h) => h.terminate(cx, stop), {
      maxInFlight, // BS-10
      onError: (h, error) => {
        if (signal?.aborted) return; // the caller gets signal.reason
        console.warn(
          `hypermesh: terminateAll: cannot terminate ${(h as BootstrapProcHandle).procId}:`,
          error,
        );
      },
    });
    return await raceAbort(summary, signal);
  }

  /** Process ids of the children still running, by proc id text. */
  get pids(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const { launcherId, pid } of this.#running.values()) {
      if (pid !== undefined) out.set(launcherId, pid);
    }
    return out;
  }

  /**
   * SIGKILLs every child still running, awaits every exit and background
   * task, disposes the launcher and file appender, and removes the socket
   * directory (BS-9). Idempotent; later spawns are refused.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    await this.#warmPool?.[Symbol.asyncDispose](); // BS-34
    const launcher = await this.#launcher.current?.catch(() => undefined);
    await killRunning(launcher, [...this.#running.values()]); // BS-9
    if (launcher !== undefined) await launcher[Symbol.asyncDispose]();
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    for (const { handle } of this.#children.values()) handle.close();
    const appender = await this.#fileAppender;
    await appender?.[Symbol.asyncDispose]();
    try {
      await Deno.remove(this.#socketDir, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
