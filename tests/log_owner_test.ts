/**
 * "Logs reach the owner" end to end (LO-1..LO-4, OL-5..OL-7): real proc processes
 * (fixture `tests/fixtures/log_owner_proc.ts`) on a process host served by
 * this process (`HostMesh.local`) and on a separate host daemon
 * (`bootstrap.ts host`); their lines travel StreamForwarder (host) →
 * OwnerLogSender → the owner's `mesh_log_client` (recording writer here).
 */

import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { Sink } from "../bootstrap/_log_test_util.ts";
import { CHILD_FLAGS, readFirstLine, ROOT } from "./_support.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { Context } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { droppedMarker, type OwnerLogBatch, OwnerLogSender } from "../bootstrap/log_sender.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef, type HostRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import type { ProcMesh } from "../mesh/proc_mesh.ts";
import { spawnOwnerLogClient } from "../mesh/log_owner.ts";
import { quietPort } from "../mesh/host_mesh/_query.ts";
import { Status } from "../mesh/resource/status.ts";
import { WORKER_PERMISSIONS } from "../cli/worker.ts";

const PRINTER = "log_owner_fixture::Printer";
const BOOTSTRAP = `${ROOT}bootstrap.ts`;

function printerCommand(): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    ...CHILD_FLAGS,
    `${ROOT}tests/fixtures/log_owner_proc.ts`,
  ]);
}

function hostname(): string {
  return Deno.hostname();
}

/** The owner-side prefix of rank `rank`'s lines. */
function prefix(procs: ProcMesh, rank: number): string {
  return `[${hostname()} ${procs.ranks()[rank].procId}] [${rank}] `;
}

/** Starts `bootstrap.ts host --addr tcp:127.0.0.1:0 --command-worker`; resolves on "ready". */
async function startDaemon(): Promise<
  { child: Deno.ChildProcess; addr: string; drained: Promise<void> }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...WORKER_PERMISSIONS, BOOTSTRAP, "host", "--addr", "tcp:127.0.0.1:0"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const buf = await readFirstLine(reader);
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const m = /^ready (\S+)/.exec(buf);
  if (!m) throw new Error(`daemon did not start: ${buf}`);
  return { child, addr: m[1], drained }; // await `drained` after the exit (op sanitizer)
}

/** Rank 0 prints and lives; checks both streams of every rank reach the owner. */
async function checkPrint(cx: Context, procs: ProcMesh, sink: Sink): Promise<void> {
  const actors = await procs.spawn(cx, "printer", PRINTER);
  actors.cast(cx, "Print", { text: "hello" });
  const want = procs.ranks().flatMap((_, r) => [
    `stdout|${prefix(procs, r)}hello`,
    `stderr|${prefix(procs, r)}hello (err)`,
  ]);
  await waitFor(sink, (lines) => want.every((w) => lines.includes(w)), 30_000);
}

/**
 * Rank `rank` prints and exits 1; the host agent's push of its terminal
 * status (`WaitRankStatus`, sent before the crash) must find both lines
 * already written by the owner's log client (LO-4, OL-5).
 */
async function checkCrashOrder(
  cx: Context,
  host: HostRef,
  procs: ProcMesh,
  sink: Sink,
): Promise<void> {
  const actors = await procs.spawn(cx, "crasher", PRINTER);
  const procName = procs.ranks()[0].procId.name;
  const { ref, receiver } = cx.openPort<unknown>();
  try {
    quietPort(host.agent, "WaitRankStatus").send(cx, {
      kind: "WaitRankStatus",
      name: procName,
      minStatus: Status.Stopping,
      reply: ref.port,
    });
    actors.cast(cx, "PrintAndExit", { text: "crashing now", code: 1 });
    const status = await receiver.recv({ timeoutMs: 30_000 });
    const seen = [...sink.lines]; // what the owner had written when the status arrived
    assert(
      seen.includes(`stdout|${prefix(procs, 0)}crashing now`),
      `LO-4: last stdout line before the status: ${JSON.stringify(status)}\n${seen.join("\n")}`,
    );
    assert(
      seen.includes(`stderr|${prefix(procs, 0)}last words`),
      `LO-4: last stderr line before the status\n${seen.join("\n")}`,
    );
  } finally {
    receiver.close();
  }
}

async function waitFor(
  sink: Sink,
  ok: (lines: readonly string[]) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 1; !ok(sink.lines); n = sink.lines.length + 1) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out; lines:\n${sink.lines.join("\n")}`);
    await sink.atLeast(n, left).catch(() => {});
  }
}

Deno.test("LO-1: a flood with a silent owner stalls once, then keeps the queue bounded and reports the dropped lines", async () => {
  const sent: OwnerLogBatch[] = [];
  const sender = new OwnerLogSender({
    post: (b) => void sent.push(b),
    hostname: "h",
    procId: "p",
    ack: "ack-port",
    window: 4,
    maxQueuedLines: 1_000,
    stallMs: 50,
  });
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  let waited = 0;
  for (let i = 0; i < 10_000; i++) {
    const room = sender.push("stdout", lines); // 1,000,000 lines, nobody acknowledges
    if (room !== undefined) {
      waited++;
      await room;
    }
    assert(sender.queuedLines <= 1_001, `LO-1: queue ${sender.queuedLines}`);
  }
  assertEquals(waited, 1, "LO-1: one stall, then the owner counts as unresponsive");
  assertEquals(sender.inFlight, 4);
  // LO-3: the drain posts what is queued plus the marker, and gives up in bounded time.
  const t0 = performance.now();
  assertEquals(
    await sender.drain({ timeoutMs: 200 }),
    false,
    "LO-3: an unresponsive owner is given up on",
  );
  assert(performance.now() - t0 < 2_000, "LO-3: the drain is bounded");
  // Uniform waiting: an aborted signal ends the drain at once with its reason.
  const gaveUp = new Error("owner gone");
  const controller = new AbortController();
  const draining = sender.drain({ timeoutMs: 60_000, signal: controller.signal });
  controller.abort(gaveUp);
  assertStrictEquals(await assertRejects(() => draining), gaveUp);
  assertEquals(
    sent.at(-1)!.payload.at(-1),
    droppedMarker(sender.droppedLines),
    "LO-3: the drain posts the marker",
  );
  const total = sent.reduce((n, b) => n + b.payload.length, 0);
  assertEquals(total - 1 + sender.droppedLines, 1_000_000, "every line is sent or counted");
  // LO-2: consecutive sequence numbers.
  assertEquals(sent.map((b) => b.seq), sent.map((_, i) => i), "LO-2: consecutive sequence numbers");
});

Deno.test("LO-1: a slow but live owner loses no line: pushes wait for room instead of dropping", async () => {
  const got: string[] = [];
  const sender: OwnerLogSender = new OwnerLogSender({
    post: (b) => {
      got.push(...b.payload);
      setTimeout(() => sender.ack(b.seq), 1); // the owner acknowledges later
    },
    hostname: "h",
    procId: "p",
    ack: "ack-port",
    window: 2,
    maxQueuedLines: 100,
  });
  const N = 20_000;
  for (let i = 0; i < N; i += 50) {
    await sender.push("stderr", Array.from({ length: 50 }, (_, j) => `l ${i + j}`));
    assert(sender.queuedLines <= 150, `LO-1: queue ${sender.queuedLines}`);
  }
  assertEquals(await sender.drain({ timeoutMs: 5_000 }), true);
  assertEquals(sender.droppedLines, 0);
  assertEquals(got, Array.from({ length: N }, (_, i) => `l ${i}`));
});

Deno.test("LO-4 / OL-5 / OL-7: lines of procs on a local process host reach the owner with the rank, the crash's last lines before its exit status", async () => {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  using _prefix = config.override(attrs.PREFIX_WITH_RANK, true);
  const cx = await context();
  const sink = new Sink();
  spawnOwnerLogClient(Proc.of(cx), { writer: sink.write });
  const hosts = await HostMesh.local({ command: printerCommand() });
  try {
    const procs = await hosts.spawn(cx, "logs", Extent.of({ gpus: 2 }));
    await checkPrint(cx, procs, sink);
    const one = await hosts.spawn(cx, "crash", Extent.of({ gpus: 1 }));
    await checkCrashOrder(cx, hosts.ref.hosts[0], one, sink);
    const report = await hosts.shutdown(cx);
    assertEquals(report.failed, []);
  } finally {
    await hosts[Symbol.asyncDispose]();
    await shutdownContext();
  }
});

Deno.test("LO-1: a flood of output from a real proc reaches the owner, every line printed or counted by a marker", async () => {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  const cx = await context();
  const sink = new Sink();
  spawnOwnerLogClient(Proc.of(cx), { writer: sink.write });
  const hosts = await HostMesh.local({ command: printerCommand() });
  try {
    const procs = await hosts.spawn(cx, "flood", Extent.of({ gpus: 1 }));
    const actors = await procs.spawn(cx, "flooder", PRINTER);
    const N = 20_000;
    actors.cast(cx, "Flood", { n: N });
    const p = prefix(procs, 0);
    // N flood lines + "flood done", each printed or counted by a marker (a
    // dropped "flood done" is counted by the marker posted after it).
    const account = (lines: readonly string[]) => {
      let got = 0;
      let dropped = 0;
      for (const l of lines) {
        if (l.startsWith(`stdout|${p}flood `)) got++;
        const m = /\[hypermesh: (\d+) lines dropped\]$/.exec(l);
        if (m) dropped += Number(m[1]);
      }
      return { got, dropped };
    };
    await waitFor(sink, (lines) => {
      const { got, dropped } = account(lines);
      return got + dropped === N + 1;
    }, 60_000);
    const { got, dropped } = account(sink.lines);
    assertEquals(got + dropped, N + 1, `received ${got}, dropped ${dropped}`);
    await hosts.shutdown(cx);
  } finally {
    await hosts[Symbol.asyncDispose]();
    await shutdownContext();
  }
});

Deno.test({
  name:
    "LO-4 / OL-5: lines of procs on a separate host daemon reach the owner with the rank, the crash's last lines before its exit status",
  sanitizeResources: false, // piped daemon stdout is drained by a detached reader
  fn: async () => {
    using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
    using _prefix = config.override(attrs.PREFIX_WITH_RANK, true);
    const daemon = await startDaemon();
    const cx = await context();
    const sink = new Sink();
    spawnOwnerLogClient(Proc.of(cx), { writer: sink.write });
    try {
      const ref = HostMeshRef.fromHosts("logs", [daemon.addr]).withBootstrap(printerCommand());
      const procs = await ref.spawn(cx, "logs", Extent.of({ gpus: 2 }));
      await checkPrint(cx, procs, sink);
      const one = await ref.spawn(cx, "crash", Extent.of({ gpus: 1 }));
      await checkCrashOrder(cx, ref.hosts[0], one, sink);
      const report = await HostMesh.take(ref).shutdown(cx);
      assertEquals(report.failed, []);
      assertEquals((await daemon.child.status).code, 0);
    } finally {
      try {
        daemon.child.kill("SIGKILL");
      } catch { /* exited */ }
      await daemon.child.status;
      await daemon.drained;
      await shutdownContext();
    }
  },
});

Deno.test("OL-6: a dead owner log client neither blocks nor breaks the host: the crash's exit status still arrives, the host keeps serving", async () => {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  const cx = await context();
  const client = spawnOwnerLogClient(Proc.of(cx), { writer: () => {} });
  const hosts = await HostMesh.local({ command: printerCommand() });
  try {
    const one = await hosts.spawn(cx, "orphan", Extent.of({ gpus: 1 }));
    const actors = await one.spawn(cx, "crasher", PRINTER);
    client.stop("owner log client gone");
    await client.wait();
    const { ref, receiver } = cx.openPort<unknown>();
    try {
      quietPort(hosts.ref.hosts[0].agent, "WaitRankStatus").send(cx, {
        kind: "WaitRankStatus",
        name: one.ranks()[0].procId.name,
        minStatus: Status.Stopping,
        reply: ref.port,
      });
      actors.cast(cx, "Flood", { n: 2_000 }); // nobody acknowledges these
      actors.cast(cx, "PrintAndExit", { text: "unheard", code: 1 });
      const t0 = performance.now();
      await receiver.recv({ timeoutMs: 30_000 });
      // LO-3 / OL-6: at most the drain bound (1 s) on top of the exit itself.
      assert(performance.now() - t0 < 10_000);
    } finally {
      receiver.close();
    }
    // The host still spawns and serves.
    const again = await hosts.spawn(cx, "again", Extent.of({ gpus: 1 }));
    assertEquals(again.ranks().length, 1);
    const report = await hosts.shutdown(cx);
    assertEquals(report.failed, []);
  } finally {
    await hosts[Symbol.asyncDispose]();
    await shutdownContext();
  }
});

Deno.test({
  name:
    "OL-8: HYPERACTOR_PREFIX_WITH_RANK of the owner applies on a host daemon whose own config says otherwise",
  sanitizeResources: false, // piped daemon stdout is drained by a detached reader
  fn: async () => {
    using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
    using _prefix = config.override(attrs.PREFIX_WITH_RANK, false); // daemon: default true
    const daemon = await startDaemon();
    const cx = await context();
    const sink = new Sink();
    spawnOwnerLogClient(Proc.of(cx), { writer: sink.write });
    try {
      const ref = HostMeshRef.fromHosts("logs", [daemon.addr]).withBootstrap(printerCommand());
      const procs = await ref.spawn(cx, "plain", Extent.of({ gpus: 1 }));
      const actors = await procs.spawn(cx, "printer", PRINTER);
      actors.cast(cx, "Print", { text: "no rank here" });
      const want = `stdout|[${hostname()} ${procs.ranks()[0].procId}] no rank here`;
      await waitFor(sink, (lines) => lines.includes(want), 30_000);
      const report = await HostMesh.take(ref).shutdown(cx);
      assertEquals(report.failed, []);
    } finally {
      try {
        daemon.child.kill("SIGKILL");
      } catch { /* exited */ }
      await daemon.child.status;
      await daemon.drained;
      await shutdownContext();
    }
  },
});

Deno.test("OL-7: the default owner log client prints stdout lines to the owner's stdout and stderr lines to its stderr, prefixed", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${ROOT}deno.json`,
      ...WORKER_PERMISSIONS,
      `${ROOT}tests/fixtures/log_owner_client.ts`,
    ],
    env: { HYPERACTOR_MESH_ENABLE_LOG_FORWARDING: "1", HYPERACTOR_PREFIX_WITH_RANK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).split("\n");
  const stderr = new TextDecoder().decode(out.stderr).split("\n");
  assertEquals(out.code, 0, stderr.join("\n"));
  const procId = stdout.find((l) => l.startsWith("PROC "))?.slice(5);
  assert(procId !== undefined, stdout.join("\n"));
  const p = `[${hostname()} ${procId}] [0] `;
  for (const line of [`${p}owned hello`, `${p}owned bye`]) {
    assert(stdout.includes(line), `stdout lacks ${line}:\n${stdout.join("\n")}`);
    assert(!stderr.includes(line), `stderr has ${line}`);
  }
  for (const line of [`${p}owned hello (err)`, `${p}last words`]) {
    assert(stderr.includes(line), `stderr lacks ${line}:\n${stderr.join("\n")}`);
    assert(!stdout.includes(line), `stdout has ${line}`);
  }
  // LO-4: printed before the terminal status reached the owner.
  assert(stdout.indexOf(`${p}owned bye`) < stdout.findIndex((l) => l.startsWith("PROC ")));
});

Deno.test("LO-4 / OL-5: lines of procs on HostMesh.process hosts (child host processes) reach the owner with the rank", async () => {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  using _prefix = config.override(attrs.PREFIX_WITH_RANK, true);
  const cx = await context();
  const sink = new Sink();
  spawnOwnerLogClient(Proc.of(cx), { writer: sink.write });
  // Hosts and procs run the fixture; hosts need --allow-run.
  const command = BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--config",
    `${ROOT}deno.json`,
    ...WORKER_PERMISSIONS,
    `${ROOT}tests/fixtures/log_owner_proc.ts`,
  ]);
  const hosts = await HostMesh.process(Extent.of({ hosts: 2 }), command, { stdio: "null" });
  try {
    const procs = await hosts.spawn(cx, "logs", Extent.unity());
    await checkPrint(cx, procs, sink);
    const report = await hosts.shutdown(cx);
    assertEquals([report.failed, report.killed], [[], 0]);
  } finally {
    await hosts[Symbol.asyncDispose]();
    await shutdownContext();
  }
});
