/**
 * Host mesh integration tests: real host processes (`bootstrap.ts host`,
 * Host bootstrap mode), real proc processes, sockets and signals.
 */
import { processState } from "../launcher/_proc_state.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { BOOTSTRAP_MODE_ENV, toEnvSafeString } from "../bootstrap/mode.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { ConfigPushError, ProcCreationError, ProcSpawnError } from "../mesh/host_mesh/errors.ts";
import { type Greeter, GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS, workerCommand } from "../cli/worker.ts";
import { readFirstLine } from "./_support.ts";
import { procChildCommand } from "../cli/proc_child_command.ts";

const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;
const WORKER = new URL("../cli/worker.ts", import.meta.url).pathname;

/** Whether `pid` runs (a zombie counts as dead; `/proc` needs --allow-all, so `ps` backs it). */
async function alive(pid: number): Promise<boolean> {
  return (await processState(pid)) === "alive";
}

async function noneAlive(pids: readonly number[]): Promise<boolean> {
  // PID 1 reaps lazily and a killed child may take a moment to be reaped.
  for (let i = 0; i < 40; i++) {
    if (!(await Promise.all(pids.map(alive))).some((a) => a)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts `bootstrap.ts host --addr tcp:127.0.0.1:0 --command-worker`; resolves on "ready". */
async function startDaemon(): Promise<
  { child: Deno.ChildProcess; addr: string; drained: Promise<void> }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...WORKER_PERMISSIONS,
      BOOTSTRAP,
      "host",
      "--addr",
      "tcp:127.0.0.1:0",
      "--command-worker",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const buf = await readFirstLine(reader);
  // Keep draining stdout so the daemon never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const m = /^ready (\S+)/.exec(buf);
  if (!m) throw new Error(`daemon did not start: ${buf}`);
  return { child, addr: m[1], drained }; // await `drained` after the exit (op sanitizer)
}

/** Starts a worker process in Host bootstrap mode with `command` for its procs. */
function startHostMode(addr: ChannelAddr, command?: BootstrapCommand): Deno.ChildProcess {
  const mode = toEnvSafeString({
    kind: "Host",
    addr,
    command: command?.toJSON(),
    exitOnShutdown: true,
  });
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...WORKER_PERMISSIONS, WORKER],
    env: { [BOOTSTRAP_MODE_ENV]: mode },
    stdin: "null",
  }).spawn();
}

async function reap(children: Deno.ChildProcess[]): Promise<void> {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch { /* exited */ }
  }
  await Promise.all(children.map((c) => c.status));
}

Deno.test({
  name:
    "extrinsic allocation: two `bootstrap.ts host` daemons on TCP, a proc mesh, an actor mesh, shutdown to zero processes",
  sanitizeResources: false, // piped daemon stdout is drained by a detached reader
  fn: async () => {
    const daemons = await Promise.all([startDaemon(), startDaemon()]);
    const cx = await context();
    try {
      const ref = HostMeshRef.fromHosts("test", daemons.map((d) => d.addr));
      const procs = await ref.spawn(cx, "test", Extent.unity());
      assertEquals(procs.region.toString(), "hosts=2/1");
      const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const { ref: port, receiver } = cx.openPort<Greeting>();
      actors.cast(cx, "Greet", { text: "hi", reply: port });
      const replies = [
        await receiver.recv({ timeoutMs: 10_000 }),
        await receiver.recv({ timeoutMs: 10_000 }),
      ];
      receiver.close();
      assertEquals(new Set(replies.map((r) => r.actor)).size, 2);
      const report = await HostMesh.take(ref).shutdown(cx);
      assertEquals(report.failed, []);
      const codes = await Promise.all(daemons.map((d) => d.child.status));
      assertEquals(codes.map((s) => s.code), [0, 0], "daemons exit 0 after ShutdownHost");
      assert(await noneAlive(replies.map((r) => r.pid)), "no proc process survives shutdown");
    } finally {
      await reap(daemons.map((d) => d.child));
      await Promise.all(daemons.map((d) => d.drained));
      await shutdownContext();
    }
  },
});

Deno.test("a host whose bootstrap command is `false` fails creation with ProcCreationError", async () => {
  const addrs = [ChannelAddr.any("unix"), ChannelAddr.any("unix")];
  const children = addrs.map((a) => startHostMode(a, BootstrapCommand.fromPath("false")));
  const cx = await context();
  try {
    const ref = HostMeshRef.fromHosts("test", addrs);
    const err = (await assertRejects(() =>
      ref.spawn(cx, "test", Extent.unity()), ProcCreationError)) as ProcCreationError;
    assertEquals(err.state.status.kind, "Failed");
    const message = (err.state.status as { message: string }).message;
    assertStringIncludes(message, "failed to configure process");
    assertStringIncludes(message, "Stopped(exit=1)", "exited before it was ready");
    await HostMesh.take(ref).shutdown(cx);
    assertEquals(
      (await Promise.all(children.map((c) =>
        c.status
      ))).map((s) =>
        s.code
      ),
      [0, 0],
    );
  } finally {
    await reap(children);
    await shutdownContext();
  }
});

Deno.test("a host whose bootstrap command is `sleep 60` times out: ProcSpawnError [Timeout, Running]", async () => {
  // Long enough for the real worker host to come up on a loaded machine.
  using _idle = config.override(attrs.MESH_PROC_SPAWN_MAX_IDLE, 3_000);
  const addrs = [ChannelAddr.any("unix"), ChannelAddr.any("unix")];
  const children = [
    startHostMode(addrs[0], BootstrapCommand.fromPath("sleep", ["60"])),
    startHostMode(addrs[1], workerCommand()),
  ];
  const cx = await context();
  try {
    const ref = HostMeshRef.fromHosts("test", addrs);
    const err = (await assertRejects(() =>
      ref.spawn(cx, "test", Extent.unity()), ProcSpawnError)) as ProcSpawnError;
    assertEquals([err.statuses.get(0)?.kind, err.statuses.get(1)?.kind], ["Timeout", "Running"]);
    await HostMesh.take(ref).shutdown(cx, { graceMs: 1_000 });
    assertEquals(
      (await Promise.all(children.map((c) =>
        c.status
      ))).map((s) =>
        s.code
      ),
      [0, 0],
    );
  } finally {
    await reap(children);
    await shutdownContext();
  }
});

Deno.test("HM-1: the client config override reaches the actors of a process host mesh", async () => {
  using _a = config.override(attrs.HOST_SPAWN_READY_TIMEOUT, 120_000);
  using _b = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 60_000);
  const cx = await context();
  await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), workerCommand());
  try {
    const procs = await hosts.spawn(cx, "test", Extent.unity());
    assertEquals(new Set(procs.ranks().map((r) => r.procId.key)).size, 2);
    const actors = await procs.spawn<Greeter>(cx, "cfg", GREETER_TYPE);
    const keys = [attrs.HOST_SPAWN_READY_TIMEOUT.key, attrs.MESSAGE_DELIVERY_TIMEOUT.key];
    const got = await actors.call(cx, "GetConfig", { keys }, { timeoutMs: 10_000 });
    const want = { [keys[0]]: 120_000, [keys[1]]: 60_000 };
    assertEquals(got.values(), [want, want]);
    const report = await hosts.shutdown(cx);
    assertEquals([report.failed, report.killed], [[], 0]);
    assert(await noneAlive(hosts.pids), "MS-42: no host process survives");
  } finally {
    await shutdownContext();
  }
});

Deno.test("HM-2 / HM-3 / HM-4: attach to an unreachable host fails closed and names it", async () => {
  using _t = config.override(attrs.MESH_ATTACH_CONFIG_TIMEOUT, 500);
  using _f = config.override(attrs.FORWARDER_FLUSH_TIMEOUT, 200); // the request stays unacked
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const unreachable = `tcp:127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const cx = await context();
  try {
    const err = (await assertRejects(() =>
      HostMesh.attach(cx, "hm_test", [unreachable]), ConfigPushError)) as ConfigPushError;
    assertEquals(
      err.failures.map((f) =>
        f.host
      ),
      [unreachable],
      "HM-4",
    );
    assertEquals(cx.undeliverables.size, 0, "HM-3: no bounce reached the caller");
  } finally {
    await shutdownContext();
  }
});

Deno.test("MS-43: stop() keeps the hosts; attach() to the same addresses spawns again", async () => {
  const cx = await context();
  const first = await HostMesh.process(Extent.of({ hosts: 2 }), workerCommand());
  try {
    await first.spawn(cx, "a", Extent.of({ procs: 2 }));
    const stopped = await first.stop(cx);
    assertEquals(stopped.failed, []);
    const again = await HostMesh.attach(cx, "again", first.hosts.map((h) => h.addr));
    const procs = await again.spawn(cx, "b", Extent.of({ procs: 1 }));
    assertEquals(procs.numRanks, 2);
    const report = await again.shutdown(cx);
    assertEquals(report.failed, []);
  } finally {
    await first[Symbol.asyncDispose]();
    await shutdownContext();
  }
  assert(await noneAlive(first.pids), "no host process survives");
});

Deno.test("HostMesh.process: procCommand runs the procs on another program (the bundled proc child) while the hosts run theirs", async () => {
  const cx = await context();
  const hosts = await HostMesh.process(Extent.of({ hosts: 2 }), workerCommand(), {
    procCommand: procChildCommand(),
  });
  try {
    const actors = await (await hosts.spawn(cx, "bundled", Extent.of({ procs: 1 })))
      .spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const { ref: port, receiver } = cx.openPort<Greeting>();
    actors.cast(cx, "Greet", { text: "hi", reply: port });
    const replies = [
      await receiver.recv({ timeoutMs: 20_000 }),
      await receiver.recv({ timeoutMs: 20_000 }),
    ];
    receiver.close();
    const cmdline = async (pid: number) => {
      const out = await new Deno.Command("ps", { args: ["-o", "args=", "-p", String(pid)] })
        .output();
      return new TextDecoder().decode(out.stdout);
    };
    for (const { pid } of replies) {
      assertStringIncludes(await cmdline(pid), "proc_child.bundle.js", "the proc runs the bundle");
    }
    const environ = async (pid: number) =>
      new TextDecoder().decode(
        (await new Deno.Command("cat", { args: [`/proc/${pid}/environ`] }).output()).stdout,
      ).split("\0");
    for (const pid of hosts.pids) {
      assertStringIncludes(await cmdline(pid), "worker.ts", "the host runs its own command");
      assert(
        (await environ(pid)).includes("HYPERMESH_PDEATHSIG_ARMED=SIGKILL"),
        "LN-24: the host's parent-death signal was armed at exec (OW-4)",
      );
    }
    for (const { pid } of replies) {
      assert(
        (await environ(pid)).includes("HYPERMESH_PDEATHSIG_ARMED=SIGKILL"),
        "LN-24: the proc's too",
      );
    }
    const report = await hosts.shutdown(cx);
    assertEquals(report.failed, []);
    assert(await noneAlive(replies.map((r) => r.pid)), "no proc process survives shutdown");
  } finally {
    await hosts[Symbol.asyncDispose]();
    await shutdownContext();
  }
});
