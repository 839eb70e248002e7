/**
 * `bootstrap.ts status <meshref>`: asks every host agent of a host mesh
 * reference (`ID:HOST,…@REGION`) for its procs and prints each proc's state.
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import type { Context } from "../actor/types.ts";
import { request } from "../actor/request.ts";
import { useUserSecret } from "../channel/secret.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import type { HostInfo } from "../mesh/host_agent/protocol.ts";
import { formatStatus } from "../mesh/resource/status.ts";

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
 * ```
 */
export function formatHostStatus(rank: number, addr: string, info: HostInfo | Error): string[] {
  if (info instanceof Error) return [`host ${rank} ${addr}: unreachable (${info.message})`];
  return [
    `host ${rank} ${addr}: ${info.mode} ${info.state}, ${info.procs.length} proc(s)`,
    ...info.procs.map((p) => `  rank ${p.createRank} ${p.procId}: ${formatStatus(p.status)}`),
  ];
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
