/**
 * Folder-private: the socket directories of bootstrap proc managers, and the
 * sweep of those left behind by managers that died without disposing (a
 * SIGKILLed host or client runs no clean-up).
 *
 * A manager's directory is `<runtime dir>/hypermesh-<pid>-<random>` (mode
 * 0700), `<pid>` being the manager's process. A manager that starts sweeps
 * its runtime dir: every `hypermesh-<pid>-*` directory whose `<pid>` no
 * longer runs (gone or a zombie) is removed, like the systemd sweep of units
 * whose host is gone (`launcher/_systemd_cleanup.ts`). Directories of live
 * pids, of this process, and of other names are never touched; a dead
 * owner's pid reused by a live process keeps its directory until that
 * process ends too (safe, never wrong).
 *
 * ## Invariants (BS-*)
 * - **BS-38 (no stale socket dir).** After a manager's first sweep has
 *   settled, its runtime dir holds no `hypermesh-<pid>-*` directory of a
 *   pid that was dead when the sweep looked.
 *
 * Retired: OW-5, OW-6, OW-8 (now BS-38, BS-39 in `bootstrap.ts`, BS-40 in
 * `v0_proc_mesh.ts`: `OW-` is the mesh layer's).
 * @module
 */

import { processState } from "../launcher/_proc_state.ts";

const PATTERN = /^hypermesh-(\d+)-/;

/**
 * Creates this process's socket directory under `parent` (default the temp dir).
 * @param parent The runtime dir.
 * @returns The new directory's path (mode 0700).
 */
export function makeSocketDir(parent: string | undefined): string {
  const dir = Deno.makeTempDirSync({
    prefix: `hypermesh-${Deno.pid}-`,
    ...(parent === undefined ? {} : { dir: parent }),
  });
  Deno.chmodSync(dir, 0o700);
  return dir;
}

/**
 * The owner pid a socket directory's name carries.
 * @param name A directory name.
 * @returns The pid, or `undefined` for other names.
 */
export function ownerPidOf(name: string): number | undefined {
  const m = PATTERN.exec(name);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Removes the socket directories under `parent` whose owner is dead (BS-38).
 * Never throws: an unreadable runtime dir or a directory that cannot be
 * removed is skipped.
 * @param parent The runtime dir (default the temp dir).
 * @returns The removed paths.
 */
export async function sweepSocketDirs(parent: string | undefined): Promise<string[]> {
  const base = parent ?? Deno.env.get("TMPDIR") ?? "/tmp";
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(base)) {
      if (!entry.isDirectory) continue;
      const pid = ownerPidOf(entry.name);
      if (pid === undefined || pid === Deno.pid) continue;
      if ((await processState(pid)) === "alive") continue;
      const path = `${base}/${entry.name}`;
      try {
        await Deno.remove(path, { recursive: true });
        removed.push(path);
      } catch { /* raced with another sweeper, or not ours to remove */ }
    }
  } catch { /* no runtime dir, or not readable: nothing to sweep */ }
  return removed;
}
