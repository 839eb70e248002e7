/**
 * Memory over many spawn→stop cycles (issue 16, "no leaks"): the client's
 * RSS and V8 heap after `cycles` rounds of spawning a 1-proc mesh with a
 * greeter, one answered `call`, and `ProcMesh.stop`, on one long-lived host
 * process. A forced GC precedes every reading. Prints the readings at
 * cycle 10 and at the end, and the growth between them (target ≤ 10 MB).
 *
 * `deno run --v8-flags=--expose-gc --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys --allow-ffi bench/leak_bench.ts [cycles]`
 *
 * The host's own RSS (from `ps`) is printed next to it: a
 * host serves every cycle's procs.
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { type Greeter, GREETER_TYPE } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS, workerCommand } from "../cli/worker.ts";
import { BootstrapCommand } from "../launcher/command.ts";

const gc = (globalThis as { gc?: () => void }).gc;

async function rssOf(pid: number): Promise<number> {
  // `ps` rather than /proc/PID: reading another process's /proc needs --allow-all.
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim() || 0) * 1024;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Reading {
  cycle: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  hostRssMb: number;
}

/**
 * Runs the cycles.
 * @param cycles How many.
 * @returns Readings at cycle 10 and at the end.
 */
export async function leakRun(cycles: number): Promise<Reading[]> {
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  const cx = await context();
  const readings: Reading[] = [];
  // `--gc-host`: the host collects every 500 ms, so its RSS shows retained memory, not V8's lazy growth.
  const command = Deno.args.includes("--gc-host")
    ? BootstrapCommand.fromPath(Deno.execPath(), [
      "run",
      "--v8-flags=--expose-gc",
      ...WORKER_PERMISSIONS,
      new URL("./_gc_worker.ts", import.meta.url).pathname,
    ]).withEnv({
      HYPERMESH_BENCH_HEAP_LOG: Deno.env.get("HYPERMESH_BENCH_HEAP_LOG") ?? "",
      HYPERMESH_HOST_RETAINED_EXITED_PROCS: Deno.env.get("HYPERMESH_HOST_RETAINED_EXITED_PROCS") ??
        "64",
    })
    : workerCommand();
  const hosts = await HostMesh.process(Extent.of({ hosts: 1 }), command);
  try {
    const hostPid = hosts.pids[0];
    const read = async (cycle: number) => {
      await settle();
      const m = Deno.memoryUsage();
      readings.push({
        cycle,
        rssMb: m.rss / 2 ** 20,
        heapMb: m.heapUsed / 2 ** 20,
        externalMb: m.external / 2 ** 20,
        hostRssMb: hostPid === undefined ? 0 : (await rssOf(hostPid)) / 2 ** 20,
      });
    };
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const procs = await hosts.ref.spawn(cx, "leak", Extent.of({ procs: 1 }));
      const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
      const [reply] = (await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: 20_000 }))
        .values();
      if (reply instanceof CallError) throw reply;
      await procs.stop(cx);
      if (cycle === 10 || cycle === cycles || cycle % 50 === 0) await read(cycle);
    }
  } finally {
    await hosts.shutdown(cx);
    await shutdownContext();
  }
  return readings;
}

if (import.meta.main) {
  const cycles = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 300);
  const readings = await leakRun(cycles);
  console.log("cycle  client RSS(MB)  client heap(MB)  client external(MB)  host RSS(MB)");
  for (const r of readings) {
    console.log(
      `${String(r.cycle).padStart(5)} ${r.rssMb.toFixed(1).padStart(15)} ${
        r.heapMb.toFixed(1).padStart(16)
      } ${r.externalMb.toFixed(1).padStart(20)} ${r.hostRssMb.toFixed(1).padStart(13)}`,
    );
  }
  const first = readings.find((r) => r.cycle === 10) ?? readings[0];
  const last = readings.at(-1)!;
  console.log(
    `growth from cycle ${first.cycle} to ${last.cycle}: client RSS ${
      (last.rssMb - first.rssMb).toFixed(1)
    } MB, heap ${(last.heapMb - first.heapMb).toFixed(1)} MB, host RSS ${
      (last.hostRssMb - first.hostRssMb).toFixed(1)
    } MB`,
  );
}
