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
 *   `Ready` and the same idle time, started from the bundled proc child
 *   (`procChildCommand()`, `cli/proc_child.ts`), and from the TypeScript
 *   entry (`deno run --config deno.json … bootstrap.ts`) for comparison,
 *   and with `HYPERMESH_PROC_EAGER_COMPILE=false` (**proc, lazy compile**:
 *   what eager compilation costs in memory, BS-50);
 * - **warm child**: an idle child of a 1-child warm pool on each command;
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
import { attrs, config } from "../config/mod.ts";
import { procChildCommand } from "../cli/proc_child_command.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";

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

/** Memory of one process (MB). */
interface Mem {
  /** Resident set (counts shared pages of the `deno` binary in full). */
  rss: number;
  /** Proportional set size (shared pages split between their users). */
  pss: number;
  /** Unique set size (Private_Clean + Private_Dirty): what one more proc costs. */
  uss: number;
}

/**
 * Rss, Pss and USS (MB) of a process, from `/proc/PID/smaps_rollup` (read
 * through `cat`: Deno asks for `--allow-all` to read `/proc` files itself).
 */
async function smaps(pid: number): Promise<Mem> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/smaps_rollup`] }).output();
  const text = new TextDecoder().decode(out.stdout);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return {
    rss: kb("Rss") / 1024,
    pss: kb("Pss") / 1024,
    uss: (kb("Private_Clean") + kb("Private_Dirty")) / 1024,
  };
}

const idle = () => new Promise((resolve) => setTimeout(resolve, IDLE_MS));

async function bareRound(): Promise<Mem> {
  const [child] = await spawnBareChildren(1);
  try {
    await idle();
    return await smaps(child.pid);
  } finally {
    await stopBareChildren([child]);
  }
}

/** One proc of a fresh manager running `cmd`: spawned, Ready, idle, measured, stopped. */
async function procRound(root: Proc, cmd: BootstrapCommand, i: number): Promise<Mem> {
  await using manager = new BootstrapProcManager(cmd);
  const procId = new ProcId(ChannelAddr.any("unix"), `mem-${i}`);
  const handle = await manager.spawn(procId, root.procId.addr, {
    createRank: 0,
    clientConfigOverride: {},
  });
  await handle.ready();
  const router = root.forwarder as DialMailboxRouter;
  router.bind(handle.procId, handle.addr()!);
  try {
    await idle();
    return await smaps(handle.pid!);
  } finally {
    using cx = root.instance(`stopper-${i}`);
    await handle.terminate(cx, { graceMs: 5_000, reason: "bench" });
    router.unbind(handle.procId);
  }
}

/** The idle child of a fresh 1-child warm pool on `cmd`, measured. */
async function warmRound(cmd: BootstrapCommand): Promise<Mem> {
  let manager: BootstrapProcManager;
  {
    using _prewarm = config.override(attrs.PREWARM_PROCS, 1);
    manager = new BootstrapProcManager(cmd);
  }
  await using _manager = manager;
  const pool = manager.warmPool!;
  await pool.waitFor((pids) => pids.length === 1);
  await idle();
  return await smaps(pool.pids[0]);
}

/**
 * A probe child that imported `specs` (`_mem_probe.ts`): its
 * `Deno.memoryUsage()` and its smaps figures (MB).
 */
async function probe(config: string[], specs: string[]): Promise<Record<string, number>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...config, ...FLAGS, `${ROOT}bench/_mem_probe.ts`, ...specs],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += value;
  }
  const mem = await smaps(child.pid);
  await child.stdin.close();
  await reader.cancel();
  await child.status;
  const usage = JSON.parse(line) as Record<string, number>;
  return { heapTotal: usage.heapTotal / 2 ** 20, heapUsed: usage.heapUsed / 2 ** 20, ...mem };
}

const CONFIG = ["--config", `${ROOT}deno.json`];
const PHASES: [string, string[], string[]][] = [
  ["runtime, --no-config", ["--no-config"], []],
  ["runtime, --config deno.json", CONFIG, []],
  ["+ mesh/proc_agent/proc_agent.ts", CONFIG, ["../mesh/proc_agent/proc_agent.ts"]],
  ["+ bootstrap/bootstrap.ts", CONFIG, ["../bootstrap/bootstrap.ts"]],
  ["+ whole child graph (bootstrap.ts)", CONFIG, ["../bootstrap.ts"]],
];

function command(env: Record<string, string> = {}): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--config",
    `${ROOT}deno.json`,
    ...FLAGS,
    `${ROOT}bootstrap.ts`,
  ]).withEnv(env);
}

const fmt = (m: Mem) =>
  `rss ${m.rss.toFixed(1).padStart(5)} pss ${m.pss.toFixed(1).padStart(5)} uss ${
    m.uss.toFixed(1).padStart(5)
  }`;

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 5);
  const root = await Proc.direct(ChannelAddr.any("unix"), "root");
  // Default settings, and the same proc compiled lazily (V8's default; BS-50's cost).
  const lazily = (i: number) => procRound(root, procChildCommand(), 3 * i + 1);
  const rows: Record<string, Mem[]> = {
    bare: [],
    proc: [],
    "proc, lazy compile": [],
    "proc, TS entry": [],
    "warm child": [],
    "warm child, TS entry": [],
  };
  try {
    for (let i = 0; i < rounds; i++) {
      rows["bare"].push(await bareRound());
      rows["proc"].push(await procRound(root, procChildCommand(), 3 * i));
      {
        using _lazy = config.override(attrs.PROC_EAGER_COMPILE, false);
        rows["proc, lazy compile"].push(await lazily(i));
      }
      rows["proc, TS entry"].push(await procRound(root, command(), 3 * i + 2));
      rows["warm child"].push(await warmRound(procChildCommand()));
      rows["warm child, TS entry"].push(await warmRound(command()));
      console.log(
        `round ${i}: ${Object.entries(rows).map(([k, v]) => `${k} ${fmt(v[i])}`).join(" | ")}`,
      );
    }
  } finally {
    await root[Symbol.asyncDispose]();
  }
  const m = (xs: number[]) => stats(xs).median;
  const med = (ms: Mem[]): Mem => ({
    rss: m(ms.map((x) => x.rss)),
    pss: m(ms.map((x) => x.pss)),
    uss: m(ms.map((x) => x.uss)),
  });
  const bare = med(rows["bare"]);
  console.log(`idle memory, medians of ${rounds} rounds (MB; ratio to the bare child):`);
  for (const [k, v] of Object.entries(rows)) {
    const x = med(v);
    console.log(
      `${k.padEnd(24)} ${fmt(x)}  rss ${(x.rss / bare.rss).toFixed(2)}x  uss ${
        (x.uss / bare.uss).toFixed(2)
      }x`,
    );
  }
  console.log("phase (probe child after its imports, MB)  rss   pss   uss heapTotal heapUsed");
  // The bundled proc child's graph as one file (imported, not run): how much
  // of the graph's cost is per module rather than code.
  const phases = [
    ...PHASES,
    ["bundled proc child (--no-config)", ["--no-config"], ["../cli/proc_child.bundle.js"]],
  ] as [string, string[], string[]][];
  for (const [name, cfg, specs] of phases) {
    const u = await probe(cfg, specs);
    console.log(
      `${name.padEnd(40)} ${[u.rss, u.pss, u.uss].map((x) => x.toFixed(1).padStart(5)).join(" ")} ${
        u.heapTotal.toFixed(1).padStart(9)
      } ${u.heapUsed.toFixed(1).padStart(8)}`,
    );
  }
}
