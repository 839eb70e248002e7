/**
 * Process-group bookkeeping shared by the native launcher and its warm
 * children (folder-private): the exit safety net (LN-6), group SIGKILL, and
 * the mapping of a `Deno.CommandStatus` to a {@linkcode ProcExitResult}.
 * @module
 */

import { signalNumber } from "./_signals.ts";
import type { ProcExitResult } from "./types.ts";

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

/**
 * Records the group `-pid` for the exit safety net (LN-6), installing the
 * `unload` handler on first use.
 * @param pid The group leader's pid.
 */
export function recordGroup(pid: number): void {
  liveGroups.add(pid);
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  globalThis.addEventListener("unload", killLiveGroups);
}

/**
 * Forgets the group `-pid` (its leader exited).
 * @param pid The group leader's pid.
 */
export function forgetGroup(pid: number): void {
  liveGroups.delete(pid);
}

/**
 * SIGKILL the group `-pid`, falling back to the pid; ESRCH is success.
 * @param pid The group leader's pid.
 * @throws {Deno.errors.PermissionDenied} Or any error other than ESRCH.
 */
export function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      Deno.kill(target, "SIGKILL");
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/**
 * Map a `Deno.CommandStatus` to a {@linkcode ProcExitResult}. Deno does not
 * expose `WCOREDUMP`, so `coreDumped` is always `false`.
 * @param status the status of an exited child.
 * @returns the exit result (no stderr tail).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { exitResultOf } from "./_groups.ts";
 * assertEquals(exitResultOf({ success: false, code: 137, signal: "SIGKILL" }).kind, {
 *   kind: "Signaled",
 *   signal: 9,
 *   coreDumped: false,
 * });
 * ```
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

/**
 * The exit promise of a spawned group leader (LN-4): resolves exactly once,
 * never rejects, and forgets the group before resolving.
 * @param child The spawned child.
 * @returns Its terminal result.
 */
export function watchExit(child: Deno.ChildProcess): Promise<ProcExitResult> {
  const pid = child.pid;
  return child.status.then(
    exitResultOf,
    (error: unknown): ProcExitResult => ({
      kind: { kind: "Failed", reason: `cannot wait for exit: ${String(error)}` },
    }),
  ).then((result) => {
    forgetGroup(pid);
    return result;
  });
}
