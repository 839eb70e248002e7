/**
 * Host-mesh bring-up, teardown and cast latency, next to the floor of as many
 * bare Deno children calling back at once, measured in the same run.
 *
 * - `deno run --allow-all bench/mesh_bench.ts [iterations]` prints medians.
 * - Under `deno bench` the same scenarios are registered as benches.
 *
 * Scenarios (hosts are host processes started once per shape, outside the
 * timing): bring-up = `HostMeshRef.spawn` of `procs=4` per host (fenced on
 * every rank Running) + `ProcMesh.spawn` of a Greeter actor mesh; teardown =
 * `DrainHost` on every host (every proc process exited); cast = one `Greet`
 * cast to 16 actors (4×4) until all 16 replies arrived, in procs just
 * spawned (median of rounds 5..19: V8 has not optimized the path yet) and
 * warm (median of the next 60 rounds). A cast is CPU-bound on 2 cores: every
 * hop wakes a process (client → host → proc → host → client, 21 processes),
 * so the figure moves with the machine's load. Floor = N bare Deno children
 * spawned at once, each connecting back over a unix socket.
 *
 * Each shape runs twice: cold (`HYPERMESH_PREWARM_PROCS=0`: every proc a
 * fresh `deno run`) and with default settings (the automatic warm pool,
 * BS-41: 4 pre-spawned procs per host on a 2-core machine). In the default
 * rows each round first waits 1 s, so the pools have refilled and settled
 * before the floor and the bring-up are measured, and again between the
 * bring-up and the casts (the pools refill after a spawn). `first` is the
 * first bring-up right after `HostMesh.process` returned (no wait: a pool is
 * still starting its children), as a script that starts hosts and spawns at
 * once sees it.
 *
 * @module
 */

import { spawnBareChildren, stats, stopBareChildren } from "./_floor.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import type { ClientInstance } from "../actor/types.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { workerCommand } from "../cli/worker.ts";

async function bareFloor(n: number): Promise<number> {
  const t0 = performance.now();
  const children = await spawnBareChildren(n);
  const ms = performance.now() - t0;
  await stopBareChildren(children);
  return ms;
}

interface Sample {
  bringUpMs: number;
  teardownMs: number;
  castMs?: number;
  castWarmMs?: number;
}

async function meshRound(
  cx: ClientInstance,
  hosts: HostMesh,
  cast: boolean,
  settle: () => Promise<unknown>,
): Promise<Sample> {
  const t0 = performance.now();
  const procs = await hosts.spawn(cx, "bench", Extent.of({ procs: 4 }));
  const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
  const bringUpMs = performance.now() - t0;
  let castMs: number | undefined;
  let castWarmMs: number | undefined;
  if (cast) {
    await settle(); // a warm pool refills after the spawn: not under the cast
    const { ref, receiver } = cx.openPort<Greeting>();
    const samples: number[] = [];
    for (let round = 0; round < 80; round++) {
      const tc = performance.now();
      actors.cast(cx, "Greet", { text: "x", reply: ref });
      for (let i = 0; i < procs.numRanks; i++) await receiver.recv({ timeoutMs: 10_000 });
      samples.push(performance.now() - tc);
    }
    receiver.close();
    castMs = median(samples.slice(5, 20));
    castWarmMs = median(samples.slice(20));
  }
  const t1 = performance.now();
  await Promise.all(hosts.hosts.map((h) => h.drain(cx)));
  return { bringUpMs, teardownMs: performance.now() - t1, castMs, castWarmMs };
}

function median(xs: number[]): number {
  return stats(xs).median;
}

async function scenario(numHosts: number, iterations: number, prewarm = 0) {
  const cx = await context();
  let hosts: HostMesh;
  {
    using _prewarm = config.override(attrs.PREWARM_PROCS, prewarm); // reaches the hosts' config
    hosts = await HostMesh.process(Extent.of({ hosts: numHosts }), workerCommand());
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, prewarm !== 0 ? 1_000 : 0));
  try {
    // The first bring-up right after the hosts answered, as a script does it
    // (a pool is still starting its children).
    const first = await meshRound(cx, hosts, false, settle);
    const samples: Sample[] = [];
    const floors: number[] = [];
    for (let i = 0; i < iterations; i++) {
      await settle(); // the hosts' pools refilled and idle
      floors.push(await bareFloor(numHosts * 4));
      samples.push(await meshRound(cx, hosts, numHosts === 4, settle));
    }
    return {
      shape: `${numHosts}x4`,
      prewarm,
      firstMs: first.bringUpMs,
      floorMs: median(floors),
      bringUpMs: median(samples.map((s) => s.bringUpMs)),
      teardownMs: median(samples.map((s) => s.teardownMs)),
      castMs: numHosts === 4 ? median(samples.map((s) => s.castMs!)) : undefined,
      castWarmMs: numHosts === 4 ? median(samples.map((s) => s.castWarmMs!)) : undefined,
    };
  } finally {
    await hosts.shutdown(cx);
  }
}

if (import.meta.main) {
  const iterations = Number(Deno.args[0] ?? 3);
  const rows = [];
  try {
    for (const n of [1, 2, 4]) {
      rows.push(await scenario(n, iterations, 0));
      rows.push(await scenario(n, iterations, attrs.PREWARM_PROCS.default)); // BS-41
    }
  } finally {
    await shutdownContext();
  }
  console.log(
    "shape  pool  first(ms)  floor(ms)  bring-up(ms)  ratio  teardown(ms)  cast16(ms)  cast16 warm(ms)",
  );
  for (const r of rows) {
    const pool = r.prewarm < 0 ? "auto" : String(r.prewarm);
    console.log(
      `${r.shape.padEnd(6)} ${pool.padStart(4)} ${r.firstMs.toFixed(0).padStart(10)} ${
        r.floorMs.toFixed(0).padStart(10)
      } ${r.bringUpMs.toFixed(0).padStart(13)} ${
        (r.bringUpMs / r.floorMs).toFixed(2).padStart(6)
      } ${r.teardownMs.toFixed(0).padStart(13)} ${r.castMs?.toFixed(2).padStart(11) ?? ""} ${
        r.castWarmMs?.toFixed(2).padStart(16) ?? ""
      }`,
    );
  }
} else {
  for (const n of [1, 2, 4]) {
    for (const prewarm of [0, attrs.PREWARM_PROCS.default]) {
      Deno.bench({
        name:
          `host mesh ${n}x4 bring-up + teardown, prewarm ${prewarm} (vs bare floor in the same run)`,
        n: 3,
        warmup: 0,
        async fn() {
          await scenario(n, 1, prewarm);
          await shutdownContext();
        },
      });
    }
  }
}
