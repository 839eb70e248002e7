/**
 * The systemd launcher: each proc runs as a transient `systemd --user` service, started
 * and observed over the session D-Bus (reference §5.3). No pid is exposed; stdio belongs
 * to systemd (the journal, or /dev/null where no journald runs).
 *
 * ## Invariants (LN-*)
 * - **LN-S1 (fail-at-selection).** {@linkcode SystemdProcLauncher.connect} resolves only
 *   after the user manager answered (`Version`, `Subscribe`); otherwise it throws
 *   {@linkcode SystemdUnavailableError} naming why.
 * - **LN-S2 (exit-once).** A launch's `exit` resolves exactly once, never rejects, and is
 *   mapped from `ExecMainCode`/`ExecMainStatus`/`Result` ({@linkcode mapUnitExit}).
 * - **LN-S3 (names-free).** When `exit` resolves, the unit has been stopped / reset and
 *   (best effort, bounded) is gone, so the same proc id can be launched again.
 * - **LN-S4 (polite-first).** `terminate` asks systemd to stop the unit (SIGTERM to its
 *   processes) and sends SIGKILL to the unit's processes only after `timeoutMs`.
 * - **LN-S5 (no-leak).** Disposal stops every unit still tracked, then closes the bus
 *   connection (socket closed, no timers left).
 * - LN-S6 is defined where it is enforced, `_systemd_properties.ts`.
 * - **LN-S7 (dead hosts' units swept).** {@linkcode SystemdProcLauncher.connect} stops and
 *   resets every `hypermesh-*` unit without a main process whose host (the pid in its
 *   `HYPERMESH_WATCH_PID`) is no longer alive: what a host killed with SIGKILL left
 *   behind. Units of live hosts, and units still running a process, are never touched
 *   (enforced in `_systemd_cleanup.ts`).
 *
 * Unit properties are built in `_systemd_properties.ts`; leftover units are cleared and
 * "nothing to do" replies tolerated in `_systemd_cleanup.ts`.
 * Timings and reason wording are not promised.
 * @module
 */

import { DBUS_ERRORS, DbusConnection, DbusConnectionError, isDbusError } from "./_dbus.ts";
import { SystemdManager } from "./_systemd_manager.ts";
import {
  type LaunchOptions,
  type LaunchResult,
  type ProcExitKind,
  type ProcLauncher,
  ProcLauncherError,
} from "./types.ts";
import { unitName } from "./systemd_unit.ts";
import { UnitWatch } from "./_systemd_watch.ts";
import { unitProperties } from "./_systemd_properties.ts";
import { clearStaleUnit, ignoring, sweepOrphanedUnits } from "./_systemd_cleanup.ts";
import { processState } from "./_proc_state.ts";
import { raceAbort } from "../internal/abort.ts";
import { DEFAULT_GRACE_MS, type StopOptions } from "../internal/stop_options.ts";

export {
  hasExecMainResult,
  isUnitTerminal,
  mapUnitExit,
  UNIT_NAME_MAX,
  UNIT_PREFIX,
  unitName,
} from "./systemd_unit.ts";
export type { UnitExitProps } from "./systemd_unit.ts";

/** Why the systemd launcher cannot be used. */
export type SystemdUnavailableVariant = "NoSessionBus" | "NoUserManager" | "AccessDenied";

/**
 * The systemd launcher was selected but cannot work here; `variant` says why. Thrown by
 * {@linkcode SystemdProcLauncher.connect}, i.e. when the launcher is chosen (LN-S1).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SystemdProcLauncher, SystemdUnavailableError } from "./systemd.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   await SystemdProcLauncher.connect({ busAddress: `unix:path=${dir}/none` });
 * } catch (error) {
 *   assertEquals((error as SystemdUnavailableError).variant, "NoSessionBus");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class SystemdUnavailableError extends Error {
  /** `NoSessionBus`: no/unreachable bus; `NoUserManager`: nobody owns org.freedesktop.systemd1; `AccessDenied`. */
  readonly variant: SystemdUnavailableVariant;
  /** The bus address tried ("" when none was configured). */
  readonly address: string;
  /**
   * Creates the error; the message reads "Cannot use the systemd launcher: <state>".
   * @param variant why.
   * @param address the bus address tried.
   * @param state what went wrong.
   * @param options `cause`.
   */
  constructor(
    variant: SystemdUnavailableVariant,
    address: string,
    state: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot use the systemd launcher: ${state}`, options);
    this.name = "SystemdUnavailableError";
    this.variant = variant;
    this.address = address;
  }
}

/** Options of {@linkcode SystemdProcLauncher.connect}. */
export interface SystemdConnectOptions {
  /** Session bus address (default `$DBUS_SESSION_BUS_ADDRESS`). */
  busAddress?: string;
  /** Aborts connecting. */
  signal?: AbortSignal;
  /** Bound on the handshake and on each D-Bus call (default 10 000 ms). */
  callTimeoutMs?: number;
  /** `TimeoutStopUSec` of each unit: systemd's own SIGKILL backstop (default 30 000 ms). */
  stopTimeoutMs?: number;
  /** Safety poll of unit state between signals (default 2 000 ms). */
  pollIntervalMs?: number;
}

const MANAGER_DENIED = [
  DBUS_ERRORS.accessDenied,
  DBUS_ERRORS.authFailed,
  DBUS_ERRORS.interactiveAuth,
];

/**
 * {@linkcode ProcLauncher} running procs as transient `systemd --user` services.
 * @example
 * ```ts ignore
 * await using launcher = await SystemdProcLauncher.connect();
 * const { exit } = await launcher.launch("p0", options);
 * await launcher.terminate("p0", { graceMs: 5_000 });
 * console.log((await exit).kind);
 * ```
 */
export class SystemdProcLauncher implements ProcLauncher {
  /** Always `"systemd"`. */
  readonly kind = "systemd" as const;
  #manager: SystemdManager;
  #watches = new Map<string, UnitWatch>();
  #byPath = new Map<string, UnitWatch>();
  #stopTimeoutMs: number;
  #pollIntervalMs: number;
  #unlisten: () => void;
  #disposed = false;

  private constructor(manager: SystemdManager, options: SystemdConnectOptions) {
    this.#manager = manager;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.#unlisten = manager.onSignals({
      properties: (c) => this.#byPath.get(c.path)?.apply(c.iface, c.changed),
      unitRemoved: (_name, path) => this.#byPath.get(path)?.removed(),
      jobRemoved: (unit, _job, result) => this.#watchOf(unit)?.jobRemoved(result),
    });
  }

  /**
   * Connects to the session bus, checks the user manager answers (LN-S1) and sweeps
   * the units of hosts that are gone (LN-S7).
   * @param options bus address, abort signal, timeouts.
   * @returns a ready launcher; dispose it to stop its units and close the bus.
   * @throws {SystemdUnavailableError} `NoSessionBus`, `NoUserManager` or `AccessDenied`.
   * @tags allow-env, allow-net, allow-read, allow-write
   */
  static async connect(options: SystemdConnectOptions = {}): Promise<SystemdProcLauncher> {
    let conn: DbusConnection;
    try {
      conn = await DbusConnection.open(options.busAddress, {
        signal: options.signal,
        timeoutMs: options.callTimeoutMs,
      });
    } catch (error) {
      if (!(error instanceof DbusConnectionError)) throw error;
      const where = error.address === "" ? "" : ` at "${error.address}"`;
      if (error.authFailed) {
        const state = `the session bus${where} refused authentication (${error.state})`;
        throw new SystemdUnavailableError("AccessDenied", error.address, state, { cause: error });
      }
      const state = `no reachable D-Bus session bus${where} (${error.state})`;
      throw new SystemdUnavailableError("NoSessionBus", error.address, state, { cause: error });
    }
    const manager = new SystemdManager(conn);
    try {
      await manager.version(); // LN-S1
      await manager.subscribe();
      await manager.watchSignals();
    } catch (error) {
      await conn.close();
      if (isDbusError(error, ...MANAGER_DENIED)) {
        throw new SystemdUnavailableError("AccessDenied", conn.address, error.message, {
          cause: error,
        });
      }
      if (error instanceof DbusConnectionError || isDbusError(error)) {
        throw new SystemdUnavailableError(
          "NoUserManager",
          conn.address,
          `no systemd user manager answers on ${conn.address} (${error.message})`,
          { cause: error },
        );
      }
      throw error;
    }
    // LN-S7: what hosts killed with SIGKILL left behind.
    const swept = await sweepOrphanedUnits(
      manager,
      async (pid) => (await processState(pid)) === "alive",
    );
    if (swept.length > 0) {
      console.warn(
        `hypermesh: removed ${swept.length} leftover unit(s) of hosts that are gone: ${
          swept.join(", ")
        }`,
      );
    }
    return new SystemdProcLauncher(manager, options);
  }

  #watchOf(unit: string): UnitWatch | undefined {
    for (const w of this.#watches.values()) if (w.unit === unit) return w;
    return undefined;
  }

  /**
   * Starts `options.command` as the transient unit {@linkcode unitName}(procId).
   * @param procId the proc id (text form).
   * @param options launch intent; `wantStdio` is not honoured (stdio is `ManagedByLauncher`).
   * @returns `{pid: undefined, stdio: ManagedByLauncher, exit}`.
   * @throws {ProcLauncherError} `Launch` when systemd refuses the unit or its start job fails.
   */
  async launch(procId: string, options: LaunchOptions): Promise<LaunchResult> {
    if (this.#disposed) {
      throw new ProcLauncherError("Launch", "Cannot launch: the launcher is disposed", { procId });
    }
    if (this.#watches.get(procId)?.settled === false) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc "${procId}": it is already running`,
        { procId },
      );
    }
    const name = unitName(procId);
    await clearStaleUnit(this.#manager, name);
    const watch = new UnitWatch(this.#manager, name, {
      pollIntervalMs: this.#pollIntervalMs,
      onSettled: () => {
        if (this.#watches.get(procId) === watch) this.#watches.delete(procId);
        if (this.#byPath.get(watch.path) === watch) this.#byPath.delete(watch.path);
      },
    });
    this.#watches.set(procId, watch);
    this.#byPath.set(watch.path, watch);
    const startedAt = Date.now();
    try {
      await this.#manager.startTransientUnit(
        name,
        "replace",
        unitProperties(procId, options, this.#stopTimeoutMs),
      );
    } catch (error) {
      watch.abandon();
      throw new ProcLauncherError(
        "Launch",
        `Cannot launch proc "${procId}": systemd refused unit ${name}`,
        {
          procId,
          cause: error,
        },
      );
    }
    const failure = await watch.started();
    if (failure !== undefined && failure !== "canceled") {
      // A start job also fails when the process ran but died before systemd saw its exec
      // succeed; only systemd's own spawn failures (exit 200–243) mean "never ran".
      const exit = await watch.exit;
      if (isSpawnFailure(exit.kind)) {
        throw new ProcLauncherError(
          "Launch",
          `Cannot launch proc "${procId}": start job of ${name} ${failure} (${
            JSON.stringify(exit.kind)
          })`,
          { procId },
        );
      }
    }
    return { pid: undefined, startedAt, stdio: { kind: "ManagedByLauncher" }, exit: watch.exit };
  }

  /**
   * Stops the unit (SIGTERM), then SIGKILLs its processes if it has not exited after
   * `graceMs` (LN-S4). Unknown ids are success.
   * @param procId the proc id.
   * @param options `graceMs` before SIGKILL (default 5000); aborting `signal`
   * SIGKILLs at once and rejects with its reason.
   * @throws {ProcLauncherError} `Terminate` when systemd rejects the request.
   * @throws {RangeError} for a negative or infinite grace.
   */
  terminate(procId: string, options: StopOptions = {}): Promise<void> {
    const { graceMs = DEFAULT_GRACE_MS, signal } = options;
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw new RangeError(`Cannot terminate proc "${procId}": invalid graceMs ${graceMs}`);
    }
    signal?.throwIfAborted();
    return raceAbort(this.#terminate(procId, graceMs, signal), signal);
  }

  async #terminate(procId: string, graceMs: number, signal?: AbortSignal): Promise<void> {
    const name = unitName(procId);
    try {
      await ignoring(this.#manager.stopUnit(name)); // LN-S4
    } catch (error) {
      throw new ProcLauncherError(
        "Terminate",
        `Cannot terminate proc "${procId}": StopUnit failed`,
        {
          procId,
          cause: error,
        },
      );
    }
    const watch = this.#watches.get(procId);
    if (watch === undefined || (await watch.exitedWithin(graceMs, signal))) return;
    try {
      await ignoring(this.#manager.killUnit(name, "all", 9));
    } catch (error) {
      throw new ProcLauncherError(
        "Terminate",
        `Cannot terminate proc "${procId}": KillUnit failed`,
        {
          procId,
          cause: error,
        },
      );
    }
  }

  /**
   * Sends SIGKILL to every process of the unit. Unknown ids are success.
   * @param procId the proc id.
   * @throws {ProcLauncherError} `Kill` when systemd rejects the request.
   */
  async kill(procId: string): Promise<void> {
    try {
      await ignoring(this.#manager.killUnit(unitName(procId), "all", 9));
    } catch (error) {
      throw new ProcLauncherError("Kill", `Cannot kill proc "${procId}": KillUnit failed`, {
        procId,
        cause: error,
      });
    }
  }

  /** Stops every tracked unit (SIGKILL after the stop timeout), then closes the bus (LN-S5). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const ids = [...this.#watches.keys()];
    await Promise.allSettled(
      ids.map((id) => this.terminate(id, { graceMs: Math.min(this.#stopTimeoutMs, 5_000) })),
    );
    await Promise.allSettled([...this.#watches.values()].map((w) => w.exitedWithin(5_000)));
    for (const w of [...this.#watches.values()]) {
      w.abandon("the launcher was disposed before the unit ended");
    }
    this.#unlisten();
    await this.#manager.connection.close();
  }
}

/** systemd's `EXIT_CHDIR` (200) … `EXIT_*` (243): the unit's process failed before exec. */
function isSpawnFailure(kind: ProcExitKind): boolean {
  return kind.kind === "Failed" || (kind.kind === "Exited" && kind.code >= 200 && kind.code <= 243);
}
