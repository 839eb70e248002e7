/**
 * CPU spent by a stop, counted rather than timed: on the 2-core VMs these
 * benches run on, a stop's wall-clock time drifts by ±15–30 % between runs;
 * the CPU its processes burn drifts less, and says on which side (the
 * stopped children, the host) a difference lies. Used by `spawn_bench.ts`
 * beside each stop row.
 *
 * - **Children:** `getrusage(RUSAGE_CHILDREN)` once the stopped children
 *   are reaped, minus each child's process CPU clock read just before the
 *   stop (`clock_getcpuclockid(pid)`): each child's CPU from the stop's
 *   first instant to its reaping, the kernel's teardown of its address space
 *   included. The process clock counts the threads that have already
 *   exited, as `getrusage` does. (Summing the live threads'
 *   `/proc/PID/task/*\/schedstat` instead, as earlier measurements did,
 *   charges the stop with the CPU of every thread that ended before it: a
 *   warm child that waited 20 s in its pool has lost two idle runtime
 *   threads, 0.8–1.6 ms of CPU, which then read as a dearer stop.)
 * - **This process:** its main thread's CPU over the stop
 *   (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: the JavaScript of a host's side
 *   of the stop), and all its threads' (`getrusage(RUSAGE_SELF)`: V8's
 *   collector and the runtime's I/O threads too).
 *
 * Needs `--allow-ffi`; Linux only.
 * @module
 */

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const CLOCK_THREAD_CPUTIME_ID = 3;

const LIBC_SYMBOLS = {
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  clock_getcpuclockid: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/** libc, opened on first use (so importing this module needs no `--allow-ffi`). */
function lib(): Deno.DynamicLibrary<typeof LIBC_SYMBOLS> {
  return libc ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
}

/**
 * User + system CPU (ms) of `who`, from `getrusage(2)`.
 * @param who `RUSAGE_SELF` or `RUSAGE_CHILDREN`.
 * @returns Milliseconds.
 */
function rusageMs(who: number): number {
  // struct rusage starts with ru_utime and ru_stime, two timevals of two 64-bit fields each.
  const buf = new BigInt64Array(18);
  if (lib().symbols.getrusage(who, new Uint8Array(buf.buffer)) !== 0) {
    throw new Error("getrusage failed");
  }
  return (Number(buf[0]) + Number(buf[2])) * 1e3 + (Number(buf[1]) + Number(buf[3])) / 1e3;
}

/**
 * CPU (ms) a clock has counted so far.
 * @param clock A clock id.
 * @returns Milliseconds.
 */
function clockMs(clock: number): number {
  const ts = new BigInt64Array(2); // struct timespec
  if (lib().symbols.clock_gettime(clock, new Uint8Array(ts.buffer)) !== 0) {
    throw new Error(`clock_gettime(${clock}) failed`);
  }
  return Number(ts[0]) * 1e3 + Number(ts[1]) / 1e6;
}

/**
 * CPU (ms) a process has used so far, all its threads, exited ones included.
 * @param pid A live process.
 * @returns Milliseconds.
 */
function processCpuMs(pid: number): number {
  const id = new Int32Array(1);
  const rc = lib().symbols.clock_getcpuclockid(pid, new Uint8Array(id.buffer));
  if (rc !== 0) throw new Error(`clock_getcpuclockid(${pid}) failed: ${rc}`);
  return clockMs(id[0]);
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
  const before = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const children0 = rusageMs(RUSAGE_CHILDREN);
  const self0 = rusageMs(RUSAGE_SELF);
  const main0 = clockMs(CLOCK_THREAD_CPUTIME_ID);
  await stop();
  const mainThread = clockMs(CLOCK_THREAD_CPUTIME_ID) - main0;
  const self = rusageMs(RUSAGE_SELF) - self0;
  const children = rusageMs(RUSAGE_CHILDREN) - children0;
  return { childPerProc: (children - before) / pids.length, mainThread, self };
}
