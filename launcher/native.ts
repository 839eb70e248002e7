/**
 * `NativeProcLauncher`: launches procs as direct OS children with `Deno.Command`.
 *
 * Process groups: `Deno.Command` has no `setpgid`/`pre_exec` hook, and a
 * parent-side `setpgid(child)` races the child's `exec` (EACCES afterwards).
 * The launcher therefore spawns with `detached: true`, which makes Deno call
 * `setsid()` in the child before `exec`: the child leads a new session *and* a
 * new process group whose id is its pid — a superset of the seeds'
 * `setpgid(0, 0)` with no extra program. The one difference: the child has no
 * controlling terminal (terminal job-control signals never reach it, which
 * `setpgid` already mostly implied). Every signal goes to the group `-pid`.
 * @module
 */

import { hasNumaNodes as hasNuma, wrapCommand } from "./proc_bind.ts";
import { signalNumber } from "./_signals.ts";
import { stopChild } from "./stop.ts";
import {
  launchEnv,
  type LauncherKind,
  type LaunchOptions,
  type LaunchResult,
  type ProcExitResult,
  type ProcLauncher,
  ProcLauncherError,
} from "./types.ts";

interface Entry {
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  readonly exit: Promise<ProcExitResult>;
}

/** Process groups of every live child of every native launcher in this process. */
const liveGroups = new Set<number>();
let safetyNetInstalled = false;

/** On process exit, SIGKILL every group still recorded (best effort, synchronous). */
function killLiveGroups(): void {
  for (const pid of liveGroups) {
    try {
      Deno.kill(-pid, "SIGKILL"); // LN-6
    } catch {
      // already gone, or not permitted: nothing more can be done at exit
    }
  }
  liveGroups.clear();
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  globalThis.addEventListener("unload", killLiveGroups);
}

/**
 * Map a `Deno.CommandStatus` to a {@linkcode ProcExitResult}. Deno does not
 * expose `WCOREDUMP`, so `coreDumped` is always `false`.
 * @param status the status of an exited child.
 * @returns the exit result (no stderr tail).
 */
export function exitResultOf(status: Deno.CommandStatus): ProcExitResult {
  if (status.signal !== null && status.signal !== undefined) {
    const signal = signalNumber(status.signal) ??
      (status.code > 128 ? status.code - 128 : undefined);
    if (signal === undefined) {
      return { kind: { kind: "Failed", reason: `unknown signal ${status.signal}` } };
    }
    return { kind: { kind: "Signaled", signal, coreDumped: false } };
  }
  if (Number.isInteger(status.code)) return { kind: { kind: "Exited", code: status.code } };
  return { kind: { kind: "Failed", reason: "unknown exit status" } };
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
 *   stdin is always `null`.
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
 * await launcher.terminate("unix:@a,worker", 2_000);
 * console.log((await result.exit).kind); // { kind: "Signaled", signal: 15, coreDumped: false }
 * ```
 */
export class NativeProcLauncher implements ProcLauncher {
  /** Always `"native"`. */
  readonly kind: LauncherKind = "native";
  readonly #table = new Map<string, Entry>();
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
   * @param options what to launch.
   * @returns pid, start time, stdio and the exit promise.
   * @throws {ProcLauncherError} `Launch` when disposed, when `procId` is still
   *   running, or when the OS refuses to start the program.
   * @tags allow-run
   */
  launch(procId: string, options: LaunchOptions): Promise<LaunchResult> {
    try {
      return Promise.resolve(this.#launch(procId, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #launch(procId: string, options: LaunchOptions): LaunchResult {
    if (this.#disposed) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc ${procId}: the launcher is disposed`,
        {
          procId,
        },
      );
    }
    const running = this.#table.get(procId);
    if (running !== undefined) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc ${procId}: it is still running as pid ${running.pid}`,
        { procId },
      );
    }
    const { program, args } = wrapCommand(
      options.command.program,
      options.command.args,
      options.procBind,
      { numaAvailable: this.#numaProbe },
    );
    const stdio = options.wantStdio ? "piped" : "inherit";
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(program, {
        args,
        env: launchEnv(options),
        stdin: "null",
        stdout: stdio,
        stderr: stdio,
        detached: true, // LN-3: setsid() before exec → own process group
      }).spawn();
    } catch (error) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc ${procId}: ${program} failed to start (${(error as Error).message})`,
        { procId, cause: error },
      );
    }
    const startedAt = Date.now();
    const pid = child.pid;
    liveGroups.add(pid);
    installSafetyNet();
    // LN-4: exactly one terminal result, never a rejection.
    const exit = child.status.then(
      exitResultOf,
      (error: unknown): ProcExitResult => ({
        kind: { kind: "Failed", reason: `cannot wait for exit: ${String(error)}` },
      }),
    ).then((result) => {
      if (this.#table.get(procId)?.child === child) this.#table.delete(procId);
      liveGroups.delete(pid);
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
   * `timeoutMs`, and wait for the exit. Unknown or exited ids succeed.
   * @param procId proc id text.
   * @param timeoutMs grace before SIGKILL.
   * @throws {ProcLauncherError} `Terminate` when signalling fails other than ESRCH.
   * @throws {RangeError} for a negative timeout.
   * @tags allow-run
   */
  async terminate(procId: string, timeoutMs: number): Promise<void> {
    if (!(timeoutMs >= 0)) {
      throw new RangeError(`Cannot terminate proc ${procId}: invalid timeoutMs ${timeoutMs}`);
    }
    const entry = this.#table.get(procId);
    if (entry === undefined) return; // LN-8
    try {
      // LN-1, LN-2 (inside stopChild); LN-3: the whole group is signalled.
      await stopChild(entry.child, { graceMs: timeoutMs, processGroup: true });
    } catch (error) {
      throw new ProcLauncherError(
        "Terminate",
        `Cannot terminate proc ${procId}: ${(error as Error).message}`,
        {
          procId,
          cause: error,
        },
      );
    }
    await entry.exit;
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
    await Promise.all(entries.map((e) => e.exit));
  }
}

/** SIGKILL the group `-pid`, falling back to the pid; ESRCH is success. */
function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      Deno.kill(target, "SIGKILL");
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
