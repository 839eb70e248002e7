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
 *
 * ## Invariants (LN-*)
 * - **LN-24 (parent-death signal armed at exec).** Asked for a parent-death
 *   signal from the main thread, with util-linux `setpriv` (2.33+,
 *   `--pdeathsig`) installed, the child runs as
 *   `[setsid --] setpriv --pdeathsig KILL -- program args…`: the kernel
 *   SIGKILLs it when this process's main thread exits, whatever the program
 *   does (its JavaScript may be blocked), and its environment says so
 *   (`HYPERMESH_PDEATHSIG_ARMED=SIGKILL`). Not asked, in a Worker, or without
 *   `setpriv`, the variable is set empty, never inherited from this process.
 *   The pid spawned is the program's (each wrapper execs).
 * @module
 */

import { PDEATHSIG_ARMED_ENV } from "./types.ts";

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

/** Where util-linux installs `setpriv`. */
const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

let setprivPath: string | null | undefined;

/**
 * The `setpriv` program, if installed, findable and new enough to know
 * `--pdeathsig` (util-linux 2.33+; its `--help` is read once per process).
 * @returns Its path, or `null`.
 */
export function setprivProgram(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  const path = SETPRIV_PATHS.find(isFile);
  if (path === undefined || Deno.build.os !== "linux") return null;
  try {
    const out = new Deno.Command(path, { args: ["--help"], stdin: "null", stderr: "null" })
      .outputSync();
    if (new TextDecoder().decode(out.stdout).includes("--pdeathsig")) setprivPath = path;
  } catch {
    // not runnable: no setpriv
  }
  return setprivPath;
}

/**
 * Whether this code runs on the process's main thread (not in a Web
 * Worker): only a child forked by the main thread may take a SIGKILL
 * parent-death signal, because the kernel sends it when the forking
 * *thread* exits (see `bootstrap/pdeathsig.ts`).
 */
function onMainThread(): boolean {
  return (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === undefined;
}

/** How {@linkcode groupLeaderCommand} starts the child. */
export interface GroupLeaderOptions {
  /**
   * Arm the child's parent-death signal before its program runs (through
   * `setpriv --pdeathsig`; only from the main thread, LN-24).
   */
  parentDeathSignal?: "SIGKILL";
}

/**
 * `Deno.Command` options that start `program args…` as the leader of a new
 * session and process group: through the `setsid` program when available,
 * else with `detached: true`; asked for a parent-death signal, also through
 * `setpriv --pdeathsig KILL` when it can (LN-24).
 * @param program The program.
 * @param args Its arguments.
 * @param options Every other `Deno.Command` option (env, stdio).
 * @param leader Whether to arm a parent-death signal.
 * @returns The program to run, its options, and whether the parent-death
 * signal is armed before the program starts.
 */
export function groupLeaderCommand(
  program: string,
  args: readonly string[],
  options: Omit<Deno.CommandOptions, "args" | "detached">,
  leader: GroupLeaderOptions = {},
): { program: string; options: Deno.CommandOptions; pdeathsigArmed: boolean } {
  const setsid = setsidProgram();
  const setpriv = leader.parentDeathSignal === "SIGKILL" && onMainThread()
    ? setprivProgram()
    : null;
  const resolved = setsid === null && setpriv === null ? undefined : resolveProgram(program);
  // What the child is told (BS-51); always set, so a claim this process
  // inherited never passes on to a child that was not armed.
  const tell = (armed: boolean): Deno.CommandOptions["env"] => ({
    ...options.env,
    [PDEATHSIG_ARMED_ENV]: armed ? "SIGKILL" : "",
  });
  if (resolved === undefined) {
    return {
      program,
      options: { ...options, env: tell(false), args: [...args], detached: true },
      pdeathsigArmed: false,
    };
  }
  // setpriv sets PR_SET_PDEATHSIG and execs: the setting survives exec (not
  // of set-id binaries); the program's pid is the one spawned.
  const armed = setpriv === null ? [resolved] : [setpriv, "--pdeathsig", "KILL", "--", resolved];
  const env = tell(setpriv !== null);
  if (setsid === null) {
    return {
      program: armed[0],
      options: { ...options, env, args: [...armed.slice(1), ...args], detached: true },
      pdeathsigArmed: setpriv !== null,
    };
  }
  return {
    program: setsid,
    options: { ...options, env, args: ["--", ...armed, ...args] },
    pdeathsigArmed: setpriv !== null,
  };
}
