/**
 * The client side of a mesh cast's host-side fan-out: a cast (and a `call`)
 * sends ONE {@linkcode CastForward} per host to that host's cast relay
 * (`host/cast_relay.ts`, which expands it into one copy per rank as it reads
 * the frame), so the client's cost grows with hosts, not ranks (the seed's
 * comm-actor tree, reference §12.4, one level deep).
 *
 * ## Invariants (FO-*)
 * - **FO-1 (when).** A host gets a forward when the mesh has at least
 *   {@linkcode FANOUT_MIN_RANKS_PER_HOST} live ranks to reach on it;
 *   otherwise its ranks are sent to directly (one message either way).
 *   `HYPERMESH_CAST_FANOUT=0` in the environment turns the fan-out off.
 *   The choice never affects order (CR-2): both paths go through the same
 *   host link and router.
 * - **FO-5 (current refs).** The destinations are the mesh's refs at cast
 *   time, so a restarted rank's new incarnation is the one addressed (RS-7).
 * - **FO-6 (call).** `ActorMesh#call` uses the same path: each rank's
 *   request keeps its own once reply port (a per-destination header of the
 *   one `CastForward`), so replies, bounces and MC-1/MC-2 are unchanged.
 * - **FO-7 (lost forward).** A forward that cannot reach its host (the host
 *   is unreachable) comes back once, as an undeliverable of type
 *   `CastForward` marked `hypermesh.mesh_cast` (for a cast); the ranks'
 *   failures arrive through supervision (the host is lost, HW-4), and calls
 *   end through the lost-host path or their deadline (MC-1).
 *
 * CR-1..CR-4 (what the host does with a forward) are in
 * `host/cast_relay.ts`.
 *
 * @module
 */

import { ProcId } from "../actor/reference.ts";
import type { HeaderValue } from "../actor/envelope.ts";
import type { Requester } from "../actor/request.ts";
import { SERVICE_PROC_NAME } from "../host/host.ts";
import { CAST_FORWARD_TYPE, type CastForward, castRelayPort } from "../host/cast_relay.ts";

export { CAST_FORWARD_TYPE, type CastForward } from "../host/cast_relay.ts";

/** A host with at least this many ranks of a mesh gets the fan-out (FO-1). */
export const FANOUT_MIN_RANKS_PER_HOST = 2;

/** How one cast is sent: forwards per host agent, plus direct ranks. */
export interface CastPlan {
  /** Host relay port id → ranks forwarded through it. */
  forwards: Map<string, number[]>;
  /** Ranks sent to directly. */
  direct: number[];
}

function fanoutEnabled(): boolean {
  const variable = "HYPERMESH_CAST_FANOUT";
  if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return true;
  return Deno.env.get(variable) !== "0";
}

/**
 * The cast relay port of the host a proc lives on (`host/cast_relay.ts`).
 * @param procId A proc on the host.
 * @returns The relay's port id.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ProcId } from "../actor/reference.ts";
 * import { relayPortOf } from "./cast_fanout.ts";
 * assert(relayPortOf(ProcId.parse("tcp:127.0.0.1:2001,p1")).startsWith("tcp:127.0.0.1:2001,service,cast_relay[0]"));
 * ```
 */
export function relayPortOf(procId: ProcId): string {
  return castRelayPort(new ProcId(procId.addr, SERVICE_PROC_NAME));
}

/**
 * Splits the ranks of a cast between host forwards and direct sends (FO-1).
 * @param procs Each rank's proc, in rank order (all ranks, failed too).
 * @param live Whether a rank is sent to at all (not latched failed).
 * @returns The plan.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcId } from "../actor/reference.ts";
 * import { planCast } from "./cast_fanout.ts";
 * const procs = ["tcp:127.0.0.1:1,a", "tcp:127.0.0.1:1,b", "tcp:127.0.0.1:2,c"]
 *   .map((t) => ProcId.parse(t));
 * const plan = planCast(procs, () => true);
 * assertEquals([...plan.forwards.values()], [[0, 1]]);
 * assertEquals(plan.direct, [2]);
 * ```
 */
export function planCast(procs: readonly ProcId[], live: (rank: number) => boolean): CastPlan {
  const byHost = new Map<string, number[]>();
  for (let rank = 0; rank < procs.length; rank++) {
    const key = relayPortOf(procs[rank]);
    let ranks = byHost.get(key);
    if (ranks === undefined) byHost.set(key, ranks = []);
    ranks.push(rank);
  }
  const enabled = fanoutEnabled();
  const forwards = new Map<string, number[]>();
  const direct: number[] = [];
  for (const [host, ranks] of byHost) {
    const alive = ranks.filter(live);
    if (alive.length === 0) continue;
    if (enabled && alive.length >= FANOUT_MIN_RANKS_PER_HOST) forwards.set(host, alive); // FO-1
    else direct.push(...alive);
  }
  direct.sort((a, b) => a - b);
  return { forwards, direct };
}

/** One rank's request as `ActorMesh#call` would post it (FO-6). */
interface HeldPost {
  dest: string;
  headers: Record<string, HeaderValue>;
}

/**
 * FO-6: `ActorMesh#call` over the fan-out. Returns a requester that opens
 * once ports on `cx` but holds each rank's post (its reply-port header),
 * and `release()`, which sends the held posts as one `CastForward` per
 * host (with per-destination headers) or directly, by the FO-1 rule.
 * Every held post must carry the same type and body.
 * @param cx The caller.
 * @param procs Each rank's proc, in rank order (all ranks).
 * @param rankOf The rank of a destination port id text.
 * @returns The holding requester and `release`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../actor/proc.ts";
 * import { ask } from "../actor/request.ts";
 * import type { Context } from "../actor/types.ts";
 * import { holdPosts } from "./cast_fanout.ts";
 * await using proc = Proc.local();
 * const a = proc.spawn("a", { handlers: { Hi: (_cx: Context, m: string) => `hi ${m}` } });
 * using cx = proc.instance("c");
 * const held = holdPosts(cx, [proc.procId], () => 0);
 * const reply = ask<string>(held.requester, a.ref.port("Hi").port, "Hi", "x", { timeoutMs: 5_000 });
 * held.release(); // one rank on its host: sent directly
 * assertEquals(await reply, "hi x");
 * ```
 */
export function holdPosts(
  cx: Requester,
  procs: readonly ProcId[],
  rankOf: (dest: string) => number,
): { requester: Requester; release(): void } {
  const held = new Map<number, HeldPost>();
  let type = "";
  let data: unknown = undefined;
  const requester: Requester = {
    postMessage(dest, t, body, _returnUndeliverable, options) {
      type = t;
      data = body;
      held.set(rankOf(dest), { dest, headers: { ...options?.headers } });
    },
    openOncePort: () => cx.openOncePort(),
  };
  return {
    requester,
    release() {
      const plan = planCast(procs, (rank) => held.has(rank));
      for (const [host, ranks] of plan.forwards) {
        const posts = ranks.map((rank) => held.get(rank)!);
        const forward: CastForward = {
          kind: "CastForward",
          type,
          data,
          headers: {},
          dests: posts.map((p) => p.dest),
          destHeaders: posts.map((p) => p.headers),
        };
        cx.postMessage(host, CAST_FORWARD_TYPE, forward, true); // FO-6
      }
      for (const rank of plan.direct) {
        const post = held.get(rank)!;
        cx.postMessage(post.dest, type, data, true, { headers: post.headers });
      }
      held.clear();
    },
  };
}
