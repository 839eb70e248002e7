/**
 * Folder-private: tolerant systemd calls — "no such unit / nothing to do"
 * replies count as success — the removal of a leftover unit (e.g. from
 * a crashed run) before a launch reuses its name (reference §5.3; it
 * complements LN-S3, which `_systemd_watch.ts` enforces for our own units),
 * and the sweep of units whose host died (LN-S7).
 * @module
 */

import { DBUS_ERRORS, isDbusError } from "./_dbus.ts";
import { SERVICE_IFACE, type SystemdManager } from "./_systemd_manager.ts";
import { UNIT_PREFIX, UNIT_SUFFIX } from "./systemd_unit.ts";
import { ProcLauncherError, WATCH_PID_ENV } from "./types.ts";
import { waitGone } from "./_systemd_watch.ts";

const IGNORABLE = [
  DBUS_ERRORS.noSuchUnit,
  DBUS_ERRORS.unknownObject,
  DBUS_ERRORS.noSuchProcess,
  DBUS_ERRORS.unitInactive,
];

/**
 * Awaits a systemd call, treating "no such unit / nothing to do" replies as success.
 * @param call The pending call.
 * @returns Its result, or `undefined` for an ignorable error reply.
 * @throws Any other error of the call.
 */
export async function ignoring<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isDbusError(error, ...IGNORABLE)) return undefined;
    throw error;
  }
}

/**
 * Best-effort removal of a leftover unit of that name: stop, reset, wait
 * (bounded) until it is gone.
 * @param manager The user manager.
 * @param name The unit name.
 * @throws {ProcLauncherError} `Launch` when systemd does not answer the lookup.
 */
export async function clearStaleUnit(manager: SystemdManager, name: string): Promise<void> {
  try {
    await manager.getUnit(name);
  } catch (error) {
    if (isDbusError(error, DBUS_ERRORS.noSuchUnit)) return; // the common case
    throw new ProcLauncherError("Launch", `Cannot launch unit ${name}: systemd did not answer`, {
      cause: error,
    });
  }
  await ignoring(manager.stopUnit(name));
  await ignoring(manager.resetFailedUnit(name));
  await waitGone(manager, name);
}

/** What {@linkcode sweepOrphanedUnits} needs to know about a pid. */
export type PidIsAlive = (pid: number) => Promise<boolean>;

/**
 * The host pid a unit's environment names ({@linkcode WATCH_PID_ENV}).
 * @param environment The service's `Environment` property (`KEY=VALUE` strings).
 * @returns The pid, or `undefined` when absent or malformed.
 */
export function watchedPidOf(environment: unknown): number | undefined {
  if (!Array.isArray(environment)) return undefined;
  const prefix = `${WATCH_PID_ENV}=`;
  for (const entry of environment) {
    if (typeof entry !== "string" || !entry.startsWith(prefix)) continue;
    const text = entry.slice(prefix.length);
    if (!/^[1-9][0-9]*$/.test(text)) return undefined;
    return Number(text);
  }
  return undefined;
}

/**
 * LN-S7: stops and resets every `hypermesh-*.service` unit whose process has
 * ended and whose host — the pid in its {@linkcode WATCH_PID_ENV} — is gone.
 * A host killed with SIGKILL cannot reset its units; its procs die with it
 * (BS-36) but, with `RemainAfterExit`, their units would stay
 * `active (exited)` for as long as the user manager runs. A unit that still
 * has a main process, names no host, or whose host lives (that host's
 * launcher owns it) is left alone; so is one that cannot be read (it may
 * have just gone). Best effort: nothing here throws.
 * @param manager The user manager.
 * @param isAlive Whether a pid is a live process (zombies are dead).
 * @returns The names of the units swept.
 */
export async function sweepOrphanedUnits(
  manager: SystemdManager,
  isAlive: PidIsAlive,
): Promise<string[]> {
  let names: string[];
  try {
    names = await manager.listUnitNames([`${UNIT_PREFIX}*${UNIT_SUFFIX}`]);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    try {
      const service = await manager.getAll(await manager.getUnit(name), SERVICE_IFACE);
      if (Number(service.MainPID ?? 0) !== 0) continue; // a process still runs
      const host = watchedPidOf(service.Environment);
      if (host === undefined || await isAlive(host)) continue;
      await ignoring(manager.stopUnit(name));
      await ignoring(manager.resetFailedUnit(name));
      swept.push(name);
    } catch {
      // gone meanwhile, or unreadable: not ours to judge
    }
  }
  return swept;
}
