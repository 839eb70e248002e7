/**
 * Host death → owner: time from a host daemon's SIGKILL to the owner's
 * host-lost report (HW-3), next to the floor measured in the same round:
 * the client observing the exit of that daemon, its own child
 * (`child.status` resolving).
 *
 * - `deno run --allow-all bench/host_watch_bench.ts [rounds]` prints medians.
 * - Under `deno bench` one round is registered as a bench.
 *
 * Each round starts a `bootstrap.ts host` daemon on tcp (outside the
 * timing), attaches to it, waits until the heartbeat was answered and a
 * random 0–500 ms more (so the kill lands at a random phase of the
 * heartbeat period), then SIGKILLs it. The report does not wait for the
 * next heartbeat: the last pings are usually still unacknowledged (acks are
 * batched, `HYPERACTOR_MESSAGE_ACK_TIME_INTERVAL`), so the client's link
 * reconnects as soon as the connection drops (10 ms backoff), the reconnect
 * is refused (CH-9) and the pending ping bounces to the watch. Measured on
 * the 2-core VM (15 rounds): floor median 4.6 ms, report median 15.8 ms
 * (p90 17.1 ms).
 *
 * @module
 */

import { fmtStats } from "./_floor.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { addHostLostListener } from "../mesh/supervision/host_lost.ts";
import { HostWatch } from "../mesh/supervision/host_watch.ts";
import { WORKER_PERMISSIONS } from "../cli/worker.ts";

const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;

async function startDaemon(): Promise<{ child: Deno.ChildProcess; addr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...WORKER_PERMISSIONS, BOOTSTRAP, "host", "--addr", "tcp:127.0.0.1:0"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const m = /^ready (\S+)/.exec(buf);
  if (!m) throw new Error(`Cannot start the daemon: ${buf}`);
  return { child, addr: m[1] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One round: [floor ms, report ms] after the SIGKILL. */
async function round(i: number): Promise<[number, number]> {
  const cx = await context();
  const { child, addr } = await startDaemon();
  await HostMesh.attach(cx, `bench-${i}`, [addr]);
  while (!HostWatch.of(cx)?.answered.includes(addr)) await sleep(20);
  await sleep(Math.random() * 500); // a random phase of the heartbeat period
  let reported!: (t: number) => void;
  const report = new Promise<number>((r) => (reported = r));
  using _l = addHostLostListener((host) => host === addr && reported(performance.now()));
  const t0 = performance.now();
  child.kill("SIGKILL");
  const floor = child.status.then(() => performance.now());
  const [f, r] = await Promise.all([floor, report]);
  return [f - t0, r - t0];
}

async function main(rounds: number): Promise<void> {
  const floors: number[] = [];
  const reports: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const [f, r] = await round(i);
    floors.push(f);
    reports.push(r);
  }
  await shutdownContext();
  console.log(`host daemon SIGKILL, ${rounds} rounds`);
  console.log(`  floor: client observes its child's exit  ${fmtStats(floors)}`);
  console.log(`  owner's host-lost report (HW-3)         ${fmtStats(reports)}`);
}

if (import.meta.main) {
  await main(Number(Deno.args[0] ?? 20));
} else {
  let n = 0;
  Deno.bench({
    name: "host daemon SIGKILL → owner's host-lost report",
    n: 5,
    warmup: 0,
    async fn() {
      await round(n++);
      await shutdownContext();
    },
  });
}
