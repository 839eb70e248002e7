/**
 * Integration tests of bootstrap/: a real `BootstrapProcManager` launching the
 * real `bootstrap.ts` entry point (and one-trick fixtures in
 * tests/fixtures/bootstrap_*.ts), real sockets, real signals.
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import type { LaunchOptions, LaunchResult, ProcLauncher } from "../launcher/types.ts";
import {
  CHILD_FLAGS,
  fixtureCommand,
  isAlive,
  type ManagerRig,
  readFirstLine,
  ROOT,
  statusKinds,
  survivors,
  waitForSignalHandler,
  withManager,
} from "./_support.ts";

const ENTRY = `${ROOT}bootstrap.ts`;
import { attrs } from "../config/mod.ts";
import { ReadyError } from "../host/proc_handle.ts";
import type { BootstrapProcHandle } from "../bootstrap/proc_handle.ts";
import type { ProcStatus } from "../bootstrap/proc_status.ts";

Deno.test("BS: graceful terminate of a bootstrap child → Stopped(0) or Killed(SIGTERM); watch sees Running→Ready→Stopped", async () => {
  await withManager(async ({ cx, spawn, ready }) => {
    const handle = await spawn("graceful-0");
    const kinds = statusKinds(handle);
    await ready(handle);
    assert(handle.agentRef()?.toString().endsWith(",graceful-0,proc_agent[0]"));
    const status = await handle.terminate(cx, { graceMs: 2_000, reason: "test terminate" });
    assert(
      (status.kind === "Stopped" && status.exitCode === 0) ||
        (status.kind === "Killed" && status.signal === 15),
      `expected Stopped(0) or Killed(SIGTERM), got ${JSON.stringify(status)}`,
    );
    assertEquals(await kinds, ["Running", "Ready", "Stopped"]);
  });
});

Deno.test("BS-12, BS-13: Ready means the agent answers at once; a stop-all drains and exits 0", async () => {
  await withManager(async ({ cx, spawn, ready }) => {
    const handle = await spawn("reachable-0");
    await ready(handle);
    // BS-12: no retry, no wait: the first message after Ready is answered.
    const agent = handle.agentRef()!;
    const { ref, receiver } = cx.openOncePort<{ attrs: { nodeType: string } }>();
    agent.port("Introspect").send(cx, { child: handle.procId.key, reply: ref.port });
    const answer = await receiver.recv({ timeoutMs: 10_000 });
    assertEquals(answer.attrs.nodeType, "proc", "BS-12: the agent answered the first message");
    // BS-13: the proc drains and returns its exit code after the agent's stop-all.
    const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test" });
    assertEquals(
      [status.kind, status.kind === "Stopped" && status.exitCode],
      ["Stopped", 0],
      "BS-13",
    );
  });
});

/**
 * Spawns a cold proc from the TS entry with `tests/fixtures/<fixture>`
 * preloaded, stops it (asserting exit 0) and returns its stderr tail.
 */
async function stderrOfPreloadedProc(
  { cx, spawn, ready }: ManagerRig,
  name: string,
  fixture: string,
): Promise<readonly string[]> {
  const preloaded = BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--preload",
    `${ROOT}tests/fixtures/${fixture}`,
    ...CHILD_FLAGS,
    ENTRY,
  ]);
  const handle = await spawn(name, {
    bootstrapCommand: preloaded,
    clientConfigOverride: { [attrs.MESH_TAIL_LOG_LINES.key]: 50 },
  });
  await ready(handle);
  const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
  assertEquals(status.kind === "Stopped" && status.exitCode, 0, JSON.stringify(status));
  return status.kind === "Stopped" ? status.stderrTail : [];
}

Deno.test("BS-37: a cold proc's whole life (callback, StopAll, exit) never uses Deno's node-compatible timers", async () => {
  // Their first use costs 7-14 ms of CPU in a fresh process (internal/light_timer.ts).
  await withManager(async (rig) => {
    const lines = await stderrOfPreloadedProc(rig, "timers-0", "timer_trap.ts");
    assertEquals(lines.filter((l) => l.startsWith("timer-trap:")), [], "BS-37");
  });
});

Deno.test("BS-53: a proc builds no stack traces once its stop-all handed over the exit code, and full ones before", async () => {
  await withManager(async (rig) => {
    const lines = (await stderrOfPreloadedProc(rig, "stack-limit-0", "stack_limit_probe.ts"))
      .filter((l) => l.includes("stack-limit:"))
      .map((l) => l.slice(l.indexOf("stack-limit:")));
    assertEquals(lines, ["stack-limit: start 10", "stack-limit: exit 0 1"], "BS-53");
  });
});

Deno.test("BS-49, BS-37: a proc adopted from the warm pool never used Deno's node-compatible timers either", async () => {
  const trapFile = await Deno.makeTempFile({ prefix: "timer-trap-" });
  try {
    const trapped = new BootstrapCommand({
      program: Deno.execPath(),
      args: ["run", "--preload", `${ROOT}tests/fixtures/timer_trap.ts`, ...CHILD_FLAGS, ENTRY],
      env: { TIMER_TRAP_FILE: trapFile },
    });
    await withManager(async ({ cx, manager, spawn, ready }) => {
      const pool = manager.warmPool!;
      await pool.waitFor((pids) => pids.length === 1);
      const handle = await spawn("warm-timers-0");
      await ready(handle);
      assertEquals(pool.stats.adopted, 1, "the proc was a warm child");
      const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
      assertEquals(status.kind === "Stopped" && status.exitCode, 0, JSON.stringify(status));
    }, { prewarm: 1, command: trapped });
    assertEquals(await Deno.readTextFile(trapFile), "", "BS-49: warm-up, adoption, life and exit");
  } finally {
    await Deno.remove(trapFile);
  }
});

/** The argv of a running process (`/proc/PID/cmdline`, read through `cat`). */
async function argvOf(pid: number): Promise<string[]> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/cmdline`] }).output();
  return new TextDecoder().decode(out.stdout).split("\0").filter((a) => a !== "");
}

Deno.test("BS-50: a deno run proc child starts compiling eagerly; HYPERMESH_PROC_EAGER_COMPILE=false (per proc) and the command's own --v8-flags win", async () => {
  await withManager(async ({ cx, manager, spawn, ready }) => {
    const eager = await spawn("eager-0");
    await ready(eager);
    const lazy = await spawn("eager-1", {
      clientConfigOverride: { [attrs.PROC_EAGER_COMPILE.key]: false },
    });
    await ready(lazy);
    const own = await spawn("eager-2", {
      bootstrapCommand: BootstrapCommand.fromPath(Deno.execPath(), [
        "run",
        "--v8-flags=--lazy",
        ...CHILD_FLAGS,
        ENTRY,
      ]),
    });
    await ready(own);
    const pids = manager.pids;
    const [eagerArgv, lazyArgv, ownArgv] = await Promise.all(
      [eager, lazy, own].map((h) => argvOf(pids.get(h.procId.toString())!)),
    );
    assertEquals(eagerArgv.slice(1, 3), ["run", "--v8-flags=--no-lazy"], eagerArgv.join(" "));
    assertEquals(lazyArgv.filter((a) => a.startsWith("--v8-flags")), [], lazyArgv.join(" "));
    // Ours first, the command's own later: V8 applies them in order.
    assertEquals(ownArgv.filter((a) => a.startsWith("--v8-flags")), [
      "--v8-flags=--no-lazy",
      "--v8-flags=--lazy",
    ]);
    for (const h of [eager, lazy, own]) {
      const status = await h.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
      assertEquals(status.kind === "Stopped" && status.exitCode, 0, JSON.stringify(status));
    }
  });
});

/** The initial environment of a running process (`/proc/PID/environ`, read through `cat`). */
async function environOf(pid: number): Promise<Record<string, string>> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/environ`] }).output();
  const entries = new TextDecoder().decode(out.stdout).split("\0").filter((e) => e.includes("="));
  return Object.fromEntries(
    entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

Deno.test("BS-52: a deno run proc child, cold or warm, starts without Deno's update check; a command that sets the variable keeps its value", async () => {
  await withManager(async ({ cx, manager, spawn, ready }) => {
    const pool = manager.warmPool!;
    await pool.waitFor((pids) => pids.length === 1);
    const warm = await spawn("noupdate-warm");
    await ready(warm);
    assertEquals(pool.stats.adopted, 1, "the first proc was a warm child");
    const cold = await spawn("noupdate-cold", {
      clientConfigOverride: { [attrs.MESH_TAIL_LOG_LINES.key]: 3 },
    });
    await ready(cold);
    assertEquals(pool.stats.cold, 1, "the second proc launched cold (its stdio differs)");
    const own = await spawn("noupdate-own", {
      bootstrapCommand: BootstrapCommand.fromPath(Deno.execPath(), ["run", ...CHILD_FLAGS, ENTRY])
        .withEnv({ DENO_NO_UPDATE_CHECK: "yes" }),
    });
    await ready(own);
    const pids = manager.pids;
    const [warmEnv, coldEnv, ownEnv] = await Promise.all(
      [warm, cold, own].map((h) => environOf(pids.get(h.procId.toString())!)),
    );
    assertEquals(warmEnv.DENO_NO_UPDATE_CHECK, "1");
    assertEquals(coldEnv.DENO_NO_UPDATE_CHECK, "1");
    assertEquals(ownEnv.DENO_NO_UPDATE_CHECK, "yes");
    for (const h of [warm, cold, own]) {
      const status = await h.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
      assertEquals(status.kind === "Stopped" && status.exitCode, 0, JSON.stringify(status));
    }
  }, { prewarm: 1 });
});

Deno.test("BS-50: a proc adopted from the warm pool was started compiling eagerly too", async () => {
  await withManager(async ({ cx, manager, spawn, ready }) => {
    const pool = manager.warmPool!;
    await pool.waitFor((pids) => pids.length === 1);
    const handle = await spawn("eager-warm-0");
    await ready(handle);
    assertEquals(pool.stats.adopted, 1, "the proc was a warm child");
    const argv = await argvOf(manager.pids.get(handle.procId.toString())!);
    assertEquals(argv.slice(1, 3), ["run", "--v8-flags=--no-lazy"], argv.join(" "));
    const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
    assertEquals(status.kind === "Stopped" && status.exitCode, 0, JSON.stringify(status));
  }, { prewarm: 1 });
});

Deno.test("BS-37 (control): the timer trap reports a child that does use setTimeout", async () => {
  await withManager(async ({ spawn }) => {
    const handle = await spawn("timers-1", {
      bootstrapCommand: BootstrapCommand.fromPath(Deno.execPath(), [
        "run",
        "--no-config",
        "--preload",
        `${ROOT}tests/fixtures/timer_trap.ts`,
        `${ROOT}tests/fixtures/timer_user.ts`,
      ]),
      clientConfigOverride: { [attrs.MESH_TAIL_LOG_LINES.key]: 50 },
    });
    const status = await handle.wait();
    const lines = status.kind === "Stopped" ? status.stderrTail : [];
    assert(lines.some((l) => l.startsWith("timer-trap: setTimeout")), JSON.stringify(status));
  });
});

Deno.test("BS: kill() of a bootstrap child → Killed(9)", async () => {
  await withManager(async ({ spawn, ready }) => {
    const handle = await spawn("kill-0");
    await ready(handle);
    assertEquals(await handle.kill(), { kind: "Killed", signal: 9, coreDumped: false });
    assertEquals(await handle.wait(), { kind: "Killed", signal: 9, coreDumped: false });
  });
});

Deno.test("BS: ready() rejects Terminal when the process exits before becoming ready (`false`)", async () => {
  await withManager(async ({ spawn }) => {
    const handle = await spawn("false-0", { bootstrapCommand: BootstrapCommand.fromPath("false") });
    const error = await assertRejects(() => handle.ready(), ReadyError);
    assertEquals(error.kind, "Terminal");
    assertEquals((error.status as ProcStatus).kind, "Stopped");
    assertEquals(error.status, { kind: "Stopped", exitCode: 1, stderrTail: [] });
  });
});

Deno.test("LN-1, LN-2: a child that ignores SIGTERM is SIGKILLed after the grace period", async () => {
  await withManager(async ({ cx, spawn }) => {
    const handle = await spawn("stubborn-0", {
      bootstrapCommand: fixtureCommand("bootstrap_ignore_sigterm.ts"),
    });
    await waitForSignalHandler(handle.pid!, 15); // SIGTERM ignored before we stop it
    const status = await handle.terminate(cx, { graceMs: 300, reason: "test" });
    assertEquals(status, { kind: "Killed", signal: 9, coreDumped: false });
  });
});

Deno.test("BS-4: a crashing child reports its exit and stderr tail (uncaught error, SIGABRT)", async () => {
  await withManager(async ({ spawn }) => {
    const tail = { [attrs.MESH_TAIL_LOG_LINES.key]: 10 };
    const thrown = await spawn("crash-0", {
      bootstrapCommand: fixtureCommand("bootstrap_crash.ts", ["throw"]),
      clientConfigOverride: tail,
    });
    const st = await thrown.wait();
    assertEquals(st.kind === "Stopped" && st.exitCode, 1, JSON.stringify(st));
    const lines = st.kind === "Stopped" ? st.stderrTail : [];
    assert(lines.includes("crash line 3"), `BS-4: tail ${JSON.stringify(lines)}`);
    assert(lines.some((l) => l.includes("fixture crashed on purpose")), JSON.stringify(lines));

    const aborted = await spawn("crash-1", {
      bootstrapCommand: fixtureCommand("bootstrap_crash.ts", ["abort"]),
      clientConfigOverride: tail,
    });
    const st2 = await aborted.wait();
    assertEquals(st2.kind === "Killed" && st2.signal, 6, JSON.stringify(st2));
    assertEquals(aborted.stderrTail, ["crash line 1", "crash line 2", "crash line 3"]);
  });
});

Deno.test("BS-3: SIGKILLing a parent that runs a manager leaves no bootstrap child alive after 2 s", async () => {
  const parent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CHILD_FLAGS,
      "--allow-run",
      `${ROOT}tests/fixtures/bootstrap_parent.ts`,
      ENTRY,
      "2",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pids: number[] = [];
  let socketDir = "";
  try {
    ({ pids, socketDir } = JSON.parse(await readFirstLine(reader)));
    assertEquals(pids.length, 2);
    for (const pid of pids) assert(await isAlive(pid), `child ${pid} should run before the kill`);
    parent.kill("SIGKILL");
    await parent.status;
    assertEquals(await survivors(pids), [], "BS-3: children must die with their parent");
  } finally {
    try {
      parent.kill("SIGKILL");
    } catch { /* already dead */ }
    await reader.cancel().catch(() => {});
    await parent.status;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone, as expected */ }
    }
    if (socketDir !== "") await Deno.remove(socketDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("BS-11: 100 spawn/terminate cycles leave no process, socket file or descriptor behind", async () => {
  // Deno wants --allow-all for /proc/self; `ls` (allow-run) can read it.
  const fds = async () => {
    const out = await new Deno.Command("ls", { args: [`/proc/${Deno.pid}/fd`] }).output();
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "").length;
  };
  await withManager(async ({ cx, manager, spawn, ready }) => {
    // Warm up (module cache, lazily created resources) before counting descriptors.
    const warm = await spawn("cycle-warm");
    await ready(warm);
    await manager.terminateProc(cx, warm.procId, { graceMs: 2_000, reason: "warm-up" });
    const before = await fds();
    const pids: number[] = [];
    const cycles = 100;
    const lanes = 4;
    await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < cycles; i += lanes) {
        const handle = await spawn(`cycle-${i}`);
        pids.push(handle.pid!);
        await ready(handle);
        const st = await handle.terminate(cx, { graceMs: 2_000, reason: "cycle" });
        assertEquals(st.kind, "Stopped", JSON.stringify(st));
        // The proc left its socket file (CH-15); the manager removed it before the status.
        const listed = [...Deno.readDirSync(manager.socketDir)].map((e) => e.name);
        assert(!listed.includes(handle.procId.name), "BS-11: socket file gone once Stopped is out");
        (Proc.of(cx).forwarder as DialMailboxRouter).unbind(handle.procId);
      }
    }));
    assertEquals(pids.length, cycles);
    for (const pid of pids) assert(!(await isAlive(pid)), `BS-11: pid ${pid} still running`);
    assertEquals([...Deno.readDirSync(manager.socketDir)].map((e) => e.name), [], "BS-11: sockets");
    assertEquals(manager.pids.size, 0);
    // The root proc's router keeps no link per unbound proc; allow a little slack
    // for lazily created runtime descriptors.
    const after = await fds();
    assert(after - before <= 4, `BS-11: descriptors grew from ${before} to ${after}`);
  });
});

Deno.test("BS-10: terminateAll() stops every child under a concurrency cap; an exited one counts as ok", async () => {
  await withManager(async ({ cx, manager, spawn, ready }) => {
    const handles = await Promise.all([spawn("all-0"), spawn("all-1"), spawn("all-2")]);
    await Promise.all(handles.map(ready));
    await handles[2].kill();
    const summary = await manager.terminateAll(cx, {
      graceMs: 2_000,
      maxInFlight: 2,
      reason: "test",
    });
    assertEquals(summary.toJSON(), { attempted: 3, ok: 3, failed: 0 });
    for (const h of handles) assert(["Stopped", "Killed"].includes(h.status().kind));
    assertEquals(manager.status(handles[0].procId), undefined, "terminateAll forgets the procs");
  });
});

Deno.test("BS: requestStop() is non-blocking and idempotent; status follows to Stopped", async () => {
  await withManager(async ({ cx, manager, spawn, ready }) => {
    const handle = await spawn("req-0");
    await ready(handle);
    manager.requestStop(cx, handle.procId, { graceMs: 2_000, reason: "test" });
    assertEquals(manager.status(handle.procId)?.kind, "Stopping");
    manager.requestStop(cx, handle.procId, { graceMs: 2_000, reason: "again" }); // no-op
    const st = await handle.wait();
    assertEquals(st.kind, "Stopped");
    assertEquals(manager.status(handle.procId)?.kind, "Stopped");
  });
});

Deno.test("BS-9: disposing the manager SIGKILLs every running child", async () => {
  let pid = 0;
  let handle: BootstrapProcHandle | undefined;
  await withManager(async ({ spawn, ready }) => {
    handle = await spawn("dispose-0");
    await ready(handle);
    pid = handle.pid!;
    assert(await isAlive(pid));
  });
  assert(!(await isAlive(pid)), "BS-9: child must be dead after dispose");
  assertEquals(handle?.status(), { kind: "Killed", signal: 9, coreDumped: false });
});

/** Launches nothing; the "process" exits 0 at once (the seed's DummyLauncher). */
class DummyLauncher implements ProcLauncher {
  readonly kind = "native" as const;
  launch(_procId: string, _options: LaunchOptions): Promise<LaunchResult> {
    return Promise.resolve({
      startedAt: Date.now(),
      stdio: { kind: "ManagedByLauncher" },
      exit: Promise.resolve({ kind: { kind: "Exited", code: 0 }, stderrTail: ["bye"] }),
    });
  }
  terminate(): Promise<void> {
    return Promise.resolve();
  }
  kill(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("BS: the exit monitor maps the launcher's exit (launcher tail used when nothing captured)", async () => {
  await withManager(async ({ spawn }) => {
    const handle = await spawn("dummy-0");
    assertEquals(await handle.wait(), { kind: "Stopped", exitCode: 0, stderrTail: ["bye"] });
  }, { launcher: () => Promise.resolve(new DummyLauncher()) });
});

Deno.test("BS: V0ProcMesh allocator protocol: Hello, StartProc → StartedProc, StopAndExit(code)", async () => {
  const { serve, dial } = await import("../channel/mod.ts");
  type P2A = import("../bootstrap/v0_proc_mesh.ts").Process2Allocator;
  type A2P = import("../bootstrap/v0_proc_mesh.ts").Allocator2Process;
  await using allocator = await serve<P2A>(ChannelAddr.any("unix"));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHILD_FLAGS, ENTRY],
    env: { HYPERACTOR_MESH_BOOTSTRAP_ADDR: allocator.addr.toString(), HYPERACTOR_MESH_INDEX: "3" },
    stdin: "null",
  }).spawn();
  try {
    const hello = await allocator.recv();
    assert(Array.isArray(hello) && hello[0] === 3, JSON.stringify(hello));
    const helloMsg = hello![1] as { Hello: string };
    await using tx = dial<A2P>(ChannelAddr.parse(helloMsg.Hello));
    const procId = new ProcId(ChannelAddr.any("unix"), "v0proc-0");
    await tx.send({ StartProc: [procId.toString(), "unix"] });
    let started = await allocator.recv();
    while (started?.[1] === "Heartbeat") started = await allocator.recv();
    const [pid, agent, addr] =
      (started![1] as { StartedProc: [string, string, string] }).StartedProc;
    assertEquals(pid, procId.toString());
    assert(agent.endsWith(",v0proc-0,mesh[0]"), agent);
    assert(addr.startsWith("unix:"), addr);
    await tx.send({ StopAndExit: 3 });
    assertEquals((await child.status).code, 3);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  }
});
