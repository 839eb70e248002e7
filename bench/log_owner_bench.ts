/**
 * Log forwarding to the owner vs the floor, measured in the same run:
 *
 * - **floor**: a bare Deno child writes N lines to a pipe; this process reads
 *   the pipe to EOF and splits lines (time from the first byte to EOF);
 * - **owner path**: a proc of a `HostMesh.local` host writes the same N lines
 *   (fixture `tests/fixtures/log_owner_proc.ts`, `Flood`); they travel
 *   StreamForwarder → OwnerLogSender → the owner's `mesh_log_client` (a
 *   counting writer); time from the first line at the owner until every line
 *   was printed or counted by a dropped-lines marker (LO-1).
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi bench/log_owner_bench.ts [lines]
 * ```
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { Proc } from "../actor/proc.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { spawnOwnerLogClient } from "../mesh/log_owner.ts";

const N = Number(Deno.args[0] ?? 50_000);
const ROOT = new URL("../", import.meta.url).pathname;
const FLAGS = [
  "--config",
  `${ROOT}deno.json`,
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

async function floor(): Promise<number> {
  const code = `const b = []; for (let i = 0; i < ${N}; i++) b.push("flood " + i);
const bytes = new TextEncoder().encode(b.join("\\n") + "\\n");
for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let t0 = 0;
  let lines = 0;
  for await (const chunk of child.stdout) {
    if (t0 === 0) t0 = performance.now();
    for (const b of chunk) if (b === 10) lines++;
  }
  const ms = performance.now() - t0;
  await child.status;
  if (lines !== N) throw new Error(`floor read ${lines} lines`);
  return ms;
}

async function ownerPath(): Promise<{ ms: number; printed: number; dropped: number }> {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  const cx = await context();
  let t0 = 0;
  let printed = 0;
  let dropped = 0;
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  spawnOwnerLogClient(Proc.of(cx), {
    writer: (_t, line) => {
      if (t0 === 0) t0 = performance.now();
      const m = /\[hypermesh: (\d+) lines dropped\]$/.exec(line);
      if (m) dropped += Number(m[1]);
      else if (line.includes("] flood ")) printed++;
      if (printed + dropped >= N + 1) done();
    },
  });
  const command = BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    ...FLAGS,
    `${ROOT}tests/fixtures/log_owner_proc.ts`,
  ]);
  const hosts = await HostMesh.local({ command });
  try {
    const procs = await hosts.spawn(cx, "bench", Extent.of({ gpus: 1 }));
    const actors = await procs.spawn(cx, "flooder", "log_owner_fixture::Printer");
    actors.cast(cx, "Flood", { n: N });
    await finished;
    const ms = performance.now() - t0;
    await hosts.shutdown(cx);
    return { ms, printed, dropped };
  } finally {
    await hosts[Symbol.asyncDispose]();
  }
}

if (import.meta.main) {
  // The host mirrors the proc's output to this process's stdout: silence it.
  const null_ = await Deno.open("/dev/null", { write: true });
  const write = Deno.stdout.write.bind(Deno.stdout);
  Deno.stdout.write = (p: Uint8Array) => null_.write(p);
  const f = await floor();
  const o = await ownerPath();
  await shutdownContext();
  Deno.stdout.write = write;
  null_.close();
  const rate = (lines: number, ms: number) => `${Math.round(lines / (ms / 1000))} lines/s`;
  console.log(`lines: ${N} (+1 "flood done")`);
  console.log("| path | time | delivered | dropped (marked) | rate |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(`| bare pipe read (floor) | ${f.toFixed(1)} ms | ${N} | 0 | ${rate(N, f)} |`);
  console.log(
    `| proc → host → owner | ${o.ms.toFixed(1)} ms | ${o.printed} | ${o.dropped} | ${
      rate(o.printed, o.ms)
    } |`,
  );
}
