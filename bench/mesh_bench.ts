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
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/instance.ts";
import { Extent } from "../mesh/extent.ts";
import { HostMesh } from "../mesh/host_mesh.ts";
import { GREETER_TYPE, type Greeting } from "../mesh/cli/demo_actor.ts";
import { workerCommand } from "../mesh/cli/worker.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FLAGS = ["--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-sys"];

async function bareFloor(n: number): Promise<number> {
  const dir = Deno.makeTempDirSync({ prefix: "bare-" });
  const path = `${dir}/cb.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const t0 = performance.now();
  const children = Array.from({ length: n }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...FLAGS, `${ROOT}bench/_bare_child.ts`],
      env: { BARE_CALLBACK: path },
      stdin: "null",
    }).spawn());
  for (let i = 0; i < n; i++) {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(1));
    conn.close();
  }
  const ms = performance.now() - t0;
  listener.close();
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => c.status));
  Deno.removeSync(dir, { recursive: true });
  return ms;
}

interface Sample {
  bringUpMs: number;
  teardownMs: number;
  castMs?: number;
  castWarmMs?: number;
}

async function meshRound(cx: ClientInstance, hosts: HostMesh, cast: boolean): Promise<Sample> {
  const t0 = performance.now();
  const procs = await hosts.spawn(cx, "bench", Extent.of({ procs: 4 }));
  const actors = await procs.spawn(cx, "greeter", GREETER_TYPE, null);
  const bringUpMs = performance.now() - t0;
  let castMs: number | undefined;
  let castWarmMs: number | undefined;
  if (cast) {
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
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function scenario(numHosts: number, iterations: number) {
  const cx = await context();
  const hosts = await HostMesh.process(Extent.of({ hosts: numHosts }), workerCommand());
  try {
    await meshRound(cx, hosts, false); // warm-up (host processes, module cache)
    const samples: Sample[] = [];
    const floors: number[] = [];
    for (let i = 0; i < iterations; i++) {
      floors.push(await bareFloor(numHosts * 4));
      samples.push(await meshRound(cx, hosts, numHosts === 4));
    }
    return {
      shape: `${numHosts}x4`,
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
    for (const n of [1, 2, 4]) rows.push(await scenario(n, iterations));
  } finally {
    await shutdownContext();
  }
  console.log(
    "shape  floor(ms)  bring-up(ms)  ratio  teardown(ms)  cast16(ms)  cast16 warm(ms)",
  );
  for (const r of rows) {
    console.log(
      `${r.shape.padEnd(6)} ${r.floorMs.toFixed(0).padStart(9)} ${
        r.bringUpMs.toFixed(0).padStart(13)
      } ${(r.bringUpMs / r.floorMs).toFixed(2).padStart(6)} ${
        r.teardownMs.toFixed(0).padStart(13)
      } ${r.castMs?.toFixed(2).padStart(11) ?? ""} ${r.castWarmMs?.toFixed(2).padStart(16) ?? ""}`,
    );
  }
} else {
  for (const n of [1, 2, 4]) {
    Deno.bench({
      name: `host mesh ${n}x4 bring-up + teardown (vs bare floor in the same run)`,
      n: 3,
      warmup: 0,
      async fn() {
        await scenario(n, 1);
        await shutdownContext();
      },
    });
  }
}
