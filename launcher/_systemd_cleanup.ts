/**
 * Folder-private: tolerant systemd calls — "no such unit / nothing to do"
 * replies count as success — and the removal of a leftover unit (e.g. from
 * a crashed run) before a launch reuses its name (reference §5.3; it
 * complements LN-S3, which `_systemd_watch.ts` enforces for our own units).
 * @module
 */

import { DBUS_ERRORS, isDbusError } from "./_dbus.ts";
import type { SystemdManager } from "./_systemd_manager.ts";
import { ProcLauncherError } from "./types.ts";
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
