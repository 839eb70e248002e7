/**
 * Folder-private: starts a child that leads its own session and process
 * group (LN-3), as cheaply for the parent as the platform allows.
 *
 * `Deno.Command` offers `detached: true`, which runs `setsid()` in the child
 * between `fork` and `exec`. A pre-exec step rules out `posix_spawn`, so the
 * parent pays a full `fork` of its own address space, and it blocks until the
 * child has exec'd: ~7–8 ms of the parent's event loop per child for a Deno
 * child on this project's CI machine (8 at once: ~60 ms before the last one
 * even starts; `bench/spawn_bench.ts`). When util-linux's `setsid` program is
 * installed the launcher spawns `setsid -- program args…` instead, without
 * `detached`: the parent's spawn is a `posix_spawn` of a 15 KB binary, and
 * the `setsid()` + `exec` of the real program happen in the child. A child
 * started by `posix_spawn` never leads a process group, so `setsid` does not
 * fork: the pid the parent holds is the program's pid, the group id is that
 * pid, and the exit status is the program's.
 *
 * The one observable difference: for the microseconds between the spawn and
 * the child's `setsid()` the group `-pid` does not exist yet; every signal
 * helper here falls back from `-pid` to `pid` on ESRCH, which reaches the
 * child then (it has no descendants yet). Without the `setsid` program (or
 * without read access to find it), `detached: true` is used, and so it is
 * when the program itself cannot be found on disk (`PATH` searched as `exec`
 * would): `Deno.Command` then fails the spawn as it always does, instead of
 * `setsid` failing in the child. A program found through `PATH` is passed to
 * `setsid` by its full path (its `argv[0]` is that path).
 * @module
 */

/** Where util-linux installs `setsid`. */
const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"];

let setsidPath: string | null | undefined;

function isReadable(path: string): boolean {
  try {
    // Never prompt: without read access the answer is "no".
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return isReadable(path) && Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Where `exec` would find `program`: itself when it is a path, else the first
 * `PATH` entry holding it (resolved here, so `setsid` runs exactly the file
 * we checked, whatever `PATH` the child's environment carries).
 */
function resolveProgram(program: string): string | undefined {
  if (program.includes("/")) return isFile(program) ? program : undefined;
  let path: string | undefined;
  try {
    if (Deno.permissions.querySync({ name: "env", variable: "PATH" }).state !== "granted") {
      return undefined;
    }
    path = Deno.env.get("PATH");
  } catch {
    return undefined;
  }
  for (const dir of (path ?? "").split(":")) {
    if (dir !== "" && isFile(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return undefined;
}

/**
 * The `setsid` program, if installed and findable (probed once).
 * @returns Its path, or `null`.
 */
export function setsidProgram(): string | null {
  if (setsidPath !== undefined) return setsidPath;
  setsidPath = SETSID_PATHS.find(isFile) ?? null;
  return setsidPath;
}

/**
 * `Deno.Command` options that start `program args…` as the leader of a new
 * session and process group: through the `setsid` program when available,
 * else with `detached: true`.
 * @param program The program.
 * @param args Its arguments.
 * @param options Every other `Deno.Command` option (env, stdio).
 * @returns The program to run and its options.
 */
export function groupLeaderCommand(
  program: string,
  args: readonly string[],
  options: Omit<Deno.CommandOptions, "args" | "detached">,
): { program: string; options: Deno.CommandOptions } {
  const setsid = setsidProgram();
  const resolved = setsid === null ? undefined : resolveProgram(program);
  if (setsid === null || resolved === undefined) {
    return { program, options: { ...options, args: [...args], detached: true } };
  }
  return { program: setsid, options: { ...options, args: ["--", resolved, ...args] } };
}
