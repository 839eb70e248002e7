/**
 * CPU spent by a stop, counted rather than timed: on the 2-core VMs these
 * benches run on, a stop's wall-clock time drifts by ±15–30 % between runs;
 * the CPU its processes burn drifts less, and says on which side (the
 * stopped children, the host) a difference lies. Used by `spawn_bench.ts
 * --cpu` beside each stop row.
 *
 * - **Children:** `getrusage(RUSAGE_CHILDREN)` (through FFI) once the stopped
 *   children are reaped, minus what all their threads had used before the
 *   stop (`/proc/PID/task/*\/schedstat`, read through one `cat`: Deno asks
 *   for `--allow-all` to read another process's `/proc` files itself). That
 *   is each child's CPU from the stop's first instant to its reaping, the
 *   kernel's teardown of its address space included.
 * - **This process:** its main thread's CPU over the stop
 *   (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: the JavaScript of a host's side
 *   of the stop), and all its threads' (`getrusage(RUSAGE_SELF)`: V8's
 *   collector and the runtime's I/O threads too).
 *
 * Counting perturbs what it counts a little: one `sh` and one `cat` run just
 * before each stop. `spawn_bench.ts` counts only when asked (`--cpu`).
 *
 * Needs `--allow-ffi` and `--allow-run`; Linux only.
 * @module
 */

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const CLOCK_THREAD_CPUTIME_ID = 3;

const LIBC_SYMBOLS = {
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/**
 * User + system CPU (ms) of `who`, from `getrusage(2)`.
 * @param who `RUSAGE_SELF` or `RUSAGE_CHILDREN`.
 * @returns Milliseconds.
 */
function rusageMs(who: number): number {
  libc ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  // struct rusage starts with ru_utime and ru_stime, two timevals of two 64-bit fields each.
  const buf = new BigInt64Array(18);
  if (libc.symbols.getrusage(who, new Uint8Array(buf.buffer)) !== 0) {
    throw new Error("getrusage failed");
  }
  return (Number(buf[0]) + Number(buf[2])) * 1e3 + (Number(buf[1]) + Number(buf[3])) / 1e3;
}

/**
 * CPU (ms) the calling thread has used so far.
 * @returns Milliseconds.
 */
function threadMs(): number {
  libc ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  const ts = new BigInt64Array(2); // struct timespec
  if (libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, new Uint8Array(ts.buffer)) !== 0) {
    throw new Error("clock_gettime failed");
  }
  return Number(ts[0]) * 1e3 + Number(ts[1]) / 1e6;
}

/**
 * CPU (ms) all threads of these processes have used so far.
 * @param pids Live processes (children of this one).
 * @returns Milliseconds, summed.
 */
async function threadsCpuMs(pids: readonly number[]): Promise<number> {
  const paths = pids.map((pid) => `/proc/${pid}/task/*/schedstat`).join(" ");
  const out = await new Deno.Command("sh", {
    args: ["-c", `cat ${paths}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  let ns = 0;
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line !== "") ns += Number(line.split(" ")[0]);
  }
  return ns / 1e6;
}

/** What one stop cost in CPU. */
export interface StopCpu {
  /** Each stopped child's CPU from the stop to its reaping (ms, mean over the children). */
  childPerProc: number;
  /** This process's main thread's CPU over the stop (ms). */
  mainThread: number;
  /** This process's CPU over the stop, all threads (ms). */
  self: number;
}

/**
 * Runs `stop` and counts the CPU it cost: the stopped children's (from the
 * stop to their reaping) and this process's own.
 * @param pids The children `stop` stops and reaps (direct children of this
 * process, alive when called).
 * @param stop Stops them and resolves once every one is reaped.
 * @returns The stop's CPU.
 * @example
 * ```ts ignore
 * const child = new Deno.Command("sleep", { args: ["9"] }).spawn();
 * const cpu = await stopCpu([child.pid], async () => {
 *   child.kill("SIGTERM");
 *   await child.status;
 * });
 * console.log(cpu.childPerProc, cpu.mainThread, cpu.self);
 * ```
 */
export async function stopCpu(
  pids: readonly number[],
  stop: () => Promise<void>,
): Promise<StopCpu> {
  const before = await threadsCpuMs(pids);
  const children0 = rusageMs(RUSAGE_CHILDREN);
  const self0 = rusageMs(RUSAGE_SELF);
  const main0 = threadMs();
  await stop();
  const mainThread = threadMs() - main0;
  const self = rusageMs(RUSAGE_SELF) - self0;
  const children = rusageMs(RUSAGE_CHILDREN) - children0;
  return { childPerProc: (children - before) / pids.length, mainThread, self };
}
