/**
 * Idle memory of one bootstrap proc against a bare idle Deno child, side by
 * side in the same run (issue 16 item 1), plus a per-phase breakdown.
 *
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env
 * --allow-sys --allow-ffi bench/memory_bench.ts [rounds]` prints, per round
 * and as medians:
 * - **bare**: `_bare_child.ts` after it connected back and idled
 *   {@linkcode IDLE_MS} (`/proc/PID/smaps_rollup` Rss and Pss);
 * - **proc**: a cold proc of `BootstrapProcManager` (default settings) after
 *   `Ready` and the same idle time;
 * - **phases**: `bench/_mem_probe.ts` children reporting
 *   `Deno.memoryUsage()` after loading nothing (the runtime), the proc
 *   child's static module graph (`bootstrap.ts`), and pieces of it — so the
 *   proc's extra RSS splits into module graph vs. running proc.
 *
 * Memory, not time: the figures do not depend on machine load.
 * @module
 */

import { spawnBareChildren, stats, stopBareChildren } from "./_floor.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FLAGS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];
/** How long each child idles after start-up before it is measured. */
const IDLE_MS = 1_500;

/**
 * Rss and Pss (MB) of a process, from `/proc/PID/smaps_rollup` (read through
 * `cat`: Deno asks for `--allow-all` to read `/proc` files itself).
 */
async function smaps(pid: number): Promise<{ rss: number; pss: number }> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/smaps_rollup`] }).output();
  const text = new TextDecoder().decode(out.stdout);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { rss: kb("Rss") / 1024, pss: kb("Pss") / 1024 };
}

const idle = () => new Promise((resolve) => setTimeout(resolve, IDLE_MS));

async function bareRound(): Promise<{ rss: number; pss: number }> {
  const [child] = await spawnBareChildren(1);
  try {
    await idle();
    return await smaps(child.pid);
  } finally {
    await stopBareChildren([child]);
  }
}

async function procRound(root: Proc, manager: BootstrapProcManager, i: number) {
  const procId = new ProcId(ChannelAddr.any("unix"), `mem-${i}`);
  const handle = await manager.spawn(procId, root.procId.addr, {
    createRank: 0,
    clientConfigOverride: {},
  });
  await handle.ready();
  try {
    await idle();
    return await smaps(handle.pid!);
  } finally {
    using cx = root.instance(`stopper-${i}`);
    await handle.terminate(cx, { graceMs: 5_000, reason: "bench" });
  }
}

/** `Deno.memoryUsage()` (MB) of a probe child that imported `specs`. */
async function probe(specs: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", `${ROOT}deno.json`, ...FLAGS, `${ROOT}bench/_mem_probe.ts`, ...specs],
    stdin: "null",
    stderr: "inherit",
  }).output();
  const usage = JSON.parse(new TextDecoder().decode(out.stdout));
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, (v as number) / 2 ** 20]));
}

const PHASES: [string, string[]][] = [
  ["runtime (nothing imported)", []],
  ["+ bootstrap/bootstrap.ts", ["../bootstrap/bootstrap.ts"]],
  ["+ mesh/proc_agent/proc_agent.ts", ["../mesh/proc_agent/proc_agent.ts"]],
  ["+ whole child graph (bootstrap.ts)", ["../bootstrap.ts"]],
];

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 5);
  const root = await Proc.direct(ChannelAddr.any("unix"), "root");
  const manager = new BootstrapProcManager(
    BootstrapCommand.fromPath(Deno.execPath(), [
      "run",
      "--config",
      `${ROOT}deno.json`,
      ...FLAGS,
      `${ROOT}bootstrap.ts`,
    ]),
  );
  const bare: number[] = [];
  const proc: number[] = [];
  const barePss: number[] = [];
  const procPss: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const b = await bareRound();
      const p = await procRound(root, manager, i);
      bare.push(b.rss);
      barePss.push(b.pss);
      proc.push(p.rss);
      procPss.push(p.pss);
      console.log(
        `round ${i}: bare rss ${b.rss.toFixed(1)} MB pss ${b.pss.toFixed(1)} | proc rss ${
          p.rss.toFixed(1)
        } MB pss ${p.pss.toFixed(1)} | ratio ${(p.rss / b.rss).toFixed(2)}`,
      );
    }
  } finally {
    await manager[Symbol.asyncDispose]();
    await root[Symbol.asyncDispose]();
  }
  const m = (xs: number[]) => stats(xs).median;
  console.log(
    `idle RSS median: bare ${m(bare).toFixed(1)} MB, proc ${m(proc).toFixed(1)} MB, ratio ${
      (m(proc) / m(bare)).toFixed(2)
    } (Pss bare ${m(barePss).toFixed(1)}, proc ${m(procPss).toFixed(1)})`,
  );
  console.log("phase (probe child, Deno.memoryUsage MB)      rss   heapTotal heapUsed external");
  for (const [name, specs] of PHASES) {
    const u = await probe(specs);
    console.log(
      `${name.padEnd(44)} ${u.rss.toFixed(1).padStart(5)} ${u.heapTotal.toFixed(1).padStart(9)} ${
        u.heapUsed.toFixed(1).padStart(8)
      } ${u.external.toFixed(1).padStart(8)}`,
    );
  }
}
