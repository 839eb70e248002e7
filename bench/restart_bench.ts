/**
 * Restart in place vs starting over, measured in the same run (issue 15):
 *
 * - **restart**: a rank of a 2-proc mesh (one host process, restart policy
 *   `on-failure`, backoff 0: at once) is SIGKILLed; the time runs until its
 *   greeter answers a `call` from the new process. Split into phases: the
 *   failure reaches the owner (`failures()`), the rank is back (new proc
 *   Running and its actors re-created: `restarts()` stops `restarting`), the
 *   first answer.
 * - **fresh**: `HostMeshRef.spawn` of one proc + `ProcMesh.spawn` of the
 *   greeter + one answered `call` — what starting over costs.
 * - **floor**: one bare Deno child calling back (`_bare_child.ts`).
 *
 * Each runs cold (every proc a fresh `deno run`) and with a warm pool of 2
 * on the host (`HYPERMESH_PREWARM_PROCS=2`). The issue's target: restart ≤
 * 1.2× fresh.
 *
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys --allow-ffi bench/restart_bench.ts [rounds]`
 *
 * @module
 */

import { spawnBareChildren, stats, stopBareChildren } from "./_floor.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import type { ClientInstance } from "../actor/types.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import type { ProcMesh } from "../mesh/proc_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { type Greeter, GREETER_TYPE } from "../cli/demo_actor.ts";
import { workerCommand } from "../cli/worker.ts";

const TIMEOUT_MS = 20_000;

async function pidOf(cx: ClientInstance, actors: ActorMesh<Greeter>, rank: number) {
  const replies = await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: TIMEOUT_MS });
  const reply = replies.values()[rank];
  return reply instanceof CallError ? undefined : reply.pid;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

interface RestartSample {
  failureMs: number;
  backMs: number;
  answerMs: number;
}

async function restartRound(
  cx: ClientInstance,
  procs: ProcMesh,
  actors: ActorMesh<Greeter>,
): Promise<RestartSample> {
  const before = procs.restarts()[1].restarts;
  const victim = await pidOf(cx, actors, 1);
  if (victim === undefined) throw new Error("rank 1 does not answer");
  const failures = procs.failures();
  const t0 = performance.now();
  Deno.kill(victim, "SIGKILL");
  await failures.next();
  const failureMs = performance.now() - t0;
  await failures.return!();
  while (procs.restarts()[1].restarts === before || procs.restarts()[1].restarting) await tick();
  const backMs = performance.now() - t0;
  let pid: number | undefined;
  do pid = await pidOf(cx, actors, 1); while (pid === undefined || pid === victim);
  return { failureMs, backMs, answerMs: performance.now() - t0 };
}

async function freshRound(cx: ClientInstance, hosts: HostMesh): Promise<number> {
  const t0 = performance.now();
  const procs = await hosts.ref.spawn(cx, "fresh", Extent.of({ procs: 1 }));
  const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
  if ((await pidOf(cx, actors, 0)) === undefined) throw new Error("fresh rank does not answer");
  const ms = performance.now() - t0;
  await procs.stop(cx);
  return ms;
}

async function floorRound(): Promise<number> {
  const t0 = performance.now();
  const children = await spawnBareChildren(1);
  const ms = performance.now() - t0;
  await stopBareChildren(children);
  return ms;
}

async function scenario(cx: ClientInstance, rounds: number, prewarm: number) {
  let hosts: HostMesh;
  {
    using _prewarm = config.override(attrs.PREWARM_PROCS, prewarm); // reaches the host's config
    hosts = await HostMesh.process(Extent.of({ hosts: 1 }), workerCommand());
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, prewarm > 0 ? 1_000 : 50));
  try {
    const procs = await hosts.ref.spawn(cx, "rs", Extent.of({ procs: 2 }), {
      restartPolicy: {
        restart: "on-failure",
        maxRestarts: 1_000_000,
        withinMs: 1,
        backoff: { initialMs: 0, maxMs: 0, factor: 1 },
      },
    });
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    await freshRound(cx, hosts); // warm-up: module cache, V8 in the client
    await restartRound(cx, procs, actors);
    const restarts: RestartSample[] = [];
    const fresh: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < rounds; i++) {
      await settle();
      floor.push(await floorRound());
      await settle();
      fresh.push(await freshRound(cx, hosts));
      await settle();
      restarts.push(await restartRound(cx, procs, actors));
    }
    return {
      prewarm,
      floor: stats(floor).median,
      fresh: stats(fresh),
      failure: stats(restarts.map((s) => s.failureMs)).median,
      back: stats(restarts.map((s) => s.backMs)).median,
      restart: stats(restarts.map((s) => s.answerMs)),
    };
  } finally {
    await hosts.shutdown(cx);
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 7);
  const cx = await context();
  const rows = [];
  try {
    rows.push(await scenario(cx, rounds, 0));
    rows.push(await scenario(cx, rounds, 2));
  } finally {
    await shutdownContext();
  }
  console.log(
    "pool  floor(ms)  fresh med/p90(ms)  restart med/p90(ms)  restart/fresh  " +
      "phases: failure seen / rank back / answer (ms)",
  );
  for (const r of rows) {
    console.log(
      `${String(r.prewarm).padStart(4)} ${r.floor.toFixed(0).padStart(10)} ${
        `${r.fresh.median.toFixed(0)}/${r.fresh.p90.toFixed(0)}`.padStart(18)
      } ${`${r.restart.median.toFixed(0)}/${r.restart.p90.toFixed(0)}`.padStart(20)} ${
        (r.restart.median / r.fresh.median).toFixed(2).padStart(14)
      }  ${r.failure.toFixed(0)} / ${r.back.toFixed(0)} / ${r.restart.median.toFixed(0)}`,
    );
  }
}
