/**
 * Memory over many spawn→stop cycles (issue 16, "no leaks"), against the
 * floor Deno itself has. Three parts (`--part=client,floor,daemon`, all by
 * default), each `cycles` rounds (default 300), each printing the growth from
 * cycle 10 to the last cycle (target ≤ 10 MB):
 *
 * - `client`: on one long-lived host process (`HostMesh.process`), each cycle
 *   spawns a 1-proc mesh with a greeter, makes one answered `call` and
 *   `ProcMesh.stop`s it. Reads this client's RSS, V8 heap and external
 *   memory (`Deno.memoryUsage()`, after a forced GC that also shrinks V8's
 *   spare capacity, `_gc.ts`: a plain `gc()` left the young generation at
 *   whatever size V8's throughput heuristic had grown it to), its open file
 *   descriptors and threads (`/proc/PID`, through `ls`/`cat`: Deno gates
 *   `/proc` behind `--allow-all`), and the host's RSS. `--gc-host`: the host
 *   collects every 2 s too.
 * - `floor`: the same cycle with no hypermesh in it — listen on a unix
 *   socket, spawn a bare Deno child with piped stdout/stderr
 *   (`_bare_child.ts`), wait for its callback byte, SIGTERM it, drain its
 *   pipes, await its exit, close the socket. Its growth is what Deno's own
 *   child-process and socket machinery costs; the client's growth is
 *   reported next to it.
 * - `daemon`: a `bootstrap.ts host --addr tcp:127.0.0.1:0 --command-worker`
 *   daemon serving one client session per cycle: `HostMesh.attach` → spawn
 *   a 1-proc mesh with a greeter → `call` → `HostMesh#stop` (the daemon keeps
 *   running). The daemon's RSS, fds and threads are read after a short idle
 *   pause (GC-forced every 500 ms only with `--gc-host`, `_gc_daemon.ts`).
 *
 * `deno run --v8-flags=--expose-gc --allow-run --allow-read --allow-write
 * --allow-net --allow-env --allow-sys --allow-ffi bench/leak_bench.ts
 * [--cycles=300] [--part=client,floor,daemon] [--gc-host]`
 *
 * Every process is stopped in `finally` blocks.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { canForceGc, collectAll } from "./_gc.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { type Greeter, GREETER_TYPE } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS, workerCommand } from "../cli/worker.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { BARE_FLAGS } from "./_floor.ts";

const MB = 2 ** 20;
const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;
const GC_DAEMON = new URL("./_gc_daemon.ts", import.meta.url).pathname;
const BARE_CHILD = new URL("./_bare_child.ts", import.meta.url).pathname;

/** What `/proc/PID` says about a process. */
export interface ProcFacts {
  /** VmRSS, MB. */
  rssMb: number;
  /** Open file descriptors. */
  fds: number;
  /** Threads. */
  threads: number;
}

/**
 * RSS, open fds and threads of `pid` (through `sh`: Deno reads `/proc`
 * only with `--allow-all`).
 * @param pid The process.
 * @returns The facts (zeros when it is gone).
 */
export async function procFacts(pid: number): Promise<ProcFacts> {
  const script = `ls /proc/${pid}/fd | wc -l; grep -E '^(VmRSS|Threads):' /proc/${pid}/status`;
  const out = await new Deno.Command("sh", { args: ["-c", script], stderr: "null" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const lines = text.trim().split("\n");
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    fds: Number(lines[0] ?? 0),
    rssMb: num(/VmRSS:\s+(\d+)/) / 1024,
    threads: num(/Threads:\s+(\d+)/),
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collectAll();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One reading of a part. */
export interface Reading extends ProcFacts {
  /** The cycle it was taken after. */
  cycle: number;
  /** V8 heap used, MB (this process only). */
  heapMb?: number;
  /** V8 heap reserved (`heapTotal`), MB (this process only). */
  heapTotalMb?: number;
  /** V8 external memory, MB (this process only). */
  externalMb?: number;
  /** The host process's RSS, MB (client part). */
  hostRssMb?: number;
}

async function readSelf(cycle: number, hostPid?: number): Promise<Reading> {
  await settle();
  const m = Deno.memoryUsage();
  const facts = await procFacts(Deno.pid);
  return {
    cycle,
    ...facts,
    rssMb: m.rss / MB,
    heapMb: m.heapUsed / MB,
    heapTotalMb: m.heapTotal / MB,
    externalMb: m.external / MB,
    ...(hostPid === undefined ? {} : { hostRssMb: (await procFacts(hostPid)).rssMb }),
  };
}

const readAt = (cycle: number, cycles: number) =>
  cycle === 10 || cycle === cycles || cycle % 100 === 0;

async function meshCycle(cx: ClientInstance, hosts: HostMesh, name: string): Promise<void> {
  const procs = await hosts.ref.spawn(cx, name, Extent.of({ procs: 1 }));
  try {
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const [reply] = (await actors.call(cx, "Greet", { text: "x" }, { timeoutMs: 20_000 }))
      .values();
    if (reply instanceof CallError) throw reply;
  } finally {
    await procs.stop(cx);
  }
}

/**
 * The client part.
 * @param cycles How many cycles.
 * @param gcHost Whether the host collects every 2 s (`_gc_worker.ts`).
 * @returns The readings.
 */
export async function clientRun(cycles: number, gcHost = false): Promise<Reading[]> {
  const cx = await context();
  const readings: Reading[] = [];
  const command = gcHost
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
    for (let cycle = 1; cycle <= cycles; cycle++) {
      await meshCycle(cx, hosts, "leak");
      if (readAt(cycle, cycles)) readings.push(await readSelf(cycle, hostPid));
    }
  } finally {
    await hosts.shutdown(cx);
  }
  return readings;
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _ of stream) { /* discard */ }
}

/**
 * The floor part: bare children over a unix socket, no hypermesh.
 * @param cycles How many cycles.
 * @returns The readings.
 */
export async function floorRun(cycles: number): Promise<Reading[]> {
  const readings: Reading[] = [];
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const dir = await Deno.makeTempDir({ prefix: "leak-floor-" });
    const path = `${dir}/cb.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", ...BARE_FLAGS, BARE_CHILD],
        env: { BARE_CALLBACK: path },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const pipes = Promise.all([drain(child.stdout), drain(child.stderr)]);
      const conn = await Promise.race([
        listener.accept(),
        child.status.then((s) => {
          throw new Error(`Cannot run the floor: the bare child exited (${s.code})`);
        }),
      ]);
      await conn.read(new Uint8Array(1));
      conn.close();
      child.kill("SIGTERM");
      await pipes;
      await child.status;
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
    if (readAt(cycle, cycles)) readings.push(await readSelf(cycle));
  }
  return readings;
}

async function startDaemon(gcDaemon: boolean): Promise<{ child: Deno.ChildProcess; addr: string }> {
  const entry = gcDaemon ? ["--v8-flags=--expose-gc", ...WORKER_PERMISSIONS, GC_DAEMON] : [
    ...WORKER_PERMISSIONS,
    BOOTSTRAP,
    "host",
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...entry, "--addr", "tcp:127.0.0.1:0", "--command-worker"],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
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
  if (!m) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`Cannot start the host daemon: ${buf}`);
  }
  return { child, addr: m[1] };
}

/**
 * The daemon part: one attach→spawn→call→stop client session per cycle.
 * @param cycles How many cycles.
 * @param gcDaemon Whether the daemon collects every 500 ms (`_gc_daemon.ts`).
 * @returns The daemon's readings.
 */
export async function daemonRun(cycles: number, gcDaemon = false): Promise<Reading[]> {
  const cx = await context();
  const daemon = await startDaemon(gcDaemon);
  const readings: Reading[] = [];
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const hosts = await HostMesh.attach(cx, `client${cycle}`, [daemon.addr]);
      try {
        await meshCycle(cx, hosts, `leak${cycle}`);
      } finally {
        await hosts.stop(cx);
      }
      if (readAt(cycle, cycles)) {
        await new Promise((r) => setTimeout(r, 500)); // let the stop's tail settle
        readings.push({ cycle, ...await procFacts(daemon.child.pid) });
      }
    }
  } finally {
    try {
      daemon.child.kill("SIGTERM");
    } catch { /* exited */ }
    await daemon.child.status;
  }
  return readings;
}

function report(what: string, readings: Reading[]): number {
  const f = (v: number | undefined, d = 1) => v === undefined ? "-" : v.toFixed(d);
  console.log(`\n${what}`);
  console.log(
    "cycle   RSS(MB)  heap(MB)  heap total(MB)  external(MB)  fds  threads  host RSS(MB)",
  );
  for (const r of readings) {
    console.log(
      `${String(r.cycle).padStart(5)} ${f(r.rssMb).padStart(9)} ${f(r.heapMb).padStart(9)} ${
        f(r.heapTotalMb).padStart(15)
      } ${f(r.externalMb).padStart(13)} ${String(r.fds).padStart(4)} ${
        String(r.threads).padStart(8)
      } ${f(r.hostRssMb).padStart(13)}`,
    );
  }
  const first = readings.find((r) => r.cycle === 10) ?? readings[0];
  const last = readings.at(-1)!;
  const growth = last.rssMb - first.rssMb;
  console.log(
    `${what}: RSS growth from cycle ${first.cycle} to ${last.cycle}: ${growth.toFixed(1)} MB${
      last.heapMb === undefined
        ? ""
        : `, heap ${(last.heapMb - first.heapMb!).toFixed(1)} MB (total ${
          (last.heapTotalMb! - first.heapTotalMb!).toFixed(1)
        }), external ${(last.externalMb! - first.externalMb!).toFixed(1)} MB`
    }, fds ${last.fds - first.fds}, threads ${last.threads - first.threads}${
      last.hostRssMb === undefined
        ? ""
        : `, host RSS ${(last.hostRssMb - first.hostRssMb!).toFixed(1)} MB`
    } (target ≤ 10 MB)`,
  );
  return growth;
}

if (import.meta.main) {
  if (!canForceGc) throw new Error("Cannot force GC: run with --v8-flags=--expose-gc");
  const args = parseArgs(Deno.args, {
    string: ["cycles", "part"],
    boolean: ["gc-host"],
    default: { cycles: "300", part: "client,floor,daemon", "gc-host": false },
  });
  const cycles = Number(args.cycles);
  const parts = args.part.split(",");
  const growth = new Map<string, number>();
  try {
    // The floor first: it sees this process before any hypermesh state exists.
    if (parts.includes("floor")) growth.set("floor", report("floor", await floorRun(cycles)));
    if (parts.includes("client")) {
      growth.set("client", report("client", await clientRun(cycles, args["gc-host"])));
    }
    if (parts.includes("daemon")) {
      growth.set("daemon", report("daemon", await daemonRun(cycles, args["gc-host"])));
    }
  } finally {
    await shutdownContext();
  }
  const floor = growth.get("floor");
  if (floor !== undefined) {
    for (const [what, g] of growth) {
      if (what !== "floor") {
        console.log(
          `${what}: ${g.toFixed(1)} MB growth, ${(g - floor).toFixed(1)} MB over the floor`,
        );
      }
    }
  }
}
