/**
 * Cold-start phase timings of a bootstrap child, for finding where
 * spawn-to-Ready goes. With `HYPERMESH_TRACE_BOOT=1` in the child's
 * environment, {@linkcode bootMark} records `performance.now()` (ms since the
 * runtime started) per phase and {@linkcode bootTraceFlush} prints one line
 * to stderr: `hypermesh boot <pid>: phase=12.3 phase=15.0 … cpu=40.1` (`cpu`:
 * run time of all the process's threads so far, a load-independent cost). Without the
 * variable both are no-ops (one env read, cached).
 *
 * Phases (see the root `bootstrap.ts` and `bootstrapProc` in `bootstrap.ts` here): `graph`
 * (this module evaluated: the entry imports it first, so every module of the
 * static graph is loaded and compiled), `evaluated` (the entry's body runs),
 * `config`, `guard`, `proc`, `agent`, `served`, `callback` (acked; the parent
 * saw `Ready` one round trip earlier), then on stop-all `stopAll`,
 * `drained`, `closed`.
 *
 * No imports: this module must cost nothing on the child's path.
 * @module
 */

/** Env var that turns boot tracing on (`1`). */
export const TRACE_BOOT_ENV = "HYPERMESH_TRACE_BOOT";

let enabled: boolean | undefined;
const marks: string[] = [];

function isEnabled(): boolean {
  if (enabled === undefined) {
    try {
      // Never prompt for env access: without it, tracing is off.
      const state = Deno.permissions.querySync({ name: "env", variable: TRACE_BOOT_ENV }).state;
      enabled = state === "granted" && Deno.env.get(TRACE_BOOT_ENV) === "1";
    } catch {
      enabled = false;
    }
  }
  return enabled;
}

/**
 * ` cpu=<ms>`: run time of this process's live threads so far (Linux). A
 * thread that has exited is no longer listed, so its time drops out: compare
 * marks close together, not across a long idle (the runtime ends idle
 * blocking-pool threads after ~10 s). The exact figure, exited threads
 * included, is the process CPU clock, which needs FFI a proc does not load.
 */
function cpuTime(): string {
  try {
    let ns = 0;
    for (const task of Deno.readDirSync("/proc/self/task")) {
      const stat = Deno.readTextFileSync(`/proc/self/task/${task.name}/schedstat`);
      ns += Number(stat.split(" ")[0]);
    }
    return ` cpu=${(ns / 1e6).toFixed(1)}`;
  } catch {
    return "";
  }
}

/**
 * Records that `phase` ended now (no-op unless tracing is on).
 * @param phase A short phase name without spaces.
 * @example
 * ```ts
 * import { bootMark } from "./_boot_trace.ts";
 * bootMark("example");
 * ```
 */
export function bootMark(phase: string): void {
  if (isEnabled()) marks.push(`${phase}=${performance.now().toFixed(1)}`);
}

/**
 * Prints the recorded phases to stderr and forgets them (no-op unless
 * tracing is on or nothing was recorded).
 * @example
 * ```ts
 * import { bootTraceFlush } from "./_boot_trace.ts";
 * bootTraceFlush();
 * ```
 */
export function bootTraceFlush(): void {
  if (!isEnabled() || marks.length === 0) return;
  const origin = ` origin=${performance.timeOrigin.toFixed(1)}`;
  console.error(`hypermesh boot ${Deno.pid}: ${marks.join(" ")}${cpuTime()}${origin}`);
  marks.length = 0;
}

bootMark("graph");
