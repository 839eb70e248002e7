/**
 * Folder-private: the exit safety net of `BootstrapProcManager` (BS-9, see
 * `manager.ts`). Every running child of every manager is recorded here;
 * when this process exits normally (`unload`, including `Deno.exit()`),
 * every recorded child group gets SIGKILL (best effort).
 * @module
 */

/** Process groups of every running child of every manager (exit safety net, BS-9). */
const livePids = new Set<number>();
let safetyNetInstalled = false;

/**
 * SIGKILLs the process group of `pid`, else `pid` alone; ignores ESRCH.
 * @param pid The child's pid (a group leader when detached).
 */
export function killPid(pid: number): void {
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

/**
 * Records a running child (installing the `unload` handler on first use).
 * @param pid The child's pid.
 */
export function recordLivePid(pid: number): void {
  livePids.add(pid);
  installSafetyNet();
}

/**
 * Forgets a child that exited.
 * @param pid The child's pid.
 */
export function forgetLivePid(pid: number): void {
  livePids.delete(pid);
}

/**
 * SIGKILLs every running child through its launcher, falling back to a
 * group SIGKILL when the launcher fails (BS-9, on dispose).
 * @param launcher The manager's launcher, if any was chosen.
 * @param running The running children.
 */
export async function killRunning(
  launcher: { kill(id: string): Promise<unknown> } | undefined,
  running: readonly { launcherId: string; pid?: number }[],
): Promise<void> {
  await Promise.all(running.map(async ({ launcherId, pid }) => {
    try {
      await launcher?.kill(launcherId); // BS-9
    } catch (error) {
      console.warn(`hypermesh: cannot kill ${launcherId}:`, error);
      if (pid !== undefined) killPid(pid);
    }
  }));
}
