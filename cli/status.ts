/**
 * `bootstrap.ts status <meshref | addr…>`: asks every host agent of a host
 * mesh reference (`ID:HOST,…@REGION`, as `demo` and `host` print it) or of
 * the given host addresses for its procs and prints each proc's state;
 * `--json` for scripts. Exits 1 when a host does not answer, naming it on
 * stderr.
 * A proc started by a restart shows its restart count and the failure it
 * replaced; a former incarnation of a restarted rank is marked superseded
 * (RS-6).
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { delay } from "@std/async/delay";
import { type CommandSpec, type FlagSpec, msFlag, runCommand, UsageError } from "./_args.ts";
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

/** One host's answer (or why there is none). */
interface HostAnswer {
  rank: number;
  addr: string;
  info: HostInfo | Error;
}

async function query(cx: Context, ref: HostMeshRef, timeoutMs: number): Promise<HostAnswer[]> {
  return await Promise.all(ref.hosts.map(async (host, rank) => {
    try {
      const info = await request<HostInfo>(cx, `"Introspect" to ${host}`, (reply) => {
        host.agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply });
      }, { timeoutMs });
      return { rank, addr: host.toString(), info };
    } catch (error) {
      return { rank, addr: host.toString(), info: error as Error };
    }
  }));
}

/** `--timeout MS` of the commands that ask a mesh's hosts (`status`, `top`, `admin`). */
export const HOST_TIMEOUT_FLAG: FlagSpec = {
  kind: "string",
  value: "MS",
  help: "How long to wait for each host, in ms (default 5000).",
};

/** The `<meshref | addr…>` positional of the commands that ask a mesh's hosts. */
export const MESHREF_POSITIONALS: NonNullable<CommandSpec["positionals"]> = [{
  name: "meshref",
  help: "A mesh ref as printed by `demo` or `host` (ID:ADDR,…@REGION), or host addresses.",
  rest: true,
}];

/**
 * Installs the daemons' secret (AU-6: `HYPERMESH_SECRET_FILE` or the user's
 * default) for a command that asks a mesh's hosts.
 * @throws {UsageError} Without the usage text, for an unusable secret file (exit 2).
 */
export function useDaemonSecret(): void {
  try {
    useUserSecret();
  } catch (error) {
    throw new UsageError((error as Error).message, { showUsage: false, cause: error });
  }
}

/** What `status` accepts. */
export const STATUS_SPEC: CommandSpec = {
  name: "status",
  summary: "Asks every host of a mesh for its procs and prints each proc's state. " +
    "Exits 1 when a host does not answer (and names it).",
  flags: {
    json: { kind: "boolean", help: "One JSON object on stdout: every host with its procs." },
    timeout: HOST_TIMEOUT_FLAG,
  },
  positionals: MESHREF_POSITIONALS,
  more: "Examples:\n  bootstrap.ts status 'host:tcp:10.0.0.5:26600@hosts=1/1'\n" +
    "  bootstrap.ts status tcp:10.0.0.5:26600 tcp:10.0.0.6:26600",
};

/**
 * The hosts `status` asks: one mesh ref, or host addresses.
 * @param args The positional arguments.
 * @returns The mesh ref.
 * @throws {UsageError} For text that is neither.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { statusTargets } from "./status.ts";
 * assertEquals(statusTargets(["tcp:127.0.0.1:1", "tcp:127.0.0.1:2"]).hosts.length, 2);
 * assertEquals(statusTargets(["m:tcp:127.0.0.1:1@hosts=1/1"]).hosts.length, 1);
 * ```
 */
export function statusTargets(args: string[]): HostMeshRef {
  if (args.length === 1 && args[0].includes("@")) {
    try {
      return HostMeshRef.parse(args[0]);
    } catch (error) {
      throw new UsageError(`<meshref>: ${(error as Error).message}`);
    }
  }
  const addrs = args.map((text) => {
    try {
      return ChannelAddr.parse(text);
    } catch {
      throw new UsageError(
        `"${text}" is neither a mesh ref (ID:ADDR,…@REGION) nor a host address (tcp:HOST:PORT)`,
      );
    }
  });
  return HostMeshRef.fromHosts("status", addrs);
}

/**
 * Runs `status`.
 * @param args `[--json] [--timeout MS] <meshref | addr…>`.
 * @returns 0 when every host answered, 1 when one did not, 2 for bad
 * arguments.
 */
export function run(args: string[]): Promise<number> {
  return runCommand(STATUS_SPEC, args, async (parsed) => {
    const ref = statusTargets(parsed.positionals);
    const timeoutMs = msFlag(parsed, "timeout", 5_000);
    useDaemonSecret();
    const cx = await context();
    let answers: HostAnswer[];
    try {
      answers = await query(cx, ref, timeoutMs);
    } finally {
      // A request to a host that never answered is still being retried
      // until its delivery deadline; nothing of it matters to this process,
      // which exits right after: wait for the shutdown at most a second.
      await Promise.race([shutdownContext(), delay(1_000)]);
    }
    if (parsed.flags.json === true) {
      console.log(JSON.stringify({
        meshRef: ref.toString(),
        hosts: answers.map(({ rank, addr, info }) =>
          info instanceof Error
            ? { rank, addr, reachable: false, error: info.message }
            : { ...info, rank, addr, reachable: true }
        ),
      }));
    } else {
      for (const { rank, addr, info } of answers) {
        for (const line of formatHostStatus(rank, addr, info)) console.log(line);
      }
    }
    const down = answers.filter((a) => a.info instanceof Error);
    for (const { rank, addr } of down) console.error(`status: host ${rank} ${addr} did not answer`);
    return down.length === 0 ? 0 : 1;
  });
}
