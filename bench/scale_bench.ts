/**
 * Scaling benchmark (issue 16 item 3): N procs on one host and on 4 hosts,
 * per-proc cost at each size.
 *
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env
 * --allow-sys --allow-ffi bench/scale_bench.ts [--sizes=1,4,16]
 * [--hosts=1,4] [--rounds=3] [--pool=0] [--svg=bench/scale.svg]`
 *
 * Procs start cold: `--pool` sets `HYPERMESH_PREWARM_PROCS` for this client
 * and the host processes it starts (default 0). With the warm pool on (its
 * default, BS-41: 4 per host on 2 cores) the small sizes would be served
 * warm and the large ones mostly cold, and the per-proc growth would compare
 * the two; `bench/spawn_bench.ts` and `bench/mesh_bench.ts` measure the pool.
 *
 * For each host count H (1: `HostMesh.local`, a Process-mode host served by
 * this client; 4: `HostMesh.process`, four host processes) and each total
 * proc count N (split evenly over the hosts, `procs = N / H` per host):
 * - bring-up: `HostMesh#spawn` of the procs (fenced on every rank Running) +
 *   `ProcMesh#spawn` of a Greeter actor mesh;
 * - call: one `ActorMesh#call` of `Greet` to every actor until every reply
 *   arrived (median of 5 calls after one warm-up call);
 * - RSS: total resident memory of this client and every process below it
 *   (hosts and procs), VmRSS from /proc via `ps`, while the mesh is
 *   up;
 * - teardown: `ProcMesh#stop` (every proc process exited);
 * - floor: N bare Deno children calling back over a unix socket
 *   (`_floor.ts`), spawned in the same round just before — the machine's own
 *   per-process cost at N; its 64-vs-4 ratio is printed next to hypermesh's.
 *
 * Each figure is divided by N (cost per proc); the RSS per proc is the growth
 * over the tree's RSS before the spawn. The growth check compares the
 * per-proc cost at the largest size with the one at 4 (target ≤ 1.2x, i.e.
 * linear); a row over the target is flagged `SUPERLINEAR`. Medians over
 * `--rounds` rounds. The default sizes (1, 4, 16) keep a run within a few
 * minutes on 2 cores; add `--sizes=1,4,16,64` for the full table (64 procs are
 * ~4 GiB of RSS). Every host and proc is stopped in `finally` blocks: nothing
 * is left running.
 *
 * The bench writes an SVG plot (hand-written SVG text) of the per-proc
 * bring-up, call and teardown times against N, one line per host count.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { spawnBareChildren, stats, stopBareChildren } from "./_floor.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { GREETER_TYPE } from "../cli/demo_actor.ts";
import { workerCommand } from "../cli/worker.ts";
import { attrs, config } from "../config/mod.ts";

/**
 * RSS (bytes) of `root` and every live process below it (`ps`, which reads
 * /proc: Deno only lets `--allow-all` read /proc itself).
 * @param root The tree's root (default this process).
 * @returns Total VmRSS in bytes.
 */
export async function treeRss(root = Deno.pid): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,stat=,rss="] }).output();
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [pid, ppid, stat, kb] = line.trim().split(/\s+/);
    if (pid === undefined || stat === undefined || stat.startsWith("Z")) continue;
    const list = children.get(Number(ppid)) ?? [];
    list.push(Number(pid));
    children.set(Number(ppid), list);
    rss.set(Number(pid), Number(kb) * 1024);
  }
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

interface Sample {
  /** N bare Deno children calling back over a unix socket, same round (the floor). */
  floorMs: number;
  bringUpMs: number;
  callMs: number;
  teardownMs: number;
  rssBytes: number;
}

async function floorRound(n: number): Promise<number> {
  const t0 = performance.now();
  const children = await spawnBareChildren(n);
  const ms = performance.now() - t0;
  await stopBareChildren(children);
  return ms;
}

async function round(cx: ClientInstance, hosts: HostMesh, n: number): Promise<Sample> {
  const floorMs = await floorRound(n);
  const perHost = n / hosts.hosts.length;
  const rss0 = await treeRss();
  const t0 = performance.now();
  const procs = await hosts.spawn(cx, "scale", Extent.of({ procs: perHost }));
  try {
    const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
    const bringUpMs = performance.now() - t0;
    await actors.call(cx, "Greet", { text: "w" }, { timeoutMs: 60_000 });
    const calls: number[] = [];
    for (let i = 0; i < 5; i++) {
      const tc = performance.now();
      const replies = await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: 60_000 });
      calls.push(performance.now() - tc);
      if (replies.values().length !== n) throw new Error(`Cannot call: ${n} replies expected`);
    }
    const rssBytes = await treeRss() - rss0;
    const t1 = performance.now();
    await procs.stop(cx);
    const teardownMs = performance.now() - t1;
    return { floorMs, bringUpMs, callMs: stats(calls).median, teardownMs, rssBytes };
  } catch (error) {
    await procs.stop(cx).catch(() => {});
    throw error;
  }
}

export interface Row {
  hosts: number;
  n: number;
  /** Bring-up of n bare Deno children (the floor), ms. */
  floorMs: number;
  bringUpMs: number;
  callMs: number;
  teardownMs: number;
  rssBytes: number;
}

async function scenario(numHosts: number, sizes: number[], rounds: number): Promise<Row[]> {
  const cx = await context();
  const hosts = numHosts === 1
    ? await HostMesh.local({ command: workerCommand() })
    : await HostMesh.process(Extent.of({ hosts: numHosts }), workerCommand());
  const rows: Row[] = [];
  try {
    await round(cx, hosts, numHosts); // warm-up: host processes, module cache
    for (const n of sizes) {
      if (n % numHosts !== 0) continue;
      const samples: Sample[] = [];
      try {
        for (let i = 0; i < rounds; i++) samples.push(await round(cx, hosts, n));
      } catch (error) {
        // e.g. a host starved of CPU misses its heartbeat (HW-2) under 64 cold starts
        console.error(`  hosts=${numHosts} procs=${n}: FAILED: ${(error as Error).message}`);
        break;
      }
      const med = (f: (s: Sample) => number) => stats(samples.map(f)).median;
      const row = {
        hosts: numHosts,
        n,
        floorMs: med((s) => s.floorMs),
        bringUpMs: med((s) => s.bringUpMs),
        callMs: med((s) => s.callMs),
        teardownMs: med((s) => s.teardownMs),
        rssBytes: med((s) => s.rssBytes),
      };
      console.error(`  hosts=${numHosts} procs=${n}: ${JSON.stringify(row)}`);
      rows.push(row);
    }
  } finally {
    await hosts.shutdown(cx);
  }
  return rows;
}

const METRICS = [
  ["bringUpMs", "bring-up"],
  ["callMs", "call"],
  ["teardownMs", "teardown"],
] as const;

/**
 * The SVG plot: per-proc time (ms, log scale) against procs (log scale), one
 * polyline per metric and host count.
 * @param rows The measured rows.
 * @returns SVG text.
 */
export function scaleSvg(rows: Row[]): string {
  const W = 640, H = 400, L = 60, R = 170, T = 30, B = 50;
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ys = rows.flatMap((r) => METRICS.map(([k]) => Math.max(r[k] / r.n, 1e-3)));
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...ys))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys))));
  const xMin = Math.log2(ns[0]), xMax = Math.max(Math.log2(ns[ns.length - 1]), xMin + 1);
  const x = (n: number) => L + (Math.log2(n) - xMin) / (xMax - xMin) * (W - L - R);
  const y = (v: number) =>
    T + (1 - (Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      (H - T - B);
  const colors = { bringUpMs: "#1f77b4", callMs: "#d62728", teardownMs: "#2ca02c" };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">hypermesh: cost per proc vs procs (flat = linear)</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">procs (log scale)</text>`,
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${
      (T + H - B) / 2
    })" text-anchor="middle">ms per proc (log scale)</text>`,
  ];
  for (const n of ns) {
    out.push(
      `<text x="${x(n)}" y="${H - B + 16}" text-anchor="middle">${n}</text>`,
      `<line x1="${x(n)}" y1="${H - B}" x2="${x(n)}" y2="${H - B + 4}" stroke="black"/>`,
    );
  }
  for (let v = yMin; v <= yMax * 1.0001; v *= 10) {
    out.push(
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${
        v >= 1 ? v : v.toPrecision(1)
      }</text>`,
      `<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#ddd"/>`,
    );
  }
  let legend = T;
  for (const h of [...new Set(rows.map((r) => r.hosts))]) {
    const mine = rows.filter((r) => r.hosts === h).sort((a, b) => a.n - b.n);
    for (const [k, label] of METRICS) {
      const pts = mine.map((r) =>
        `${x(r.n).toFixed(1)},${y(Math.max(r[k] / r.n, 1e-3)).toFixed(1)}`
      );
      const dash = h === 1 ? "" : ` stroke-dasharray="6 3"`;
      out.push(
        `<polyline fill="none" stroke="${colors[k]}" stroke-width="2"${dash} points="${
          pts.join(" ")
        }"/>`,
      );
      out.push(
        `<line x1="${W - R + 10}" y1="${legend}" x2="${W - R + 40}" y2="${legend}" stroke="${
          colors[k]
        }" stroke-width="2"${dash}/>`,
        `<text x="${W - R + 46}" y="${legend + 4}">${label}, ${h} host${h > 1 ? "s" : ""}</text>`,
      );
      legend += 18;
    }
  }
  out.push("</svg>", "");
  return out.join("\n");
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["sizes", "hosts", "rounds", "svg", "pool"],
    default: { sizes: "1,4,16", hosts: "1,4", rounds: "3", svg: "bench/scale.svg", pool: "0" },
  });
  // Cold procs unless asked (see the module doc); the host processes inherit the variable.
  const pool = Number(args.pool);
  if (!Number.isInteger(pool)) throw new TypeError(`--pool must be an integer, got "${args.pool}"`);
  Deno.env.set(attrs.PREWARM_PROCS.env!, String(pool));
  using _pool = config.override(attrs.PREWARM_PROCS, pool);
  const sizes = args.sizes.split(",").map(Number);
  const hostCounts = args.hosts.split(",").map(Number);
  const rows: Row[] = [];
  try {
    for (const h of hostCounts) rows.push(...await scenario(h, sizes, Number(args.rounds)));
  } finally {
    await shutdownContext();
  }
  console.log(
    "hosts  procs  bring-up(ms)  /proc  floor/proc  call(ms)  /proc  teardown(ms)  /proc  RSS(MB)  /proc  growth(N vs 4)  floor growth",
  );
  for (const r of rows) {
    const base = rows.find((b) => b.hosts === r.hosts && b.n === 4);
    const worst = base === undefined || r.n <= 4 ? undefined : Math.max(
      ...METRICS.map(([k]) => (r[k] / r.n) / (base[k] / base.n)),
      (r.rssBytes / r.n) / (base.rssBytes / base.n),
    );
    const flag = worst === undefined
      ? ""
      : `${worst.toFixed(2)}x${worst > 1.2 ? " SUPERLINEAR" : ""}`;
    // The same ratio for bare children: what the machine itself does at N.
    const floorGrowth = base === undefined || r.n <= 4
      ? ""
      : `${((r.floorMs / r.n) / (base.floorMs / base.n)).toFixed(2)}x`;
    const mb = r.rssBytes / 2 ** 20;
    console.log(
      `${String(r.hosts).padStart(5)} ${String(r.n).padStart(6)} ${
        r.bringUpMs.toFixed(0).padStart(13)
      } ${(r.bringUpMs / r.n).toFixed(1).padStart(6)} ${
        (r.floorMs / r.n).toFixed(1).padStart(11)
      } ${r.callMs.toFixed(1).padStart(9)} ${(r.callMs / r.n).toFixed(2).padStart(6)} ${
        r.teardownMs.toFixed(0).padStart(13)
      } ${(r.teardownMs / r.n).toFixed(1).padStart(6)} ${mb.toFixed(0).padStart(8)} ${
        (mb / r.n).toFixed(1).padStart(6)
      }  ${flag.padEnd(16)} ${floorGrowth}`,
    );
  }
  Deno.writeTextFileSync(args.svg, scaleSvg(rows));
  console.log(`plot: ${args.svg}`);
}
