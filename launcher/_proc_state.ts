/**
 * Process liveness probes (folder-private).
 *
 * Deno 2 gates every read under `/proc` and `/sys` behind `--allow-all`, so each
 * probe first tries the file system and, when that is not permitted, asks a
 * tiny external program (`ps`, `test`, `cat`) — which needs only `--allow-run`.
 * @module
 */

/** What a pid currently is: running (any non-zombie state), a zombie, or gone. */
export type ProcessState = "alive" | "zombie" | "gone";

const decoder = new TextDecoder();

function isNotCapable(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * Probe the state of `pid`. PID 1 reaps orphans lazily, so a zombie counts as
 * dead for every caller in this folder.
 * @param pid a positive process id.
 * @returns `"alive"`, `"zombie"` or `"gone"`.
 */
export async function processState(pid: number): Promise<ProcessState> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X" ? "zombie" : "alive";
  } catch (error) {
    // The process vanished while we read its stat file (ESRCH): it is gone too.
    if (error instanceof Deno.errors.NotFound || isNoSuchProcess(error)) return "gone";
    if (!isNotCapable(error)) throw error;
  }
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const state = decoder.decode(out.stdout).trim();
  if (!out.success || state === "") return "gone";
  return state.startsWith("Z") || state.startsWith("X") ? "zombie" : "alive";
}

/**
 * Whether `path` is an existing directory, tolerating Deno's `/sys` gate.
 * @param path absolute path.
 * @returns `false` when it is absent or cannot be probed at all.
 */
export function isDirectorySync(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (!isNotCapable(error)) throw error;
  }
  try {
    return new Deno.Command("test", {
      args: ["-d", path],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false; // no run permission or no `test` binary: treat as "no"
  }
}

/**
 * The NUL-separated argv of this process (Linux), or `undefined` when it
 * cannot be read.
 * @returns argv including argv[0].
 */
export function readOwnCmdline(): string[] | undefined {
  let bytes: Uint8Array | undefined;
  try {
    bytes = Deno.readFileSync("/proc/self/cmdline");
  } catch (error) {
    if (!isNotCapable(error) && !(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (bytes === undefined && Deno.build.os === "linux") {
    try {
      const out = new Deno.Command("cat", {
        args: [`/proc/${Deno.pid}/cmdline`],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      if (out.success) bytes = out.stdout;
    } catch {
      // no run permission: fall through
    }
  }
  if (bytes === undefined) return undefined;
  const argv = decoder.decode(bytes).split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv.length > 0 ? argv : undefined;
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && /os error 3\b|No such process/.test(error.message);
}
