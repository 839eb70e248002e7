/**
 * Supervision latency (SV-*), next to its floors measured in the same run:
 *
 * - **proc SIGKILL → owner**: from `Deno.kill(pid, "SIGKILL")` of a proc
 *   until the owner's `ProcMesh#failures()` yields its `MeshFailure`;
 *   floor = from the same kill until the host's own `BootstrapProcManager`
 *   publishes the exit status (`Killed`) — the launcher's exit observation
 *   the push path starts from. The host runs in this process (a Process-mode
 *   host agent over a real `BootstrapProcManager`; procs are real bootstrap
 *   children), so both ends are observed on one clock.
 * - **actor throw → owner**: from sending `Crash` to an actor until the
 *   owner's `ActorMesh#failures()` yields the `MeshFailure`; floor = a
 *   message round trip to the same actor (`Pid` → reply) just before.
 *
 * `deno run <perms> bench/supervision_bench.ts [rounds]` prints medians;
 * under `deno bench` one round is registered as a bench.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { isExit } from "../bootstrap/proc_status.ts";
import { Host } from "../host/host.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { Extent } from "../ndslice/extent.ts";
import { HOST_AGENT_NAME, HostAgent } from "../mesh/host_agent/host_agent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { instanceId } from "../mesh/host_mesh/id.ts";
import { CRASHER } from "../tests/fixtures/supervision_worker.ts";
import { fmtStats } from "./_floor.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const WORKER = BootstrapCommand.fromPath(Deno.execPath(), [
  "run",
  "--config",
  `${ROOT}deno.json`,
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
  `${ROOT}tests/fixtures/supervision_worker.ts`,
]);
const PROCS = 4;

/** Samples of one run. */
export interface SupervisionSamples {
  /** kill → manager exit status, ms. */
  exitFloor: number[];
  /** kill → owner's MeshFailure, ms. */
  killToFailure: number[];
  /** Pid round trip, ms. */
  rttFloor: number[];
  /** Crash sent → owner's MeshFailure, ms. */
  throwToFailure: number[];
}

async function round(
  cx: ClientInstance,
  hosts: HostMesh,
  manager: BootstrapProcManager,
  out: SupervisionSamples,
): Promise<void> {
  const procs = await hosts.ref.spawn(cx, "bench", Extent.of({ procs: PROCS }));
  const crashers = await procs.spawn(cx, "crasher", CRASHER);
  const { ref, receiver } = cx.openPort<number>();
  using _r = receiver;
  const pids: number[] = [];
  for (const actor of crashers.values()) {
    actor.send(cx, "Pid", { reply: ref });
    pids.push(await receiver.recv({ timeoutMs: 30_000 }));
  }
  // Actor throws on ranks 0..PROCS/2-1, proc kills on the rest.
  const actorFailures = crashers.failures();
  for (let rank = 0; rank < PROCS / 2; rank++) {
    const actor = crashers.values()[rank];
    const t0 = performance.now();
    actor.send(cx, "Pid", { reply: ref });
    await receiver.recv({ timeoutMs: 30_000 });
    out.rttFloor.push(performance.now() - t0);
    const t1 = performance.now();
    actor.send(cx, "Crash", { why: "bench" });
    const r = await actorFailures.next();
    if (r.done || r.value.rank !== rank) throw new Error(`unexpected ${JSON.stringify(r.value)}`);
    out.throwToFailure.push(performance.now() - t1);
  }
  await actorFailures.return!();
  const procFailures = procs.failures();
  for (let rank = PROCS / 2; rank < PROCS; rank++) {
    const exited = (async () => {
      for await (const s of manager.watch(procs.rank(rank).procId)!) {
        if (isExit(s)) return performance.now();
      }
      return NaN;
    })();
    const t0 = performance.now();
    Deno.kill(pids[rank], "SIGKILL");
    const r = await procFailures.next();
    const t1 = performance.now();
    if (r.done || r.value.rank !== rank) throw new Error(`unexpected ${JSON.stringify(r.value)}`);
    out.killToFailure.push(t1 - t0);
    out.exitFloor.push((await exited) - t0);
  }
  await procFailures.return!();
  await hosts.ref.stopProcMesh(cx, procs, { reason: "bench round done" });
}

/**
 * Runs `rounds` rounds on one in-process Process-mode host.
 * @param rounds How many rounds (each: PROCS/2 actor throws, PROCS/2 proc kills).
 * @returns The samples.
 */
export async function supervisionBench(rounds: number): Promise<SupervisionSamples> {
  const out: SupervisionSamples = {
    exitFloor: [],
    killToFailure: [],
    rttFloor: [],
    throwToFailure: [],
  };
  const cx = await context();
  const manager = new BootstrapProcManager(WORKER);
  const { host } = await Host.serve(manager, ChannelAddr.any("unix"));
  host.systemProc.spawn(HOST_AGENT_NAME, new HostAgent({ kind: "Process", host }));
  const hosts = HostMesh.take(HostMeshRef.fromHosts(instanceId("bench"), [host.addr]));
  try {
    for (let i = 0; i < rounds; i++) await round(cx, hosts, manager, out);
  } finally {
    await hosts.shutdown(cx).catch(() => {});
    await host[Symbol.asyncDispose]();
  }
  return out;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 10);
  let s: SupervisionSamples;
  try {
    s = await supervisionBench(rounds);
  } finally {
    await shutdownContext();
  }
  const overhead = s.killToFailure.map((t, i) => t - s.exitFloor[i]);
  console.log(
    `proc SIGKILL → owner MeshFailure   ${
      fmtStats(s.killToFailure)
    }  (n=${s.killToFailure.length})`,
  );
  console.log(`  floor: SIGKILL → manager exit    ${fmtStats(s.exitFloor)}`);
  console.log(`  push overhead over the floor     ${fmtStats(overhead)}`);
  console.log(
    `actor throw → owner MeshFailure    ${
      fmtStats(s.throwToFailure)
    }  (n=${s.throwToFailure.length})`,
  );
  console.log(`  floor: message round trip         ${fmtStats(s.rttFloor)}`);
} else {
  Deno.bench({
    name: "supervision: proc SIGKILL and actor throw → owner MeshFailure (one round)",
    n: 1,
    warmup: 0,
    async fn() {
      await supervisionBench(1);
      await shutdownContext();
    },
  });
}
