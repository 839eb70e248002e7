/**
 * `BootstrapProcHandle`: the supervisor surface of one proc running in a
 * child OS process started by a `BootstrapProcManager`.
 *
 * Port of `hyperactor_mesh::bootstrap::BootstrapProcHandle`. The handle
 * pairs the proc's logical identity with its live {@linkcode ProcStatus}
 * (held in a {@linkcode ProcStatusCell}: synchronous snapshot, async
 * {@linkcode BootstrapProcHandle.watch}) and exposes the host layer's
 * `ProcHandle` contract: `ready()`, `wait()`, `terminate()`, `kill()`.
 * It does not own the OS process: dropping a handle stops nothing; the
 * launcher (owned by the manager) does.
 *
 * Errors are mapped as the seed maps them: the status cell's own
 * `ReadyError` / `WaitError` become the host contract's `ReadyError` /
 * `WaitError`; launcher failures become `TerminateError` `Io`; an exited proc
 * rejects `terminate()` / `kill()` with `AlreadyTerminated(status)`.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import type { WatchOptions } from "../channel/watch_cell.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/types.ts";
import { ActorRef } from "../actor/port.ts";
import type { Context } from "../actor/types.ts";
import type { ProcLauncher } from "../launcher/types.ts";
import { forceOnAbort, type StopOptions } from "../internal/stop_options.ts";
import { waitWithin } from "../internal/abort.ts";
import { config } from "../config/config.ts";
import { MESH_TERMINATE_TIMEOUT } from "../config/attrs.ts";
import { TerminateError } from "../host/proc_handle.ts";
import type { ProcHandle } from "../host/proc_handle.ts";
import {
  isExit,
  type ProcExitStatus,
  type ProcStatus,
  ProcStatusCell,
  type ProcStatusCellOptions,
} from "./proc_status.ts";

/** The message type (handler name) of the proc agent's stop-all request. */
export const STOP_ALL_MESSAGE = "StopAll";

/** The body of a stop-all request (`resource::StopAll`). */
export interface StopAllMessage {
  /** Tag. */
  kind: "StopAll";
  /** Why (for logs). */
  reason: string;
}

/** Options of {@linkcode BootstrapProcHandle}. */
export interface BootstrapProcHandleOptions extends ProcStatusCellOptions {
  /** Stops and kills the OS process; `undefined` makes both no-ops (the launcher is gone). */
  launcher?: ProcLauncher;
  /** The child's OS pid, when the launcher exposes one. */
  pid?: number;
}

/**
 * A handle to a proc launched by a `BootstrapProcManager`: lifecycle status,
 * readiness, exit, and polite/forced termination.
 *
 * Status moves only along the seed's legal transitions (see
 * `proc_status.ts`, BS-1, BS-6). The `mark*` methods are the manager's
 * (and tests') way to record what it observed.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { ProcId } from "../actor/reference.ts";
 * import { BootstrapProcHandle } from "./proc_handle.ts";
 *
 * const handle = new BootstrapProcHandle(ProcId.parse("unix:@h,worker-0"));
 * assert(handle.markRunning(Date.now()));
 * assert(handle.markReady("unix:/tmp/s/worker-0", "unix:@h,worker-0,proc_agent[0]"));
 * await handle.ready();
 * assertEquals(handle.agentRef()?.toString(), "unix:@h,worker-0,proc_agent[0]");
 * assert(handle.markStopped(0, []));
 * assertEquals((await handle.wait()).kind, "Stopped");
 * handle.close();
 * ```
 */
export class BootstrapProcHandle implements ProcHandle<ProcExitStatus, Actor> {
  /** The proc's logical identity. */
  readonly procId: ProcId;
  /** The child's OS pid, when known. */
  readonly pid: number | undefined;
  readonly #cell: ProcStatusCell;
  readonly #launcher: ProcLauncher | undefined;
  #stderrTail: readonly string[] = [];
  #terminating: Promise<ProcExitStatus> | undefined;
  #agent: { text: string; ref: ActorRef<Actor> } | undefined;
  #killing: Promise<ProcExitStatus> | undefined;

  /**
   * Creates a handle in `Starting` (normally done by the manager).
   * @param procId The proc's id.
   * @param options Launcher, pid, warning sink and clock.
   */
  constructor(procId: ProcId, options: BootstrapProcHandleOptions = {}) {
    this.procId = procId;
    this.pid = options.pid;
    this.#launcher = options.launcher;
    this.#cell = new ProcStatusCell(options);
  }

  /**
   * A snapshot of the current status.
   * @returns The status.
   */
  status(): ProcStatus {
    return this.#cell.get();
  }

  /**
   * The current status, then every later one in order; ends when the handle
   * is closed.
   * @param options Cancellation.
   * @returns An async generator of statuses.
   * @throws The signal's reason when aborted.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<ProcStatus, void, undefined> {
    return this.#cell.watch(options);
  }

  /**
   * Waits for the next status change (the seed's `changed()`).
   * @param options Cancellation.
   * @returns The new status, or `undefined` when the handle closed first.
   * @throws The signal's reason when aborted.
   */
  async changed(options: WatchOptions = {}): Promise<ProcStatus | undefined> {
    let first = true;
    for await (const status of this.#cell.watch(options)) {
      if (!first) return status;
      first = false;
    }
    return undefined;
  }

  /**
   * The last stderr lines the manager kept when the process exited (also in
   * `Stopped.stderrTail`; the only place they are kept for `Killed` and
   * `Failed`). Empty while running or when tailing is off.
   */
  get stderrTail(): readonly string[] {
    return this.#stderrTail;
  }

  /**
   * Records the exit-time stderr tail (the manager calls this before marking
   * the terminal status).
   * @param lines The last stderr lines.
   */
  recordStderrTail(lines: readonly string[]): void {
    this.#stderrTail = Object.freeze([...lines]);
  }

  /**
   * The proc's address once `Ready` (and after, while the status keeps it).
   * @returns The proc's address once `Ready` (and after, while the status keeps it).
   */
  addr(): ChannelAddr | undefined {
    const status = this.#cell.get();
    if (status.kind !== "Ready") return undefined;
    return typeof status.addr === "string" ? ChannelAddr.parse(status.addr) : status.addr;
  }

  /**
   * The proc agent once `Ready`.
   * @returns The proc agent once `Ready`.
   */
  agentRef(): ActorRef<Actor> | undefined {
    const status = this.#cell.get();
    if (status.kind !== "Ready") return undefined;
    // Parsed once per agent: a stop of many procs sends to each at once.
    if (this.#agent?.text !== status.agent) {
      this.#agent = { text: status.agent, ref: ActorRef.attest(status.agent) };
    }
    return this.#agent.ref;
  }

  /**
   * `Starting → Running{startedAt}`.
   * @param startedAt Process start, epoch ms.
   * @returns Whether the status changed.
   */
  markRunning(startedAt: number): boolean {
    return this.#cell.markRunning(startedAt);
  }

  /**
   * `Starting | Running → Ready{addr, agent}`.
   * @param addr Where the proc serves.
   * @param agent The proc agent's actor id text.
   * @returns Whether the status changed.
   */
  markReady(addr: ChannelAddr | string, agent: string): boolean {
    return this.#cell.markReady(addr, agent);
  }

  /**
   * `Starting | Running | Ready → Stopping`.
   * @returns Whether the status changed.
   */
  markStopping(): boolean {
    return this.#cell.markStopping();
  }

  /**
   * Non-terminal → `Stopped{exitCode, stderrTail}`.
   * @param exitCode The exit code.
   * @param stderrTail Last stderr lines.
   * @returns Whether the status changed.
   */
  markStopped(exitCode: number, stderrTail: string[] = []): boolean {
    return this.#cell.markStopped(exitCode, stderrTail);
  }

  /**
   * Non-terminal → `Killed{signal, coreDumped}`.
   * @param signal Signal number.
   * @param coreDumped Whether a core was dumped.
   * @returns Whether the status changed.
   */
  markKilled(signal: number, coreDumped: boolean): boolean {
    return this.#cell.markKilled(signal, coreDumped);
  }

  /**
   * Non-terminal → `Failed{reason}`.
   * @param reason Why.
   * @returns Whether the status changed.
   */
  markFailed(reason: string): boolean {
    return this.#cell.markFailed(reason);
  }

  /**
   * Resolves once the proc is `Ready` (`Stopping` is not terminal).
   * @param options Cancellation.
   * @returns Resolves with nothing.
   * @throws {ReadyError} `Terminal(status)` when the proc exited first,
   * `ChannelClosed` when the handle closed first.
   */
  async ready(options: WatchOptions = {}): Promise<void> {
    await this.#cell.ready(options);
  }

  /**
   * Resolves with the terminal status (`Stopped`, `Killed` or `Failed`).
   * Non-consuming: any number of callers.
   * @param options Cancellation.
   * @returns The exit status.
   * @throws {WaitError} When the handle closed before the proc exited.
   */
  async wait(options: WatchOptions = {}): Promise<ProcExitStatus> {
    return await this.#cell.wait(options);
  }

  /**
   * Stops the proc: first a `StopAll` to its agent (when `Ready`; bounces
   * suppressed), waiting up to `graceMs` for the process to exit; then
   * `Stopping` and the launcher's SIGTERM → SIGKILL escalation (another
   * `graceMs`), and waits for the exit. Concurrent callers share one
   * termination (the first caller's grace and reason apply).
   * @param cx The calling actor (sends the stop-all).
   * @param options `graceMs` for each phase (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `reason` (default `"terminate"`),
   * `signal` (aborting kills the proc at once and rejects with its reason).
   * @returns The exit status.
   * @throws {TerminateError} `AlreadyTerminated(status)` when already exited,
   * `Io` when the launcher fails, `ChannelClosed` when the handle closed.
   * @throws {RangeError} For a negative or non-numeric grace.
   */
  terminate(cx: Context, options: StopOptions = {}): Promise<ProcExitStatus> {
    const { graceMs = config.get(MESH_TERMINATE_TIMEOUT), reason = "terminate", signal } = options;
    if (!(graceMs >= 0)) {
      return Promise.reject(
        new RangeError(`Cannot terminate proc ${this.procId}: invalid graceMs ${graceMs}`),
      );
    }
    const st0 = this.#cell.get();
    if (isExit(st0)) return Promise.reject(TerminateError.alreadyTerminated(st0));
    this.#terminating ??= this.#terminate(cx, graceMs, reason);
    return forceOnAbort(this.#terminating, () => this.kill(reason), signal);
  }

  async #terminate(cx: Context, timeoutMs: number, reason: string): Promise<ProcExitStatus> {
    const agent = this.agentRef();
    if (agent !== undefined) {
      try {
        this.sendStopAll(cx, reason);
        const st = await waitWithin((signal) => this.#cell.wait({ signal }), timeoutMs);
        if (st !== undefined) return st;
      } catch (error) {
        console.warn(`hypermesh: proc agent ${agent} could not stop all actors:`, error);
      }
    }
    this.#cell.markStopping(); // may race with the exit; fine
    if (this.#launcher !== undefined) {
      try {
        await this.#launcher.terminate(this.procId.toString(), { graceMs: timeoutMs });
      } catch (error) {
        throw TerminateError.io<ProcExitStatus>(
          new Error(`launcher termination failed: ${describe(error)}`, { cause: error }),
        );
      }
    }
    return await this.#waitExit();
  }

  /**
   * Posts `StopAll{reason}` to the proc agent with bounces suppressed (the
   * proc may already be gone). No-op unless `Ready`.
   * @param cx The sending context.
   * @param reason Why.
   * @returns Whether a message was posted.
   */
  sendStopAll(cx: Context, reason: string): boolean {
    const agent = this.agentRef();
    if (agent === undefined) return false;
    const msg: StopAllMessage = { kind: "StopAll", reason };
    agent.port(STOP_ALL_MESSAGE).withReturnUndeliverable(false).send(cx, msg);
    return true;
  }

  /**
   * Waits up to `graceMs` for the exit; if none, marks `Stopping` and
   * escalates through the launcher (terminate, then kill on failure), then
   * waits for the exit. For callers that already asked the proc to stop.
   * @param options `graceMs` before each escalation (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`); `signal` (aborting kills the proc
   * at once and rejects with its reason). `reason` is not used.
   * @returns The exit status (or the last status when the handle closed).
   */
  waitOrBrutallyKill(options: StopOptions = {}): Promise<ProcStatus> {
    const { graceMs = config.get(MESH_TERMINATE_TIMEOUT), signal } = options;
    const kill = () => this.#launcher?.kill(this.procId.toString());
    return forceOnAbort(this.#waitOrBrutallyKill(graceMs), kill, signal);
  }

  async #waitOrBrutallyKill(timeoutMs: number): Promise<ProcStatus> {
    const st = await waitWithin((signal) => this.#cell.wait({ signal }), timeoutMs);
    if (st !== undefined) return st;
    this.#cell.markStopping();
    if (this.#launcher !== undefined) {
      const id = this.procId.toString();
      try {
        await this.#launcher.terminate(id, { graceMs: timeoutMs });
      } catch (error) {
        console.warn(`hypermesh: terminating ${id} failed, killing:`, error);
        await this.#launcher.kill(id).catch(() => {});
      }
    }
    try {
      return await this.#cell.wait();
    } catch {
      return this.#cell.get();
    }
  }

  /**
   * Forces the proc down at once through the launcher (SIGKILL) and waits for
   * the exit. Concurrent callers share one kill.
   * @param _reason Why (informational).
   * @returns The exit status.
   * @throws {TerminateError} `AlreadyTerminated(status)` when already exited,
   * `Io` when the launcher fails, `ChannelClosed` when the handle closed.
   */
  kill(_reason?: string): Promise<ProcExitStatus> {
    const st0 = this.#cell.get();
    if (isExit(st0)) return Promise.reject(TerminateError.alreadyTerminated(st0));
    this.#killing ??= (async () => {
      if (this.#launcher !== undefined) {
        try {
          await this.#launcher.kill(this.procId.toString());
        } catch (error) {
          throw TerminateError.io<ProcExitStatus>(
            new Error(`launcher kill failed: ${describe(error)}`, { cause: error }),
          );
        }
      }
      return await this.#waitExit();
    })();
    return this.#killing;
  }

  async #waitExit(): Promise<ProcExitStatus> {
    try {
      return await this.#cell.wait();
    } catch {
      throw TerminateError.channelClosed<ProcExitStatus>();
    }
  }

  /** Closes the status cell: watchers end, pending waits reject. Idempotent. */
  close(): void {
    this.#cell.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
