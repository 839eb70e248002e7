/**
 * Spawn-to-Ready and terminate latency of bootstrap procs, against the floor
 * of a bare Deno child that connects back over a unix socket, in the same
 * run, for one proc and for 8 at once: cold (a fresh `deno run` per proc)
 * and from a warm pool (`HYPERMESH_PREWARM_PROCS=8`: children pre-spawned
 * with their module graph loaded and their parent-death guard armed, adopted
 * by the spawn; the pool is refilled and settled before each warm round, so
 * the row measures a spawn that finds warm children), and with default
 * settings (the automatic warm pool, BS-41: 4 children on a 2-core machine;
 * settled before the spawn, not before the stop).
 *
 * Every row runs with every rig's pool full and quiet ({@linkcode settleAll}):
 * a pool refills once its spawns and stops pause (the default rig's 4
 * children start from 250 ms after its stop, one per 150 ms, and boot for
 * ~1 s), and a row measured under another rig's refill measures that
 * refill. (Until this was done, only the warm-pool rig's pool was waited
 * for, so the bare and cold rows that followed a default row could run
 * while the default rig refilled.)
 *
 * - `deno run --allow-run --allow-read --allow-write --allow-net --allow-env
 *   --allow-sys --allow-ffi bench/spawn_bench.ts [iterations]` prints
 *   median, p10–p90 spread and the bootstrap/bare ratios.
 * - Under `deno bench` the same scenarios are registered as benches.
 *
 * The `aged` rows (8 at once) stop bare children and procs that have all
 * idled `AGED_MS` since their spawn (or adoption): the same age on
 * both sides of the ratio.
 *
 * Each stop row's CPU is counted too (`_stop_cpu.ts`: each stopped child's
 * CPU from the stop to its reaping, the kernel's teardown included, and
 * this process's, which is the host side of a proc's stop): a few FFI calls
 * outside the timed window.
 *
 * The `bundled` rows run the same cold procs from the bundled proc child
 * (`procChildCommand()`: one JavaScript file, `--no-config`, `cli/proc_child.ts`).
 *
 * Bootstrap path: `BootstrapProcManager.spawn` (callback channel, payload,
 * native launcher, `deno run bootstrap.ts`: config, parent-death guard, proc,
 * proc agent, unix mailbox server, callback) → `handle.ready()`. Terminate:
 * `handle.terminate()` (StopAll → agent drains → child exits 0 → exit
 * monitor). Bare path: `Deno.Command(deno run _bare_child.ts)` → accept →
 * one byte; terminate = SIGTERM → status. `bare msg stop`: the same bare
 * child keeps its connection and exits the moment it reads a byte on it, the
 * floor of any stop that is a message (the process must wake, run
 * JavaScript and exit; SIGTERM's default action runs none).
 *
 * @module
 */

import {
  fmtStats,
  spawnBareChildren,
  spawnBareMessageChildren,
  stats,
  stopBareChildren,
  stopBareChildrenByMessage,
} from "./_floor.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import type { BootstrapProcHandle } from "../bootstrap/proc_handle.ts";
import { procChildCommand } from "../cli/proc_child_command.ts";
import { type StopCpu, stopCpu } from "./_stop_cpu.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

class BootstrapRig implements AsyncDisposable {
  #n = 0;
  private constructor(readonly root: Proc, readonly manager: BootstrapProcManager) {}
  static async create(prewarm = 0, command?: BootstrapCommand): Promise<BootstrapRig> {
    const root = await Proc.direct(ChannelAddr.any("unix"), "root");
    using _prewarm = config.override(attrs.PREWARM_PROCS, prewarm);
    const manager = new BootstrapProcManager(
      command ?? BootstrapCommand.fromPath(Deno.execPath(), [
        "run",
        "--config",
        `${ROOT}deno.json`,
        ...FLAGS,
        `${ROOT}bootstrap.ts`,
      ]),
    );
    return new BootstrapRig(root, manager);
  }
  /** Waits until the warm pool is full, then lets its children finish warming. */
  async settle(): Promise<void> {
    const pool = this.manager.warmPool;
    if (pool === undefined) return;
    await pool.waitFor((pids) => pids.length === pool.size);
    await new Promise((resolve) => setTimeout(resolve, 600));
  }
  async spawn(n: number): Promise<BootstrapProcHandle[]> {
    const handles = await Promise.all(Array.from({ length: n }, () =>
      this.manager.spawn(
        new ProcId(ChannelAddr.any("unix"), `bench-${this.#n++}`),
        this.root.procId.addr,
        { createRank: 0, clientConfigOverride: {} },
      )));
    await Promise.all(handles.map((h) => h.ready()));
    const router = this.root.forwarder as DialMailboxRouter;
    for (const h of handles) {
      router.bind(h.procId, h.addr()!);
      router.prime(h.addr()!); // as a Host does (CH-10)
    }
    return handles;
  }
  async stop(handles: BootstrapProcHandle[]): Promise<void> {
    using cx = this.root.instance(`stopper-${this.#n++}`);
    // Through the manager, as a host stops a proc (a warm pool holds its refill, BS-43).
    await Promise.all(
      handles.map((h) =>
        this.manager.terminateProc(cx, h.procId, { graceMs: 5_000, reason: "bench" })
      ),
    );
    for (const h of handles) (this.root.forwarder as DialMailboxRouter).unbind(h.procId);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.manager[Symbol.asyncDispose]();
    await this.root[Symbol.asyncDispose]();
  }
}

/**
 * The stop rows measure procs that have been up a moment (as a mesh's procs
 * are when it is stopped), not ones still finishing their start-up (V8's
 * background compilation and first GCs run right after the callback: 3–7 ms
 * of CPU per cold child, measured).
 */
const IDLE_BEFORE_STOP_MS = 200;

function idle(ms = IDLE_BEFORE_STOP_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The aged rows stop processes of the same age, on both sides of the ratio:
 * every group idles this long after its spawn (or adoption) before its stop.
 * On the 2-core VMs measured, any process — a bare child as much as a proc —
 * stops markedly slower once it has idled a couple of seconds than 200 ms
 * after its start (bare SIGTERM of 8: ~18 → ~30 ms; 8 procs: ~33 → ~45 ms),
 * and a warm-pool child is always that old when adopted: comparing it with
 * fresh bare children charged the pool with the machine's aging.
 */
const AGED_MS = 3_000;

/**
 * Waits until every rig's pool is full and its children have warmed: no
 * refill of one rig runs under another rig's row.
 * @param rigs The rigs; those without a pool return at once.
 */
async function settleAll(...rigs: BootstrapRig[]): Promise<void> {
  for (const rig of rigs) await rig.settle();
}

/**
 * The median of each iteration's own ratio, `rows[i] / floors[i]`: the two
 * were measured seconds apart, so a machine whose speed drifts over the run
 * moves both (the ratio of the medians pairs fast and slow moments).
 * @param rows One sample per iteration.
 * @param floors The floor's sample of the same iteration.
 * @returns The median ratio.
 */
function pairedRatio(rows: number[], floors: number[]): number {
  return stats(rows.map((x, i) => x / floors[i])).median;
}

async function report(iterations: number): Promise<void> {
  await using rig = await BootstrapRig.create();
  await using warmRig = await BootstrapRig.create(8);
  // What a user gets without a setting: the automatic warm pool (BS-41).
  await using defaultRig = await BootstrapRig.create(attrs.PREWARM_PROCS.default);
  await using bundledRig = await BootstrapRig.create(0, procChildCommand());
  const quiet = () => settleAll(warmRig, defaultRig);
  const results: Record<string, number[]> = {};
  const add = (k: string, v: number) => (results[k] ??= []).push(v);
  const cpu: Record<string, StopCpu[]> = {};
  /** Times a stop row (wall clock) and counts its CPU (`_stop_cpu.ts`) apart. */
  const timedStop = async (key: string, pids: number[], stop: () => Promise<void>) => {
    let wall = 0;
    const spent = await stopCpu(pids, async () => {
      const t = performance.now();
      await stop();
      wall = performance.now() - t;
    });
    add(key, wall);
    (cpu[key] ??= []).push(spent);
  };
  // Warm the module cache and the JIT of every path.
  await stopBareChildren(await spawnBareChildren(1));
  await rig.stop(await rig.spawn(1));
  await bundledRig.stop(await bundledRig.spawn(1));
  await warmRig.settle();
  await warmRig.stop(await warmRig.spawn(1));
  for (let i = 0; i < iterations; i++) {
    for (const n of [1, 8]) {
      await quiet(); // no refill running under the cold and bare rows
      let t = performance.now();
      const bares = await spawnBareChildren(n);
      add(`bare ready x${n}`, performance.now() - t);
      await idle();
      await timedStop(`bare stop x${n}`, bares.map((c) => c.pid), () => stopBareChildren(bares));
      const messaged = await spawnBareMessageChildren(n);
      await idle();
      await timedStop(
        `bare msg stop x${n}`,
        messaged.children.map((c) => c.pid),
        () => stopBareChildrenByMessage(messaged),
      );
      t = performance.now();
      const handles = await rig.spawn(n);
      add(`bootstrap ready x${n}`, performance.now() - t);
      await idle();
      await timedStop(`bootstrap stop x${n}`, handles.map((h) => h.pid!), () => rig.stop(handles));
      t = performance.now();
      const bundled = await bundledRig.spawn(n);
      add(`bundled ready x${n}`, performance.now() - t);
      await idle();
      await timedStop(
        `bundled stop x${n}`,
        bundled.map((h) => h.pid!),
        () => bundledRig.stop(bundled),
      );
      await warmRig.settle();
      t = performance.now();
      const warm = await warmRig.spawn(n);
      add(`warm pool ready x${n}`, performance.now() - t);
      await warmRig.settle(); // the refill must not run under the stop row
      await timedStop(`warm pool stop x${n}`, warm.map((h) => h.pid!), () => warmRig.stop(warm));
      // A host that has been up a moment, with no other rig's refill under it.
      await quiet();
      t = performance.now();
      const dflt = await defaultRig.spawn(n);
      add(`default ready x${n}`, performance.now() - t);
      await idle(); // no settle: the pool's refill is whatever the default does
      await timedStop(`default stop x${n}`, dflt.map((h) => h.pid!), () => defaultRig.stop(dflt));
    }
  }
  // Same-age rows (AGED_MS), 8 at once, as many iterations as the fresh rows (each waits AGED_MS
  // per group): with half as many, their medians moved by a third between runs.
  const aged = [["bundled", bundledRig], ["warm pool", warmRig], ["default", defaultRig]] as const;
  for (let i = 0; i < iterations; i++) {
    await quiet();
    const bares = await spawnBareChildren(8);
    await idle(AGED_MS);
    await timedStop("aged bare stop x8", bares.map((c) => c.pid), () => stopBareChildren(bares));
    for (const [kind, r] of aged) {
      await quiet();
      const handles = await r.spawn(8);
      await idle(AGED_MS);
      await timedStop(`aged ${kind} stop x8`, handles.map((h) => h.pid!), () => r.stop(handles));
    }
  }
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(20)} ${fmtStats(v)}`);
  for (const n of [1, 8]) {
    const f = stats(results[`bare ready x${n}`]).median;
    const fs = stats(results[`bare stop x${n}`]).median;
    const fm = stats(results[`bare msg stop x${n}`]).median;
    console.log(
      `floor x${n}: a bare child that exits on a message stops in ${
        (fm / fs).toFixed(2)
      }x SIGTERM's time`,
    );
    for (const kind of ["bootstrap", "bundled", "warm pool", "default"]) {
      const b = stats(results[`${kind} ready x${n}`]).median;
      const st = stats(results[`${kind} stop x${n}`]).median;
      const paired = pairedRatio(results[`${kind} stop x${n}`], results[`bare stop x${n}`]);
      console.log(
        `ratio x${n} ${kind.padEnd(9)}: ready ${(b / f).toFixed(2)}, stop ${
          (st / fs).toFixed(2)
        } (medians over bare; stop ${(st / fm).toFixed(2)} over the message-stop floor; ` +
          `stop ${paired.toFixed(2)} as the median of each iteration's own ratio)`,
      );
    }
  }
  const agedFloor = stats(results["aged bare stop x8"]).median;
  for (const [kind] of aged) {
    const st = stats(results[`aged ${kind} stop x8`]).median;
    const paired = pairedRatio(results[`aged ${kind} stop x8`], results["aged bare stop x8"]);
    console.log(
      `ratio aged x8 ${kind.padEnd(9)}: stop ${(st / agedFloor).toFixed(2)} ` +
        `(every process idle ${AGED_MS} ms before its stop, the floor's too; ` +
        `${paired.toFixed(2)} as the median of each iteration's own ratio)`,
    );
  }
  // CPU, counted: steadier than the wall clock on a VM whose speed drifts.
  for (const [key, spent] of Object.entries(cpu)) {
    const median = (pick: (c: StopCpu) => number) => stats(spent.map(pick)).median.toFixed(2);
    console.log(
      `cpu ${key.padEnd(22)} child ${median((c) => c.childPerProc)} ms per process; ` +
        `this process ${median((c) => c.mainThread)} ms main thread, ` +
        `${median((c) => c.self)} ms all threads (medians)`,
    );
  }
  console.log("warm pool:", JSON.stringify(warmRig.manager.warmPool?.stats));
  console.log(
    `default pool (size ${defaultRig.manager.warmPool?.size ?? 0}):`,
    JSON.stringify(defaultRig.manager.warmPool?.stats),
  );
}

if (import.meta.main) {
  await report(Number(Deno.args[0] ?? 10));
} else {
  for (const n of [1, 8]) {
    Deno.bench({
      name: `bare deno child connect-back x${n}`,
      group: `ready-x${n}`,
      baseline: true,
      async fn(b) {
        b.start();
        const bares = await spawnBareChildren(n);
        b.end();
        await stopBareChildren(bares);
      },
    });
    Deno.bench({
      name: `bootstrap proc spawn → Ready x${n}`,
      group: `ready-x${n}`,
      async fn(b) {
        await using rig = await BootstrapRig.create();
        b.start();
        const handles = await rig.spawn(n);
        b.end();
        await rig.stop(handles);
      },
    });
    Deno.bench({
      name: `warm pool proc spawn → Ready x${n}`,
      group: `ready-x${n}`,
      async fn(b) {
        await using rig = await BootstrapRig.create(8);
        await rig.settle();
        b.start();
        const handles = await rig.spawn(n);
        b.end();
        await rig.stop(handles);
      },
    });
    Deno.bench({
      name: `bootstrap proc terminate x${n}`,
      group: `stop-x${n}`,
      async fn(b) {
        await using rig = await BootstrapRig.create();
        const handles = await rig.spawn(n);
        b.start();
        await rig.stop(handles);
        b.end();
      },
    });
  }
}
