/**
 * Per-proc OS figures, read at the host on request (AW-1): pid, uptime,
 * resident memory, CPU time and CPU % of a proc's process, from
 * `/proc/PID/stat` and `/proc/PID/statm` (Linux). Nothing is polled: a
 * {@linkcode ProcMetricsSampler} reads two small files per proc when asked,
 * and the CPU % is the share of one core used since the previous sample of
 * the same pid (the lifetime average on the first sample).
 *
 * Units follow Linux defaults: clock ticks are `USER_HZ` = 100 and pages are
 * 4 KiB (what `getconf CLK_TCK` and `PAGESIZE` print on x86-64 and the usual
 * arm64 kernels). Deno refuses `/proc` reads without `--allow-all`; a
 * process with explicit permissions reads the files through one `grep -H`
 * child per sample (so it needs `--allow-run`, which a host has anyway).
 *
 * ## Invariants (AW-*)
 * - **AW-1 (proc metrics on request).** A host's `Introspect` reports, for
 *   every live process-backed proc, its pid, uptime, RSS, CPU time and CPU %
 *   read from `/proc` at the time of the request; a proc whose process is
 *   gone or unreadable simply has no figures (never an error).
 *
 * @module
 */

/** The OS figures of one proc's process (AW-1). */
export interface ProcMetrics {
  /** OS process id. */
  pid: number;
  /** Time since the process started, ms. */
  uptimeMs: number;
  /** Resident set size, bytes. */
  rssBytes: number;
  /** User + system CPU time, ms. */
  cpuTimeMs: number;
  /** Share of one core since the previous sample (lifetime average on the first), percent. */
  cpuPercent: number;
}

const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** The fields of `/proc/PID/stat` used here (after the `(comm)` field). */
interface StatFields {
  cpuTicks: number;
  startTicks: number;
}

/**
 * Parses `/proc/PID/stat` text: utime + stime and the start time, in ticks.
 * The command name may hold spaces and parentheses, so fields are counted
 * from the last `)`.
 * @param text The file's content.
 * @returns The fields, or `undefined` for malformed text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseProcStat } from "./proc_metrics.ts";
 * const line = "42 (a (b) c) S 1 42 42 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 1000 0 0";
 * assertEquals(parseProcStat(line), { cpuTicks: 300, startTicks: 1000 });
 * ```
 */
export function parseProcStat(text: string): StatFields | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // After ")": state(3) ppid(4) … utime(14) stime(15) … starttime(22).
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  const start = Number(fields[22 - 3]);
  if (![utime, stime, start].every(Number.isFinite)) return undefined;
  return { cpuTicks: utime + stime, startTicks: start };
}

/**
 * Reads small `/proc` files, one line each, by path. Deno refuses `/proc`
 * reads without `--allow-all`, so a process with explicit permissions (a
 * host daemon) reads them through one `grep -H ""` child (needs
 * `--allow-run`); a missing file (a process gone) is simply absent.
 */
async function readProcFiles(paths: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let capable = true;
  for (const path of paths) {
    try {
      out.set(path, await Deno.readTextFile(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        capable = false;
        break;
      } // else: the process is gone
    }
  }
  if (capable) return out;
  out.clear();
  try {
    const { stdout } = await new Deno.Command("grep", {
      args: ["-H", "", ...paths],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    for (const line of new TextDecoder().decode(stdout).split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1));
    }
  } catch {
    // no grep or no --allow-run: no figures
  }
  return out;
}

/**
 * Reads processes' figures and remembers each pid's last CPU sample, so the
 * CPU % of the next read covers the time between the two (AW-1).
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ProcMetricsSampler } from "./proc_metrics.ts";
 * const sampler = new ProcMetricsSampler();
 * const m = await sampler.read(Deno.pid);
 * if (Deno.build.os === "linux") assert(m !== undefined && m.rssBytes > 0 && m.uptimeMs >= 0);
 * ```
 */
export class ProcMetricsSampler {
  readonly #last = new Map<number, { cpuMs: number; at: number }>();

  /**
   * Reads one process's figures now.
   * @param pid The process.
   * @returns Its figures, or `undefined` when it is gone or `/proc` is unreadable.
   */
  async read(pid: number): Promise<ProcMetrics | undefined> {
    return (await this.readMany([pid])).get(pid);
  }

  /**
   * Reads several processes' figures now, in one pass over `/proc`.
   * @param pids The processes.
   * @returns Figures by pid; a process gone or unreadable is absent.
   */
  async readMany(pids: readonly number[]): Promise<Map<number, ProcMetrics>> {
    const result = new Map<number, ProcMetrics>();
    if (pids.length === 0) return result;
    const files = await readProcFiles([
      "/proc/uptime",
      ...pids.flatMap((pid) => [`/proc/${pid}/stat`, `/proc/${pid}/statm`]),
    ]);
    const bootUptimeMs = Number(files.get("/proc/uptime")?.trim().split(/\s+/)[0]) * 1000;
    const now = performance.now();
    for (const pid of pids) {
      const stat = files.get(`/proc/${pid}/stat`);
      const statm = files.get(`/proc/${pid}/statm`);
      const fields = stat === undefined ? undefined : parseProcStat(stat);
      const rssPages = Number(statm?.trim().split(/\s+/)[1]);
      if (fields === undefined || !Number.isFinite(rssPages) || !Number.isFinite(bootUptimeMs)) {
        this.#last.delete(pid);
        continue;
      }
      const cpuTimeMs = (fields.cpuTicks * 1000) / TICKS_PER_SECOND;
      const uptimeMs = Math.max(0, bootUptimeMs - (fields.startTicks * 1000) / TICKS_PER_SECOND);
      const prev = this.#last.get(pid);
      this.#last.set(pid, { cpuMs: cpuTimeMs, at: now });
      const [usedMs, overMs] = prev === undefined || now - prev.at < 1
        ? [cpuTimeMs, uptimeMs]
        : [cpuTimeMs - prev.cpuMs, now - prev.at];
      const cpuPercent = overMs > 0 ? Math.max(0, (100 * usedMs) / overMs) : 0;
      result.set(pid, {
        pid,
        uptimeMs: Math.round(uptimeMs),
        rssBytes: rssPages * PAGE_BYTES,
        cpuTimeMs,
        cpuPercent: Math.round(cpuPercent * 10) / 10,
      });
    }
    return result;
  }

  /**
   * Forgets the samples of pids not in `live` (bounded memory).
   * @param live The pids still reported.
   */
  retain(live: ReadonlySet<number>): void {
    for (const pid of this.#last.keys()) if (!live.has(pid)) this.#last.delete(pid);
  }
}
