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
 * ## Invariants (BS-*)
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
 * - **BS-11 (no stale socket).** When a child exits, its socket file
 *   `<socketDir>/<name>` is removed.
 * - **BS-14 (forwarded lines reach the forwarder before the exit status).**
 *   With log forwarding on and a `logChannel`, every line a child wrote is
 *   posted on the log channel, and its sender is flushed (bounded by
 *   `HYPERACTOR_FORWARDER_FLUSH_TIMEOUT`) before the proc's terminal status is
 *   published: once `Stopped`/`Killed` is observed, the forwarder's channel
 *   has acknowledged every line.
 *
 * Log forwarding: `HYPERACTOR_MESH_ENABLE_LOG_FORWARDING` (per-proc override
 * first) sends each captured line batch, as a {@linkcode LogMessage}, to the
 * manager's `logChannel` — the address served by a host-side
 * `LogForwardActor` (see `log_forward.ts`), which is also handed to the
 * child as `BOOTSTRAP_LOG_CHANNEL`. Without a `logChannel` the lines are only
 * mirrored, tailed and file-captured (one warning per manager).
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import type { ChannelServer, ChannelTx } from "../channel/types.ts";
import type { LogMessage } from "./log_forward.ts";
import { type Attr, type AttrKind, attrs, type AttrValueOf, config } from "../config/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Context } from "../actor/instance.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import type { ProcBind } from "../launcher/proc_bind.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import {
  formatProcessName,
  type LaunchResult,
  parseLauncherKind,
  type ProcLauncher,
  ProcLauncherError,
} from "../launcher/types.ts";
import { HostError } from "../host/errors.ts";
import type { ProcManager } from "../host/proc_handle.ts";
import {
  type BulkTerminate,
  bulkTerminate,
  type SingleTerminate,
  type TerminateProcResult,
  TerminateSummary,
} from "../host/terminate.ts";
import { toEnvSafeString } from "./mode.ts";
import { PARENT_PID_ENV } from "./pdeathsig.ts";
import { isExit } from "./proc_status.ts";
import type { ProcStatus } from "./proc_status.ts";
import { type OutputTarget, StreamForwarder } from "./stream_forwarder.ts";
import { FileAppender } from "./file_appender.ts";
import { BootstrapProcHandle } from "./proc_handle.ts";

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

/** Process groups of every running child of every manager (exit safety net, BS-9). */
const livePids = new Set<number>();
let safetyNetInstalled = false;

function killPid(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      Deno.kill(target, "SIGKILL");
      return;
    } catch {
      // ESRCH: try the pid alone, then give up
    }
  }
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  globalThis.addEventListener("unload", () => {
    for (const pid of livePids) killPid(pid); // BS-9
    livePids.clear();
  });
}

function envGet(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}

function defaultRuntimeDir(): string | undefined {
  const xdg = envGet("XDG_RUNTIME_DIR");
  return xdg === undefined || xdg === "" ? undefined : xdg;
}

/**
 * The value of `attr` in `overrides` (by wire key) when present and of the
 * right type, else the global config's value (the seed's `override_or_global`).
 * @param overrides A config snapshot.
 * @param attr The attribute.
 * @returns The value.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attrs } from "../config/mod.ts";
 * import { overrideOrGlobal } from "./manager.ts";
 * assertEquals(overrideOrGlobal({ [attrs.MESH_TAIL_LOG_LINES.key]: 7 }, attrs.MESH_TAIL_LOG_LINES), 7);
 * ```
 */
export function overrideOrGlobal<K extends AttrKind>(
  overrides: ConfigSnapshot,
  attr: Attr<K>,
): AttrValueOf[K] {
  const value = overrides[attr.key];
  const ok = attr.kind === "bool"
    ? typeof value === "boolean"
    : attr.kind === "string"
    ? typeof value === "string"
    : typeof value === "number";
  return ok ? value as AttrValueOf[K] : config.get(attr);
}

/** Waits for `promise` (which never rejects) at most `ms`, clearing its timer. */
async function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
 * await handle.terminate(cx, 2_000, "done");
 * ```
 */
export class BootstrapProcManager
  implements
    ProcManager<BootstrapProcHandle, BootstrapProcConfig>,
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
  #launcher: Promise<ProcLauncher> | undefined;
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
    this.#socketDir = Deno.makeTempDirSync({
      prefix: "hypermesh-",
      ...(parent === undefined ? {} : { dir: parent }),
    });
    Deno.chmodSync(this.#socketDir, 0o700);
    this.#fileCaptureDir = options.fileCaptureDir;
    this.#logChannel = options.logChannel === undefined
      ? undefined
      : ChannelAddr.parse(options.logChannel.toString()).toString();
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
    if (this.#launcher !== undefined) {
      throw new ProcLauncherError(
        "Other",
        "Cannot set proc launcher: launcher already initialized; call setLauncher before first spawn",
      );
    }
    this.#launcher = Promise.resolve(launcher); // BS-8
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
    if (this.#launcher !== undefined) return this.#launcher;
    const kind = parseLauncherKind(config.get(attrs.MESH_PROC_LAUNCHER_KIND));
    const chosen: Promise<ProcLauncher> = kind === "native"
      ? Promise.resolve(new NativeProcLauncher())
      : import("../launcher/systemd.ts").then((m) => m.SystemdProcLauncher.connect());
    this.#launcher = chosen; // BS-8
    chosen.catch(() => {
      if (this.#launcher === chosen) this.#launcher = undefined;
    });
    return chosen;
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
    try {
      return await this.#spawn(procId, backendAddr, procConfig, launcher, callback);
    } catch (error) {
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
    const overrides = procConfig.clientConfigOverride ?? {};
    const forwarding = overrideOrGlobal(overrides, attrs.MESH_ENABLE_LOG_FORWARDING);
    const fileCapture = overrideOrGlobal(overrides, attrs.MESH_ENABLE_FILE_CAPTURE);
    const tailLines = Math.max(
      0,
      Math.floor(overrideOrGlobal(overrides, attrs.MESH_TAIL_LOG_LINES)),
    );
    const needStdio = forwarding || fileCapture || tailLines > 0;

    let payload: string;
    try {
      payload = toEnvSafeString({
        kind: "Proc",
        procId,
        backendAddr,
        callbackAddr: callback.addr,
        socketDirPath: this.#socketDir,
        config: overrides,
      });
    } catch (error) {
      throw HostError.processConfigurationFailure(procId, error);
    }
    const logChannel = forwarding ? this.#logChannelForSpawn() : undefined;
    // A systemd unit's parent is the user manager, not this process: naming
    // us as its parent would make the child's death guard exit it at once.
    const base = procConfig.bootstrapCommand ?? this.#command;
    const command = launcher.kind === "systemd"
      ? base
      : base.withEnv({ [PARENT_PID_ENV]: String(Deno.pid) });
    const launcherId = procId.toString();
    let result: LaunchResult;
    try {
      result = await launcher.launch(launcherId, {
        bootstrapPayload: payload,
        processName: formatProcessName(launcherId),
        command,
        wantStdio: needStdio,
        tailLines,
        ...(logChannel === undefined ? {} : { logChannel }),
        ...(procConfig.procBind === undefined ? {} : { procBind: procConfig.procBind }),
      });
    } catch (error) {
      throw HostError.processSpawnFailure(procId, error);
    }
    if (result.pid !== undefined) {
      livePids.add(result.pid);
      installSafetyNet();
    }
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
      ? await this.#forward(result.stdio, procId, procConfig.createRank, {
        tailLines,
        fileCapture,
        logChannel,
      })
      : [];
    this.#track(this.#monitorExit(procId, handle, result, forwarders, callback));
    this.#track(this.#awaitCallback(handle, callback));
    return handle;
  }

  async #forward(
    stdio: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
    procId: ProcId,
    rank: number,
    opts: { tailLines: number; fileCapture: boolean; logChannel: string | undefined },
  ): Promise<{ fwd: StreamForwarder; tx?: ChannelTx<LogMessage> }[]> {
    const appender = opts.fileCapture ? await this.#appender() : undefined;
    const hostname = (() => {
      try {
        return Deno.hostname();
      } catch {
        return "unknown_host";
      }
    })();
    const start = (stream: ReadableStream<Uint8Array>, target: OutputTarget) => {
      const tx = opts.logChannel === undefined ? undefined : dial<LogMessage>(opts.logChannel);
      const file = appender?.sink(target);
      const fwd = StreamForwarder.start(stream, {
        target,
        tailLines: opts.tailLines,
        prefixRank: rank,
        onLines: (lines: string[]) => {
          file?.(lines);
          if (tx !== undefined && tx.status.get().kind === "Active") {
            tx.post({
              kind: "Log",
              hostname,
              procId: procId.toString(),
              outputTarget: target,
              payload: lines,
            });
          }
        },
      });
      return tx === undefined ? { fwd } : { fwd, tx };
    };
    return [start(stdio.stdout, "stdout"), start(stdio.stderr, "stderr")];
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
    this.#fileAppender ??= (async () => {
      let dir = this.#fileCaptureDir;
      if (dir === undefined && config.get(attrs.FORCE_FILE_LOG)) {
        dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/${envGet("USER") ?? "hypermesh"}`;
      }
      if (dir === undefined) {
        console.warn(
          "hypermesh: enable_file_capture=true but no file appender (set HYPERACTOR_FORCE_FILE_LOG)",
        );
        return undefined;
      }
      try {
        return await FileAppender.open({ dir });
      } catch (error) {
        console.warn("hypermesh: cannot create the file appender:", error);
        return undefined;
      }
    })();
    return this.#fileAppender;
  }

  async #monitorExit(
    procId: ProcId,
    handle: BootstrapProcHandle,
    result: LaunchResult,
    forwarders: { fwd: StreamForwarder; tx?: ChannelTx<LogMessage> }[],
    callback: ChannelServer<BootstrapCallback>,
  ): Promise<void> {
    const exit = await result.exit;
    if (result.pid !== undefined) livePids.delete(result.pid);
    this.#running.delete(procId.key);
    // BS-4: let the pipes drain to EOF (bounded: a grandchild may hold them open).
    const tails: string[][] = [];
    for (const { fwd, tx } of forwarders) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = await Promise.race([
        fwd.done,
        new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 500)),
      ]);
      clearTimeout(timer);
      const out = drained ?? await fwd.abort();
      tails.push(out.tail);
      if (tx !== undefined) {
        if (tx.status.get().kind === "Active") tx.post({ kind: "Flush", syncVersion: null });
        await settleWithin(tx.flush(), config.get(attrs.FORWARDER_FLUSH_TIMEOUT)); // BS-14
        await tx.close();
      }
    }
    let stderrTail = tails[1] ?? [];
    if (stderrTail.length === 0 && exit.stderrTail !== undefined) stderrTail = exit.stderrTail;
    handle.recordStderrTail(stderrTail);
    if (stderrTail.length > 0 && exit.kind.kind !== "Exited") {
      console.warn(
        `hypermesh: proc ${procId} ended (${JSON.stringify(exit.kind)}); stderr tail:\n${
          stderrTail.join("\n")
        }`,
      );
    }
    switch (exit.kind.kind) {
      case "Exited":
        handle.markStopped(exit.kind.code, stderrTail);
        break;
      case "Signaled":
        handle.markKilled(exit.kind.signal, exit.kind.coreDumped);
        break;
      case "Failed":
        handle.markFailed(exit.kind.reason);
        break;
    }
    await callback.close(); // ends a callback wait for a child that never called back
    try {
      await Deno.remove(`${this.#socketDir}/${procId.name}`); // BS-11
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        console.warn(`hypermesh: cannot remove socket of ${procId}:`, error);
      }
    }
  }

  async #awaitCallback(
    handle: BootstrapProcHandle,
    callback: ChannelServer<BootstrapCallback>,
  ): Promise<void> {
    let reason: string | undefined;
    try {
      const msg = await callback.recv();
      if (msg === undefined) reason = "callback channel closed";
      else if (typeof msg?.addr !== "string" || typeof msg.agent !== "string") {
        reason = `invalid callback ${JSON.stringify(msg)}`;
      } else {
        handle.markReady(ChannelAddr.parse(msg.addr), msg.agent);
      }
    } catch (error) {
      reason = describe(error);
    }
    // A child that exited first already has its terminal status; do not warn.
    if (reason !== undefined && !isExit(handle.status())) {
      handle.markFailed(`bootstrap callback failed: ${reason}`);
    }
    await callback.close();
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
   * `Stopping`, and in the background waits up to `timeoutMs` for the exit
   * before escalating through the launcher. Idempotent: a no-op for unknown,
   * stopping or exited procs. The proc stays known, so `status()` follows it.
   * @param cx The sending context.
   * @param procId The proc.
   * @param timeoutMs Grace before escalation.
   * @param reason Why.
   */
  requestStop(cx: Context, procId: ProcId, timeoutMs: number, reason = "stop requested"): void {
    const child = this.#children.get(procId.key);
    if (child === undefined) return;
    const status = child.handle.status();
    if (isExit(status) || status.kind === "Stopping") return;
    child.handle.sendStopAll(cx, reason);
    child.handle.markStopping();
    this.#track(child.handle.waitOrBrutallyKill(timeoutMs));
  }

  /**
   * Terminates one proc (`handle.terminate`) and forgets it.
   * @param cx The calling actor.
   * @param procId The proc.
   * @param timeoutMs Grace before escalation.
   * @param reason Why.
   * @returns Empty actor lists (the child process reports no actor ids).
   * @throws {Error} When the proc is unknown.
   * @throws {import("../host/proc_handle.ts").TerminateError} As `terminate()`.
   */
  async terminateProc(
    cx: Context,
    procId: ProcId,
    timeoutMs: number,
    reason = "terminate proc",
  ): Promise<TerminateProcResult> {
    const child = this.#children.get(procId.key);
    if (child === undefined) {
      throw new Error(`Cannot terminate proc: proc doesn't exist: ${procId}`);
    }
    this.#children.delete(procId.key);
    await child.handle.terminate(cx, timeoutMs, reason);
    return { stopped: [], aborted: [] };
  }

  /**
   * Terminates every known proc, at most `maxInFlight` at a time (BS-10), and
   * forgets them. An already-exited proc counts as ok.
   * @param cx The calling actor.
   * @param timeoutMs Per-proc grace.
   * @param maxInFlight Concurrency bound (values below 1 act as 1).
   * @param reason Why.
   * @returns The summary.
   */
  async terminateAll(
    cx: Context,
    timeoutMs: number,
    maxInFlight: number,
    reason = "terminate all",
  ): Promise<TerminateSummary> {
    const handles = [...this.#children.values()].map((c) => c.handle);
    this.#children.clear();
    if (handles.length === 0) return new TerminateSummary(0, 0, 0);
    return await bulkTerminate(handles, (h) => h.terminate(cx, timeoutMs, reason), {
      maxInFlight, // BS-10
      onError: (h, error) =>
        console.warn(
          `hypermesh: terminateAll: cannot terminate ${(h as BootstrapProcHandle).procId}:`,
          error,
        ),
    });
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
    const launcher = this.#launcher === undefined
      ? undefined
      : await this.#launcher.catch(() => undefined);
    const running = [...this.#running.values()];
    await Promise.all(running.map(async ({ launcherId, pid }) => {
      try {
        await launcher?.kill(launcherId); // BS-9
      } catch (error) {
        console.warn(`hypermesh: cannot kill ${launcherId}:`, error);
        if (pid !== undefined) killPid(pid);
      }
    }));
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
