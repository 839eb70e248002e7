/**
 * Folder-private: follows one transient unit from start to exit for the systemd launcher.
 * State arrives from `PropertiesChanged` signals (systemd sends the `Service` interface
 * before the `Unit` one, so exit values are merged before the state that ends the unit),
 * `UnitRemoved`, `JobRemoved`, and a slow safety poll.
 * @module
 */

import { DBUS_ERRORS, DbusConnectionError, isDbusError } from "./_dbus.ts";
import {
  SERVICE_IFACE,
  type SystemdManager,
  UNIT_IFACE,
  unitObjectPath,
} from "./_systemd_manager.ts";
import {
  hasExecMainResult,
  isUnitTerminal,
  mapUnitExit,
  type UnitExitProps,
} from "./systemd_unit.ts";
import type { ProcExitKind, ProcExitResult } from "./types.ts";

/** Options of {@linkcode UnitWatch}. */
export interface UnitWatchOptions {
  /** Safety poll period. */
  pollIntervalMs: number;
  /** Called once, right after `exit` settles. */
  onSettled: () => void;
}

const START_JOB_WAIT_MS = 10_000;
const MAX_QUERY_ERRORS = 50;
const STARTED_STATES = new Set(["activating", "active", "deactivating", "reloading", "failed"]);

/** Resolves to `value`, or to `undefined` after `ms` (the timer is always cleared). */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | undefined> {
  if (signal?.aborted) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), ms);
        onAbort = () => r(undefined);
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** Sleeps `ms`; resolves early (timer cleared) when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Polls `GetUnit` until systemd has garbage-collected the unit (20 ms steps, ≤ `maxMs`);
 * `signal` (e.g. a `UnitRemoved` signal seen) ends the wait early as gone.
 * @returns whether the unit is gone.
 */
export async function waitGone(
  manager: SystemdManager,
  name: string,
  maxMs = 2_000,
  signal?: AbortSignal,
): Promise<boolean> {
  const until = Date.now() + maxMs;
  while (true) {
    if (signal?.aborted) return true;
    try {
      await manager.getUnit(name);
    } catch (error) {
      if (isDbusError(error, DBUS_ERRORS.noSuchUnit)) return true;
      if (error instanceof DbusConnectionError) return false;
    }
    if (Date.now() >= until) return false;
    await sleep(20, signal);
  }
}

/** One unit's lifecycle; `exit` resolves exactly once and never rejects (LN-S2). */
export class UnitWatch {
  readonly unit: string;
  readonly path: string;
  readonly exit: Promise<ProcExitResult>;
  #manager: SystemdManager;
  #options: UnitWatchOptions;
  #props: Record<string, unknown> = {};
  #started = false;
  #observed = false;
  #gone = false;
  #errors = 0;
  #finishing = false;
  #settled = false;
  #resolveExit!: (r: ProcExitResult) => void;
  #resolveJob!: (result: string) => void;
  #job: Promise<string>;
  #poll: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #removed = new AbortController();

  constructor(manager: SystemdManager, unit: string, options: UnitWatchOptions) {
    this.#manager = manager;
    this.unit = unit;
    this.path = unitObjectPath(unit);
    this.#options = options;
    this.exit = new Promise((resolve) => this.#resolveExit = resolve);
    this.#job = new Promise((resolve) => this.#resolveJob = resolve);
  }

  /** Whether `exit` has resolved. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Merges changed properties of the unit object. */
  apply(iface: string, changed: Record<string, unknown>): void {
    if (this.#finishing) {
      Object.assign(this.#props, changed); // late exit values still count
      return;
    }
    if (iface !== UNIT_IFACE && iface !== SERVICE_IFACE) return;
    Object.assign(this.#props, changed);
    this.#observed = true;
    const p = this.#props;
    if (
      STARTED_STATES.has(String(p.ActiveState)) || Number(p.ExecMainStartTimestamp ?? 0) > 0 ||
      hasExecMainResult(p as UnitExitProps)
    ) this.#started = true;
    if (isUnitTerminal(p as UnitExitProps, this.#started)) void this.#finish();
  }

  /** The unit was garbage-collected (`UnitRemoved`). */
  removed(): void {
    if (!this.#started && !this.#observed) return; // a previous incarnation's removal
    this.#gone = true;
    this.#removed.abort();
    void this.#finish();
  }

  /** A job of this unit finished with `result` (`done`, `failed`, `canceled`, …). */
  jobRemoved(result: string): void {
    this.#started = true;
    this.#resolveJob(result);
    if (isUnitTerminal(this.#props as UnitExitProps, true)) void this.#finish();
  }

  /**
   * Call once `StartTransientUnit` succeeded: starts polling and waits for the start job.
   * @returns `undefined` when the unit started (or already ended), else the job result.
   */
  async started(): Promise<string | undefined> {
    this.#poll = setInterval(() => void this.#pollOnce(), this.#options.pollIntervalMs);
    void this.#pollOnce();
    const result = await within(
      Promise.race([this.#job, this.exit.then(() => "exited")]),
      START_JOB_WAIT_MS,
    );
    return result === undefined || result === "done" || result === "exited" ? undefined : result;
  }

  /** Whether the unit exited within `ms` (`false` at once when `signal` aborts). */
  async exitedWithin(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#settled) return true;
    return (await within(this.exit, ms, signal)) !== undefined;
  }

  /** Settles at once without cleanup (the unit never existed, or the bus is closing). */
  abandon(reason = "the unit was not started"): void {
    this.#settle({ kind: { kind: "Failed", reason } });
  }

  async #pollOnce(): Promise<void> {
    if (this.#polling || this.#finishing) return;
    this.#polling = true;
    try {
      await this.#refresh();
      if (this.#gone) void this.#finish();
      else if (isUnitTerminal(this.#props as UnitExitProps, this.#started)) void this.#finish();
    } finally {
      this.#polling = false;
    }
  }

  /** Reads the unit's properties once; marks it gone when systemd no longer has it. */
  async #refresh(): Promise<void> {
    try {
      await this.#manager.getUnit(this.unit); // never loads a stub, unlike a path lookup
      const service = await this.#manager.getAll(this.path, SERVICE_IFACE);
      const unit = await this.#manager.getAll(this.path, UNIT_IFACE);
      if (unit.LoadState === "not-found") {
        this.#gone = true;
        return;
      }
      this.#errors = 0;
      this.apply(SERVICE_IFACE, service);
      this.apply(UNIT_IFACE, unit);
    } catch (error) {
      if (isDbusError(error, DBUS_ERRORS.noSuchUnit, DBUS_ERRORS.unknownObject)) this.#gone = true;
      else if (error instanceof DbusConnectionError) this.#lost(error);
      else if (++this.#errors >= MAX_QUERY_ERRORS) this.#gone = true;
    }
  }

  #lost(error: DbusConnectionError): void {
    this.#settle({
      kind: { kind: "Failed", reason: `lost the systemd user manager: ${error.message}` },
    });
  }

  async #finish(): Promise<void> {
    if (this.#finishing || this.#settled) return;
    this.#finishing = true;
    clearInterval(this.#poll);
    let kind: ProcExitKind;
    try {
      kind = await this.#exitKind();
      await this.#cleanup(); // LN-S3
    } catch (error) {
      kind ??= {
        kind: "Failed",
        reason: `Cannot observe the unit's exit: ${(error as Error)?.message}`,
      };
    }
    this.#settle({ kind }); // LN-S2: on every path
  }

  async #exitKind(): Promise<ProcExitKind> {
    const props = this.#props as UnitExitProps;
    // The exit values normally came with the state change; poll briefly if not.
    for (let i = 0; i < 40 && !hasExecMainResult(props) && !this.#gone && !this.#settled; i++) {
      await this.#refresh(); // apply() still merges while finishing
      if (!hasExecMainResult(props)) await sleep(25);
    }
    if (hasExecMainResult(props) || (!this.#gone && props.Result !== undefined)) {
      return mapUnitExit(props);
    }
    if (this.#observed) return { kind: "Signaled", signal: 15, coreDumped: false }; // reference §5.3
    return { kind: "Failed", reason: "unit disappeared before state could be observed" };
  }

  async #cleanup(): Promise<void> {
    if (this.#settled) return;
    const tolerate = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (error) {
        if (error instanceof DbusConnectionError) return;
        if (!isDbusError(error)) throw error;
      }
    };
    const active = this.#props.ActiveState;
    if (!this.#gone && active !== "inactive") {
      if (active !== "failed") await tolerate(this.#manager.stopUnit(this.unit));
      await tolerate(this.#manager.resetFailedUnit(this.unit));
    }
    if (!(await waitGone(this.#manager, this.unit, 2_000, this.#removed.signal))) {
      await tolerate(this.#manager.resetFailedUnit(this.unit)); // a stop that ended failed
      await waitGone(this.#manager, this.unit, 1_000, this.#removed.signal);
    }
  }

  #settle(result: ProcExitResult): void {
    if (this.#settled) return;
    this.#settled = true;
    clearInterval(this.#poll);
    this.#resolveJob("abandoned");
    this.#resolveExit(result);
    this.#options.onSettled();
  }
}
