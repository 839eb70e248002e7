/**
 * `ActorMesh#call` round trip to N actors, next to its floor measured in the
 * same run: the hand-rolled `cast` + opened port + counted `recv` loop it
 * replaces, to the same actors.
 *
 * - `deno run <flags> bench/call_bench.ts [rounds]` prints medians.
 * - Under `deno bench` the same scenarios are registered as benches.
 *
 * Scenarios: `in-process` = 16 procs of one in-process host (no processes:
 * the cost of the request machinery itself — a once port per rank, the
 * request header, the reply envelope, the value mesh); `processes` = 2 host
 * processes × 4 procs (8 real proc processes: what a user sees). The demo
 * Greeter answers both forms (its `Greet` returns the greeting and also
 * sends it to a `reply` port when the message carries one). Rounds of the
 * two forms alternate, so machine load hits both alike; the first 20 are
 * warm-up.
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { type Greeter, GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { workerCommand } from "../cli/worker.ts";
import { stats } from "./_floor.ts";

const WARMUP = 20;

async function viaCall(cx: ClientInstance, actors: ActorMesh<Greeter>): Promise<number> {
  const t0 = performance.now();
  const replies = await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: 10_000 });
  const ms = performance.now() - t0;
  for (const [, r] of replies.entries()) if (r instanceof CallError) throw r;
  return ms;
}

async function viaCast(cx: ClientInstance, actors: ActorMesh<Greeter>): Promise<number> {
  const t0 = performance.now();
  const { ref, receiver } = cx.openPort<Greeting>();
  actors.cast(cx, "Greet", { text: "x", reply: ref });
  for (let i = 0; i < actors.region.numRanks; i++) await receiver.recv({ timeoutMs: 10_000 });
  receiver.close();
  return performance.now() - t0;
}

/** One scenario: medians of `rounds` call and cast round trips, alternating. */
async function scenario(
  kind: "in-process" | "processes",
  rounds: number,
): Promise<{ kind: string; actors: number; callMs: number; castMs: number }> {
  const cx = await context();
  const hosts = kind === "in-process"
    ? await HostMesh.localInProcess()
    : await HostMesh.process(Extent.of({ hosts: 2 }), workerCommand());
  try {
    const procs = await hosts.spawn(
      cx,
      "bench",
      Extent.of({ procs: kind === "in-process" ? 16 : 4 }),
    );
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const call: number[] = [];
    const cast: number[] = [];
    for (let i = 0; i < rounds + WARMUP; i++) {
      const c = await viaCall(cx, actors);
      const k = await viaCast(cx, actors);
      if (i >= WARMUP) {
        call.push(c);
        cast.push(k);
      }
    }
    return {
      kind,
      actors: actors.region.numRanks,
      callMs: stats(call).median,
      castMs: stats(cast).median,
    };
  } finally {
    await hosts.shutdown(cx);
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 200);
  const rows = [];
  try {
    rows.push(await scenario("in-process", rounds));
    rows.push(await scenario("processes", rounds));
  } finally {
    await shutdownContext();
  }
  console.log("scenario    actors  call(ms)  cast+port+recv(ms)  ratio");
  for (const r of rows) {
    console.log(
      `${r.kind.padEnd(11)} ${String(r.actors).padStart(6)} ${r.callMs.toFixed(3).padStart(9)} ${
        r.castMs.toFixed(3).padStart(19)
      } ${(r.callMs / r.castMs).toFixed(2).padStart(6)}`,
    );
  }
} else {
  for (const kind of ["in-process", "processes"] as const) {
    Deno.bench({
      name: `ActorMesh#call round trip, ${kind} (vs cast + port + recv loop in the same run)`,
      n: 1,
      warmup: 0,
      async fn() {
        await scenario(kind, 50);
        await shutdownContext();
      },
    });
  }
}
