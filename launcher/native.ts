/**
 * `NativeProcLauncher`: launches procs as direct OS children with `Deno.Command`.
 *
 * Process groups: `Deno.Command` has no `setpgid`/`pre_exec` hook, and a
 * parent-side `setpgid(child)` races the child's `exec` (EACCES afterwards).
 * The launcher therefore starts the child through util-linux's `setsid`
 * program (or, where it is missing, with `detached: true`, which makes Deno
 * call `setsid()` between fork and exec; `_group_spawn.ts` says why the
 * program is preferred): the child leads a new session *and* a new process
 * group whose id is its pid — a superset of the seeds' `setpgid(0, 0)`. The
 * one difference: the child has no controlling terminal (terminal job-control
 * signals never reach it, which `setpgid` already mostly implied). Every
 * signal goes to the group `-pid`.
 * @module
 */

import { hasNumaNodes as hasNuma, wrapCommand } from "./proc_bind.ts";
import { stopChild } from "./stop.ts";
import { raceAbort } from "../internal/abort.ts";
import { checkGrace, DEFAULT_GRACE_MS, type StopOptions } from "../internal/stop_options.ts";
import { killGroup, recordGroup, watchExit } from "./_groups.ts";
import { groupLeaderCommand } from "./_group_spawn.ts";
import {
  BOOTSTRAP_MODE_ENV,
  launchEnv,
  type LauncherKind,
  type LaunchOptions,
  type LaunchResult,
  type PrespawnOptions,
  type ProcExitResult,
  type ProcLauncher,
  ProcLauncherError,
} from "./types.ts";
import { WarmChild, warmStartFor } from "./warm_child.ts";

interface Entry {
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  readonly exit: Promise<ProcExitResult>;
}

/** Options of {@linkcode NativeProcLauncher.launch}: what to launch, or a warm child to adopt. */
export interface NativeLaunchOptions extends LaunchOptions {
  /**
   * A warm child (from any native launcher's `prespawn`) to adopt instead of
   * starting a new process (LN-20, LN-21).
   */
  warm?: WarmChild;
}

/** Options of {@linkcode NativeProcLauncher}. */
export interface NativeProcLauncherOptions {
  /** NUMA probe used when wrapping with a `ProcBind` (default: sysfs, probed once). */
  numaAvailable?: () => boolean;
}

/**
 * Launches procs as direct children, each leading its own process group.
 *
 * - stdout/stderr are piped (`Captured`) when `wantStdio`, else inherited;
 *   stdin is `null` (a warm child's stdin is a pipe, closed once it has
 *   its start line).
 * - Warm children: `prespawn()` starts one ahead of time, and
 *   `launch(procId, { ...options, warm })` adopts it (LN-20, LN-21) instead of
 *   starting a process; from then on it is recorded, stopped, observed and
 *   disposed exactly like a cold launch. Its `startedAt` is the adoption
 *   time.
 * - `BootstrapCommand.arg0` cannot be honoured (`Deno.Command` has no argv[0]
 *   override) and is ignored.
 * - `terminate` and `kill` resolve once the child has exited; unknown ids
 *   resolve at once.
 * - Exit results carry no stderr tail; `coreDumped` is always `false`.
 *
 * @example
 * ```ts ignore
 * import { BootstrapCommand, NativeProcLauncher } from "./mod.ts";
 * await using launcher = new NativeProcLauncher();
 * const result = await launcher.launch("unix:@a,worker", {
 *   bootstrapPayload: "e30=",
 *   processName: "worker @ localhost",
 *   command: BootstrapCommand.fromPath("sleep", ["30"]),
 *   wantStdio: false,
 *   tailLines: 0,
 * });
 * await launcher.terminate("unix:@a,worker", { graceMs: 2_000 });
 * console.log((await result.exit).kind); // { kind: "Signaled", signal: 15, coreDumped: false }
 * ```
 */
export class NativeProcLauncher implements ProcLauncher {
  /** Always `"native"`. */
  readonly kind: LauncherKind = "native";
  readonly #table = new Map<string, Entry>();
  readonly #warm = new Set<WarmChild>();
  readonly #adopting = new Set<string>();
  readonly #numaProbe: () => boolean;
  #numa: boolean | undefined;
  #disposed = false;

  /**
   * Create an empty launcher.
   * @param options NUMA probe override.
   */
  constructor(options: NativeProcLauncherOptions = {}) {
    const probe = options.numaAvailable;
    this.#numaProbe = probe ?? (() => {
      // Probe once per launcher: sysfs topology does not change at runtime.
      if (this.#numa === undefined) {
        this.#numa = hasNuma();
      }
      return this.#numa;
    });
  }

  /** Number of children currently recorded (launched and not yet exited). */
  get size(): number {
    return this.#table.size;
  }

  /**
   * The pid recorded for `procId`, while it runs.
   * @param procId proc id text.
   * @returns the pid, or `undefined`.
   */
  pidOf(procId: string): number | undefined {
    return this.#table.get(procId)?.pid;
  }

  /**
   * Start the process for `procId`.
   * @param procId proc id text; one live process per id.
   * @param options what to launch; `warm`: adopt this warm child instead of
   *   starting a process.
   * @returns pid, start time, stdio and the exit promise.
   * @throws {ProcLauncherError} `Launch` when disposed, when `procId` is still
   *   running, or when the OS refuses to start the program; with `warm`, when
   *   the warm child does not match the options (LN-21) or cannot be adopted
   *   (LN-20: adopted, exited, disposed, or dead on its start line). A caller
   *   may fall back to a cold launch then.
   * @tags allow-run
   */
  launch(procId: string, options: NativeLaunchOptions): Promise<LaunchResult> {
    const { warm, ...launch } = options;
    if (warm !== undefined) return this.#adopt(procId, launch, warm);
    try {
      return Promise.resolve(this.#launch(procId, launch));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Pre-spawn a warm child (see `warm_child.ts`): it loads its module graph
   * and arms its parent-death guard, then waits for
   * `launch(procId, { ...options, warm })`. Until adopted it is this launcher's:
   * dispose kills it (LN-5, LN-22).
   * @param options Command and stdio disposition (fixed from now on).
   * @returns The warm child.
   * @throws {ProcLauncherError} `Launch` when disposed or when the OS refuses
   *   to start the program.
   * @tags allow-run
   */
  prespawn(options: PrespawnOptions): Promise<WarmChild> {
    try {
      this.#refuseIfDisposed("pre-spawn a warm child");
      const warm = WarmChild.spawn(options);
      this.#warm.add(warm);
      warm.exit.then(() => this.#warm.delete(warm));
      return Promise.resolve(warm);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #refuseIfDisposed(action: string, procId?: string): void {
    if (!this.#disposed) return;
    throw new ProcLauncherError(
      "Launch",
      `Cannot ${action}: the launcher is disposed`,
      procId === undefined ? {} : { procId },
    );
  }

  #refuseIfRunning(procId: string): void {
    const running = this.#table.get(procId);
    const pid = running?.pid ?? (this.#adopting.has(procId) ? "(being adopted)" : undefined);
    if (pid === undefined) return;
    throw new ProcLauncherError(
      "Launch",
      `Cannot launch proc ${procId}: it is still running as pid ${pid}`,
      { procId },
    );
  }

  async #adopt(procId: string, options: LaunchOptions, warm: WarmChild): Promise<LaunchResult> {
    this.#refuseIfDisposed(`launch proc ${procId}`, procId);
    this.#refuseIfRunning(procId);
    const mismatch = warm.mismatch(options);
    if (mismatch !== undefined) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot adopt warm child ${warm.pid} for proc ${procId}: ${mismatch}`,
        { procId },
      ); // LN-21
    }
    const env = launchEnv(options); // LN-7: the same variables as a cold launch
    const mode = env[BOOTSTRAP_MODE_ENV];
    delete env[BOOTSTRAP_MODE_ENV];
    this.#adopting.add(procId);
    let child: Deno.ChildProcess;
    try {
      child = await warm.claim(warmStartFor(warm.command, mode, env)); // LN-20, LN-23
    } catch (error) {
      if (error instanceof ProcLauncherError) {
        throw new ProcLauncherError("Launch", error.message, { procId, cause: error });
      }
      throw error;
    } finally {
      this.#adopting.delete(procId);
    }
    const startedAt = Date.now();
    const pid = warm.pid;
    // LN-4: the warm child's one exit, leaving the table before it resolves.
    const exit = warm.exit.then((result) => {
      if (this.#table.get(procId)?.child === child) this.#table.delete(procId);
      return result;
    });
    this.#table.set(procId, { pid, child, exit });
    if (this.#disposed) {
      killGroup(pid); // LN-5: disposed while the line was in flight
      await exit;
      this.#refuseIfDisposed(`launch proc ${procId}`, procId);
    }
    return {
      pid,
      startedAt,
      stdio: options.wantStdio
        ? { kind: "Captured", stdout: child.stdout, stderr: child.stderr }
        : { kind: "Inherited" },
      exit,
    };
  }

  #launch(procId: string, options: LaunchOptions): LaunchResult {
    this.#refuseIfDisposed(`launch proc ${procId}`, procId);
    this.#refuseIfRunning(procId);
    const { program, args } = wrapCommand(
      options.command.program,
      options.command.args,
      { bind: options.procBind, numaAvailable: this.#numaProbe },
    );
    const stdio = options.wantStdio ? "piped" : "inherit";
    let child: Deno.ChildProcess;
    try {
      // LN-3: own session and process group (`_group_spawn.ts`).
      const leader = groupLeaderCommand(program, args, {
        env: launchEnv(options),
        stdin: "null",
        stdout: stdio,
        stderr: stdio,
      }, { parentDeathSignal: options.parentDeathSignal }); // LN-24
      child = new Deno.Command(leader.program, leader.options).spawn();
    } catch (error) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc ${procId}: ${program} failed to start (${(error as Error).message})`,
        { procId, cause: error },
      );
    }
    const startedAt = Date.now();
    const pid = child.pid;
    recordGroup(pid); // LN-6
    // LN-4: exactly one terminal result, never a rejection.
    const exit = watchExit(child).then((result) => {
      if (this.#table.get(procId)?.child === child) this.#table.delete(procId);
      return result;
    });
    this.#table.set(procId, { pid, child, exit });
    return {
      pid,
      startedAt,
      stdio: options.wantStdio
        ? { kind: "Captured", stdout: child.stdout, stderr: child.stderr }
        : { kind: "Inherited" },
      exit,
    };
  }

  /**
   * SIGTERM the process group of `procId`, SIGKILL it if still running after
   * `graceMs`, and wait for the exit. Unknown or exited ids succeed.
   * @param procId proc id text.
   * @param options `graceMs` before SIGKILL (default 5000); aborting `signal`
   * SIGKILLs at once and rejects with its reason.
   * @throws {ProcLauncherError} `Terminate` when signalling fails other than ESRCH.
   * @throws {RangeError} for a negative grace.
   * @tags allow-run
   */
  async terminate(procId: string, options: StopOptions = {}): Promise<void> {
    const { graceMs = DEFAULT_GRACE_MS, signal } = options;
    checkGrace(`terminate proc ${procId}`, graceMs);
    signal?.throwIfAborted();
    const entry = this.#table.get(procId);
    if (entry === undefined) return; // LN-8
    // LN-1, LN-2 (inside stopChild); LN-3: the whole group is signalled.
    const stopping = stopChild(entry.child, { graceMs, processGroup: true, signal })
      .then(() => entry.exit, (error) => {
        throw new ProcLauncherError(
          "Terminate",
          `Cannot terminate proc ${procId}: ${(error as Error).message}`,
          { procId, cause: error },
        );
      });
    await raceAbort(stopping, signal);
  }

  /**
   * SIGKILL the process group of `procId` at once and wait for the exit.
   * Unknown or exited ids succeed.
   * @param procId proc id text.
   * @throws {ProcLauncherError} `Kill` when signalling fails other than ESRCH.
   * @tags allow-run
   */
  async kill(procId: string): Promise<void> {
    const entry = this.#table.get(procId);
    if (entry === undefined) return; // LN-8
    try {
      killGroup(entry.pid);
    } catch (error) {
      throw new ProcLauncherError(
        "Kill",
        `Cannot kill proc ${procId}: ${(error as Error).message}`,
        {
          procId,
          cause: error,
        },
      );
    }
    await entry.exit;
  }

  /**
   * SIGKILL every recorded process group, wait for every exit, and refuse
   * further launches (LN-5). Idempotent.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    const entries = [...this.#table.values()];
    for (const entry of entries) {
      try {
        killGroup(entry.pid); // LN-5
      } catch {
        // EPERM cannot happen for our own children; keep going regardless
      }
    }
    // LN-5, LN-22: unadopted warm children die too (adopted ones are their adopter's).
    const warm = [...this.#warm].map((w) => w[Symbol.asyncDispose]());
    await Promise.all([...entries.map((e) => e.exit), ...warm]);
  }
}
