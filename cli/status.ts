/**
 * `bootstrap.ts status <meshref>`: asks every host agent of a host mesh
 * reference (`ID:HOST,…@REGION`) for its procs and prints each proc's state.
 * A proc started by a restart shows its restart count and the failure it
 * replaced; a former incarnation of a restarted rank is marked superseded
 * (RS-6).
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import type { Context } from "../actor/types.ts";
import { request } from "../actor/request.ts";
import { useUserSecret } from "../channel/secret.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import type { HostInfo } from "../mesh/host_agent/protocol.ts";
import type { ProcMetrics } from "../mesh/host_agent/proc_metrics.ts";
import { formatStatus } from "../mesh/resource/status.ts";
import { supersededBy } from "../mesh/restart/superseded.ts";

/**
 * Formats the status report of one host.
 * @param rank Host rank.
 * @param addr Host address.
 * @param info The host's answer, or the error.
 * @returns Lines.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatHostStatus } from "./status.ts";
 * assertEquals(formatHostStatus(0, "tcp:127.0.0.1:1", new Error("timeout")), [
 *   "host 0 tcp:127.0.0.1:1: unreachable (timeout)",
 * ]);
 * const running = { kind: "Running" } as const;
 * assertEquals(formatHostStatus(0, "h", {
 *   addr: "h", mode: "Process", state: "Attached", procs: [
 *     { name: "w-1-a", procId: "h,w-1-a", createRank: 1, agent: null, status: { kind: "Stopped" } },
 *     { name: "w-1-b", procId: "h,w-1-b", createRank: 1, agent: null, status: running, restarts: 1, lastFailure: "Killed(sig=9)" },
 *   ],
 * }).slice(1), [
 *   "  rank 1 h,w-1-a: Stopped (superseded by h,w-1-b)",
 *   "  rank 1 h,w-1-b: Running (restarted 1×, last failure: Killed(sig=9))",
 * ]);
 * ```
 */
export function formatHostStatus(rank: number, addr: string, info: HostInfo | Error): string[] {
  if (info instanceof Error) return [`host ${rank} ${addr}: unreachable (${info.message})`];
  const superseded = supersededBy(info.procs);
  return [
    `host ${rank} ${addr}: ${info.mode} ${info.state}, ${info.procs.length} proc(s)`,
    ...info.procs.map((p) => {
      let line = `  rank ${p.createRank} ${p.procId}: ${formatStatus(p.status)}`;
      const next = superseded.get(p.procId);
      if (next !== undefined) line += ` (superseded by ${next})`; // RS-6
      if (p.restarts !== undefined) {
        line += ` (restarted ${p.restarts}×, last failure: ${p.lastFailure ?? "unknown"})`;
      }
      if (p.metrics !== undefined) line += ` [${formatMetrics(p.metrics)}]`; // AW-1
      return line;
    }),
  ];
}

/**
 * Formats a proc's OS figures in one short phrase (AW-1).
 * @param m The figures.
 * @returns e.g. `pid 42 up 1m05s rss 48.0MiB cpu 1.25s 3.5%`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatMetrics } from "./status.ts";
 * assertEquals(
 *   formatMetrics({ pid: 42, uptimeMs: 65_000, rssBytes: 48 * 1024 * 1024, cpuTimeMs: 1250, cpuPercent: 3.5 }),
 *   "pid 42 up 1m05s rss 48.0MiB cpu 1.25s 3.5%",
 * );
 * ```
 */
export function formatMetrics(m: ProcMetrics): string {
  const s = Math.floor(m.uptimeMs / 1000);
  const up = s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`
    : s >= 60
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
  const rss = `${(m.rssBytes / (1024 * 1024)).toFixed(1)}MiB`;
  return `pid ${m.pid} up ${up} rss ${rss} cpu ${(m.cpuTimeMs / 1000).toFixed(2)}s ${
    m.cpuPercent.toFixed(1)
  }%`;
}

async function query(cx: Context, ref: HostMeshRef, timeoutMs: number): Promise<string[]> {
  const lines = await Promise.all(ref.hosts.map(async (host, rank) => {
    try {
      const info = await request<HostInfo>(cx, `"Introspect" to ${host}`, (reply) => {
        host.agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply });
      }, { timeoutMs });
      return formatHostStatus(rank, host.toString(), info);
    } catch (error) {
      return formatHostStatus(rank, host.toString(), error as Error);
    }
  }));
  return lines.flat();
}

/**
 * Runs `status`.
 * @param args `[meshref]`.
 * @returns 0, or 2 for bad arguments.
 */
export async function run(args: string[]): Promise<number> {
  if (args.length !== 1) {
    console.error("Usage: status <meshref>");
    return 2;
  }
  let ref: HostMeshRef;
  try {
    ref = HostMeshRef.parse(args[0]);
  } catch (error) {
    console.error(String(error));
    return 2;
  }
  try {
    useUserSecret(); // AU-6: the daemon's secret (HYPERMESH_SECRET_FILE or the user's default)
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const cx = await context();
  try {
    for (const line of await query(cx, ref, 5_000)) console.log(line);
  } finally {
    await shutdownContext();
  }
  return 0;
}
