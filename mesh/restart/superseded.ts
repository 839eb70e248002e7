/**
 * Which procs a host lists are former incarnations of a restarted rank
 * (RS-6): the status views mark them, so a rank reads as one line of
 * history, not as several procs.
 *
 * A restart starts the rank's new proc on the same host, with the same rank
 * and a name that differs from the former one only in its unique suffix
 * (`LABEL-P-UID`), and the host reports `restarts` for it. A proc is
 * superseded when a later proc of the same host has the same rank, the same
 * name up to the suffix, and reports `restarts`.
 *
 * @module
 */

import type { HostProcInfo } from "../host_agent/protocol.ts";

function lineage(p: Pick<HostProcInfo, "name" | "createRank">): string {
  const dash = p.name.lastIndexOf("-");
  return `${p.createRank}|${dash > 0 ? p.name.slice(0, dash) : p.name}`;
}

/**
 * Maps each superseded proc (by proc id text) to the proc that replaced it
 * last.
 * @param procs A host's procs, in creation order (`HostInfo.procs`).
 * @returns Former incarnation → current incarnation.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { supersededBy } from "./superseded.ts";
 * const p = (name: string, restarts?: number) => ({ name, procId: `h,${name}`, createRank: 1, restarts });
 * assertEquals(supersededBy([p("w-1-aaa"), p("w-1-bbb", 1), p("x-1-ccc")]), new Map([["h,w-1-aaa", "h,w-1-bbb"]]));
 * ```
 */
export function supersededBy(
  procs: readonly Pick<HostProcInfo, "name" | "procId" | "createRank" | "restarts">[],
): Map<string, string> {
  const latest = new Map<string, string>();
  for (const p of procs) latest.set(lineage(p), p.procId);
  const restarted = new Set(procs.filter((p) => p.restarts !== undefined).map((p) => p.procId));
  const out = new Map<string, string>();
  for (const p of procs) {
    const current = latest.get(lineage(p))!;
    if (current !== p.procId && restarted.has(current)) out.set(p.procId, current);
  }
  return out;
}
