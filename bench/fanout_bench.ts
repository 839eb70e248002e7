/**
 * Host-side cast fan-out (FO-1..FO-6): cast + collect replies, and
 * `ActorMesh#call`, to 16 and to 64 actors on the same 4 host processes
 * (4 and 16 proc processes per host), with the fan-out and with the
 * per-rank baseline (`HYPERMESH_CAST_FANOUT=0`), all in the same run.
 *
 * - `deno run <flags> bench/fanout_bench.ts [rounds]` prints medians and
 *   the 64/16 ratios (target: fan-out cast 64/16 ≤ 2x).
 * - Under `deno bench` the same scenario is registered as one bench.
 *
 * Rounds of every variant alternate, so machine load hits all alike; the
 * first 10 are warm-up.
 *
 * The `bare floor` row is the raw floor in the same rounds
 * (`_fanout_floor.ts`): bare Deno processes in the same tree (4 relays with
 * 4 or 16 leaves each), one 8-byte frame per relay, one write per leaf, one
 * reply per leaf straight to the client. It is what any one-process-per-rank
 * fan-out costs on this machine; its own 64/16 ratio is the bound the
 * hypermesh ratio is judged against.
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
import { BareFanout } from "./_fanout_floor.ts";
import { config } from "../config/config.ts";
import { HOST_HEARTBEAT_TIMEOUT } from "../config/attrs.ts";

const WARMUP = 10;
const FANOUT_ENV = "HYPERMESH_CAST_FANOUT";

async function viaCast(cx: ClientInstance, actors: ActorMesh<Greeter>): Promise<number> {
  const t0 = performance.now();
  const { ref, receiver } = cx.openPort<Greeting>();
  actors.cast(cx, "Greet", { text: "x", reply: ref });
  for (let i = 0; i < actors.region.numRanks; i++) await receiver.recv({ timeoutMs: 20_000 });
  receiver.close();
  return performance.now() - t0;
}

async function viaCall(cx: ClientInstance, actors: ActorMesh<Greeter>): Promise<number> {
  const t0 = performance.now();
  const replies = await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: 20_000 });
  const ms = performance.now() - t0;
  for (const [, r] of replies.entries()) if (r instanceof CallError) throw r;
  return ms;
}

type Row = { variant: string; ms16: number; ms64: number };

/** The whole scenario: medians per variant for 16 and 64 actors. */
async function scenario(rounds: number): Promise<Row[]> {
  // 64 proc processes coming up on a small machine starve the heartbeats.
  using _hb = config.override(HOST_HEARTBEAT_TIMEOUT, 60_000);
  const cx = await context();
  const hosts = await HostMesh.process(Extent.of({ hosts: 4 }), workerCommand());
  const previous = Deno.env.get(FANOUT_ENV);
  try {
    await using floorSmall = await BareFanout.start(4, 4);
    await using floorLarge = await BareFanout.start(4, 16);
    const small = await (await hosts.spawn(cx, "fo16", Extent.of({ procs: 4 })))
      .spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const large = await (await hosts.spawn(cx, "fo64", Extent.of({ procs: 16 })))
      .spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    if (small.region.numRanks !== 16 || large.region.numRanks !== 64) {
      throw new Error(`Cannot run the bench: got ${small.region} and ${large.region}`);
    }
    const variants = [
      { variant: "cast+recv, fan-out", fanout: true, run: viaCast },
      { variant: "cast+recv, per-rank", fanout: false, run: viaCast },
      { variant: "call, fan-out", fanout: true, run: viaCall },
      { variant: "call, per-rank", fanout: false, run: viaCall },
      { variant: "bare floor", fanout: true, run: undefined },
    ];
    const samples = variants.map(() => ({ s: [] as number[], l: [] as number[] }));
    for (let i = 0; i < rounds + WARMUP; i++) {
      for (const [v, { fanout, run }] of variants.entries()) {
        Deno.env.set(FANOUT_ENV, fanout ? "1" : "0");
        const s = run ? await run(cx, small) : await floorSmall.cast();
        const l = run ? await run(cx, large) : await floorLarge.cast();
        if (i >= WARMUP) {
          samples[v].s.push(s);
          samples[v].l.push(l);
        }
      }
    }
    return variants.map(({ variant }, v) => ({
      variant,
      ms16: stats(samples[v].s).median,
      ms64: stats(samples[v].l).median,
    }));
  } finally {
    if (previous === undefined) Deno.env.delete(FANOUT_ENV);
    else Deno.env.set(FANOUT_ENV, previous);
    await hosts.shutdown(cx);
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 50);
  let rows: Row[];
  try {
    rows = await scenario(rounds);
  } finally {
    await shutdownContext();
  }
  const floor = rows.find((r) => r.variant === "bare floor")!;
  console.log(
    "4 hosts; variant           16 actors(ms)  64 actors(ms)  64/16  over floor 16 / 64",
  );
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(25)} ${r.ms16.toFixed(3).padStart(14)} ${
        r.ms64.toFixed(3).padStart(14)
      } ${(r.ms64 / r.ms16).toFixed(2).padStart(6)}  ${
        (r.ms16 / floor.ms16).toFixed(2).padStart(8)
      } / ${(r.ms64 / floor.ms64).toFixed(2)}`,
    );
  }
  const ratio = (r: Row) => r.ms64 / r.ms16;
  console.log(
    `fan-out cast 64/16 over the floor's 64/16: ${
      (ratio(rows[0]) / ratio(floor)).toFixed(2)
    }x (target 64/16 ≤ 2x)`,
  );
} else {
  Deno.bench({
    name:
      "cast + replies to 64 vs 16 actors on 4 hosts, fan-out vs per-rank vs bare floor (same run)",
    n: 1,
    warmup: 0,
    async fn() {
      await scenario(10);
      await shutdownContext();
    },
  });
}
