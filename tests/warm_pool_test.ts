/**
 * Integration tests of the warm pool (`HYPERMESH_PREWARM_PROCS`): a real
 * `BootstrapProcManager` pre-spawning real `bootstrap.ts` warm children
 * (`bootstrap/warm_pool.ts`, `launcher/warm_child.ts`), real sockets, real
 * signals.
 */

import { channelSecrets } from "../channel/secret.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "@std/assert";
import { attrs } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { ProcBind } from "../launcher/proc_bind.ts";
import { type LaunchOptions, ProcLauncherError } from "../launcher/types.ts";
import { processState } from "../launcher/_proc_state.ts";
import {
  bootstrapCommand,
  CHILD_FLAGS,
  isAlive,
  type ManagerRig,
  readFirstLine,
  ROOT,
  statusKinds,
  survivors,
  withManager,
} from "./_support.ts";

const ENTRY = `${ROOT}bootstrap.ts`;
import {
  AUTO_WARM_POOL_MAX,
  autoWarmPoolSize,
  DEFAULT_REFILL_DELAY_MS,
  WarmPool,
} from "../bootstrap/warm_pool.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { config } from "../config/mod.ts";

interface Setup extends ManagerRig {
  pool: WarmPool;
  /** The pool's pids once it holds 2 warm children. */
  full(): Promise<readonly number[]>;
}

/** A manager with a warm pool of 2. */
function withPool(fn: (s: Setup) => Promise<void>): Promise<void> {
  return withManager(async (rig) => {
    const pool = rig.manager.warmPool;
    if (pool === undefined) {
      throw new Error("HYPERMESH_PREWARM_PROCS=2 must give the manager a warm pool");
    }
    await fn({
      ...rig,
      pool,
      full: async () => (await pool.waitFor((pids) => pids.length === 2))!,
    });
  }, { prewarm: 2 });
}

Deno.test("BS-30, BS-32: a spawn adopts a warm child (pid from before the spawn), reaches Ready, and the pool refills", async () => {
  await withPool(async ({ cx, pool, full, spawn, ready }) => {
    const before = await full();
    const handle = await spawn("warm-0");
    const kinds = statusKinds(handle);
    assert(before.includes(handle.pid!), `BS-32: pid ${handle.pid} not among ${before}`);
    await ready(handle);
    assert(handle.agentRef()?.toString().endsWith(",warm-0,proc_agent[0]"));
    const after = await pool.waitFor((p) => p.length === 2 && !p.includes(handle.pid!));
    assertEquals(after!.filter((pid) => before.includes(pid)).length, 1, "one old, one new");
    assertEquals(pool.stats.adopted, 1);
    assertEquals(pool.stats.cold, 0);
    const status = await handle.terminate(cx, { graceMs: 2_000, reason: "test terminate" });
    assertEquals(status, { kind: "Stopped", exitCode: 0, stderrTail: [] });
    assertEquals(await kinds, ["Running", "Ready", "Stopped"]);
  });
});

Deno.test("BS-30: kill() of a warm-started proc → Killed(9), as cold", async () => {
  await withPool(async ({ full, spawn, ready }) => {
    const before = await full();
    const handle = await spawn("warm-kill-0");
    assert(before.includes(handle.pid!));
    await ready(handle);
    assertEquals(await handle.kill(), { kind: "Killed", signal: 9, coreDumped: false });
    assertEquals(await handle.wait(), { kind: "Killed", signal: 9, coreDumped: false });
  });
});

Deno.test("BS-33: a warm child killed externally is replaced and never handed out", async () => {
  await withPool(async ({ pool, full, spawn, ready }) => {
    const [victim, other] = await full();
    Deno.kill(victim, "SIGKILL");
    // Observed by the pool: discarded and replaced.
    const refilled = await pool.waitFor((p) => p.length === 2 && !p.includes(victim));
    assert(refilled!.includes(other));
    assert(pool.stats.discarded >= 1, JSON.stringify(pool.stats));
    // Dead (reaped) but maybe not yet observed by the pool: the adoption must
    // fail over (exit seen, or broken pipe), not hand it out. A zombie leader
    // is not enough: its other threads may still hold the pipe open.
    const [victim2] = pool.pids;
    Deno.kill(victim2, "SIGKILL");
    while ((await processState(victim2).catch(() => "gone")) !== "gone") {
      await new Promise((r) => setTimeout(r, 2));
    }
    const handle = await spawn("warm-after-kill");
    assertNotEquals(handle.pid, victim, "BS-33");
    assertNotEquals(handle.pid, victim2, "BS-33");
    await ready(handle);
    assertEquals(handle.status().kind, "Ready");
  });
});

Deno.test("BS-32: proc bind, a command with other runtime settings and other stdio needs launch cold", async () => {
  await withPool(async ({ pool, full, spawn, ready }) => {
    const warm = await full();
    const handles = [
      await spawn("cold-bind", { procBind: new ProcBind({ cpus: "0" }) }),
      await spawn("cold-cmd", {
        bootstrapCommand: bootstrapCommand().withEnv({ DENO_V8_FLAGS: "--max-old-space-size=256" }),
      }),
      await spawn("cold-stdio", {
        clientConfigOverride: { [attrs.MESH_TAIL_LOG_LINES.key]: 5 },
      }),
    ];
    await Promise.all(handles.map(ready));
    for (const h of handles) assert(!warm.includes(h.pid!), `BS-32: ${h.procId} took a warm child`);
    assertEquals(pool.stats.adopted, 0);
    assertEquals(pool.stats.cold, 3, "each went cold through the pool");
    assertEquals(pool.pids, warm, "the warm children are untouched");
  });
});

Deno.test("BS-42, LN-23: a per-proc command of the pool's program (other variables) adopts a warm child and reaches Ready", async () => {
  await withPool(async ({ cx, pool, full, spawn, ready }) => {
    const warm = await full();
    const handle = await spawn("warm-cmd", {
      bootstrapCommand: bootstrapCommand().withEnv({ HYPERMESH_TEST_PER_PROC: "yes" }),
    });
    assert(warm.includes(handle.pid!), `BS-42: pid ${handle.pid} not among ${warm}`);
    await ready(handle);
    assertEquals([pool.stats.adopted, pool.stats.cold], [1, 0]);
    const status = await handle.terminate(cx, { graceMs: 2_000, reason: "test terminate" });
    assertEquals(status.kind, "Stopped");
  });
});

Deno.test("BS-43: no refill starts while a stop holds the pool; it runs after the release", async () => {
  await withPool(async ({ cx, manager, pool, full, spawn, ready }) => {
    await full();
    const spawnedBefore = pool.stats.spawned;
    let handle;
    {
      using _quiet = pool.holdRefill();
      handle = await spawn("warm-hold");
      await ready(handle);
      // Longer than the refill delay: without the hold the pool would refill now.
      await new Promise((r) => setTimeout(r, 3 * DEFAULT_REFILL_DELAY_MS));
      assertEquals(pool.stats.spawned, spawnedBefore, "BS-43: refilled under a hold");
      assertEquals(pool.pids.length, 1);
    }
    assert(await pool.waitFor((p) => p.length === 2), "BS-43: refilled after the release");
    assertEquals(pool.stats.spawned, spawnedBefore + 1);
    await manager.terminateProc(cx, handle.procId, { graceMs: 2_000 });
  });
});

Deno.test("BS-34: disposing the manager leaves no warm child, adopted proc or socket behind", async () => {
  let pids: number[] = [];
  let socketDir = "";
  await withPool(async ({ manager, pool, full, spawn, ready }) => {
    await full();
    const handle = await spawn("warm-dispose-0");
    await ready(handle);
    const warm = await pool.waitFor((p) => p.length === 2 && !p.includes(handle.pid!));
    pids = [handle.pid!, ...warm!];
    socketDir = manager.socketDir;
  });
  for (const pid of pids) assert(!(await isAlive(pid)), `BS-34: pid ${pid} survived dispose`);
  await assertRejects(() => Deno.stat(socketDir), Deno.errors.NotFound);
});

Deno.test("BS-3, BS-34: SIGKILLing a parent with a warm pool leaves no warm child or proc alive after 2 s", async () => {
  const parent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CHILD_FLAGS,
      "--allow-run",
      `${ROOT}tests/fixtures/warm_pool_parent.ts`,
      ENTRY,
    ],
    env: { HYPERMESH_PREWARM_PROCS: "2" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pids: number[] = [];
  let socketDir = "";
  try {
    const report = JSON.parse(await readFirstLine(reader));
    pids = [report.adopted, ...report.warm];
    socketDir = report.socketDir;
    assertEquals(pids.length, 3);
    for (const pid of pids) assert(await isAlive(pid), `child ${pid} should run before the kill`);
    parent.kill("SIGKILL");
    await parent.status;
    assertEquals(
      await survivors(pids),
      [],
      "BS-3: warm children and procs must die with their parent",
    );
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

Deno.test("BS-31: a warm child whose stdin ends before a start line exits 0 quietly", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHILD_FLAGS, ENTRY],
    env: { HYPERMESH_BOOTSTRAP_WARM: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stdin.close();
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertEquals(new TextDecoder().decode(out.stdout), "");
  assertEquals(new TextDecoder().decode(out.stderr), "");
});

const SH_WAITER = BootstrapCommand.fromPath("sh", [
  "-c",
  'read -r line; echo "$line"; exec sleep 30',
]);

function launchOptions(
  command: BootstrapCommand,
  extra: Partial<LaunchOptions> = {},
): LaunchOptions {
  return {
    bootstrapPayload: "e30=",
    processName: "p @ h",
    command,
    wantStdio: true,
    tailLines: 0,
    ...extra,
  };
}

Deno.test("LN-20, LN-21, LN-7: a warm child is adopted once, only for matching options, and gets the cold launch's env", async () => {
  await using launcher = new NativeProcLauncher();
  const warm = await launcher.prespawn({ command: SH_WAITER, wantStdio: true });
  for (
    const extra of [
      { wantStdio: false },
      { procBind: new ProcBind({ cpus: "0" }) },
      { command: SH_WAITER.withEnv({ TZ: "UTC" }) }, // read at exec (LN-21)
      { command: SH_WAITER.withArgs(["-c", "exit 0"]) }, // another program
    ]
  ) {
    const error = await assertRejects(
      () => launcher.launch("unix:@w,p0", { ...launchOptions(SH_WAITER, extra), warm }),
      ProcLauncherError,
    );
    assertEquals(error.variant, "Launch", "LN-21");
  }
  assertEquals(warm.state, "warm", "LN-21: a refused adoption changes nothing");
  const result = await launcher.launch("unix:@w,p0", { ...launchOptions(SH_WAITER), warm });
  assertEquals(result.pid, warm.pid);
  assertEquals(launcher.pidOf("unix:@w,p0"), warm.pid);
  const error = await assertRejects(
    () => launcher.launch("unix:@w,p1", { ...launchOptions(SH_WAITER), warm }),
    ProcLauncherError,
  );
  assert(error.message.includes("adopted"), `LN-20: ${error.message}`);
  const stdio = result.stdio;
  if (stdio.kind !== "Captured") throw new Error("wantStdio must capture stdout/stderr");
  const reader = stdio.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  assertEquals(JSON.parse(value!), {
    mode: "e30=",
    // AU-2: the channel secret travels on the start line (a pipe), never argv.
    env: {
      HYPERACTOR_PROCESS_NAME: "p @ h",
      HYPERMESH_CHANNEL_SECRET: channelSecrets()![0].toEnv(),
    },
  }, "LN-7: the start line carries the cold launch's variables");
  await launcher.kill("unix:@w,p0");
  assertEquals((await result.exit).kind, { kind: "Signaled", signal: 9, coreDumped: false });
  await reader.cancel();
  await stdio.stderr.cancel();
  assertEquals(launcher.size, 0, "LN-4: the adopted child left the table");
});

Deno.test("LN-20, LN-22: a dead warm child is never adopted; dispose kills unadopted ones", async () => {
  await using launcher = new NativeProcLauncher();
  const dead = await launcher.prespawn({ command: SH_WAITER, wantStdio: false });
  Deno.kill(dead.pid, "SIGKILL");
  assertEquals((await dead.exit).kind, { kind: "Signaled", signal: 9, coreDumped: false });
  assertEquals(dead.state, "exited");
  await assertRejects(
    () =>
      launcher.launch("unix:@w,d0", {
        ...launchOptions(SH_WAITER, { wantStdio: false }),
        warm: dead,
      }),
    ProcLauncherError,
    "exited",
  );
  const idle = await launcher.prespawn({ command: SH_WAITER, wantStdio: true });
  await launcher[Symbol.asyncDispose]();
  assertEquals((await idle.exit).kind, { kind: "Signaled", signal: 9, coreDumped: false }, "LN-22");
  assert(!(await isAlive(idle.pid)));
  await assertRejects(
    () => launcher.prespawn({ command: SH_WAITER, wantStdio: false }),
    ProcLauncherError,
    "disposed",
  );
});

Deno.test("LN-7: a warm child does not inherit this process's bootstrap mode (a host's own)", async () => {
  const saved = Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_MODE");
  Deno.env.set("HYPERACTOR_MESH_BOOTSTRAP_MODE", "host-mode-payload");
  await using launcher = new NativeProcLauncher();
  let warm;
  try {
    warm = await launcher.prespawn({
      command: BootstrapCommand.fromPath("sh", [
        "-c",
        'read -r _; echo "${HYPERACTOR_MESH_BOOTSTRAP_MODE-unset} $HYPERMESH_BOOTSTRAP_WARM $KEEP"',
      ]).withEnv({ KEEP: "kept" }),
      wantStdio: true,
    });
  } finally {
    if (saved === undefined) Deno.env.delete("HYPERACTOR_MESH_BOOTSTRAP_MODE");
    else Deno.env.set("HYPERACTOR_MESH_BOOTSTRAP_MODE", saved);
  }
  const result = await launcher.launch(
    "unix:@w,env0",
    { ...launchOptions(warm.command), warm },
  );
  const stdio = result.stdio;
  if (stdio.kind !== "Captured") throw new Error("wantStdio must capture stdout/stderr");
  const [out] = await Promise.all([
    new Response(stdio.stdout).text(),
    stdio.stderr.cancel(),
    result.exit,
  ]);
  assertEquals(out, "unset 1 kept\n");
});

Deno.test("BS-35: warm children that die right after spawning disable the pool with one warning", async () => {
  const warnings: string[] = [];
  let disabled!: () => void;
  const warned = new Promise<void>((resolve) => (disabled = resolve));
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.join(" "));
    disabled();
  };
  try {
    // `true` exits at once: every warm child dies within a second of its spawn.
    await using pool = new WarmPool({
      size: 2,
      command: BootstrapCommand.fromPath("true"),
      wantStdio: false,
      refillDelayMs: 0,
      maxQuickDeaths: 3,
    });
    await warned;
    assert(pool.disabled !== undefined, "BS-35: the pool disabled itself");
    assertEquals(pool.pids, [], "BS-35: nothing warm is kept");
    await pool[Symbol.asyncDispose]();
    assertEquals(warnings.length, 1, `BS-35: one warning: ${warnings.join(" | ")}`);
  } finally {
    console.warn = warn;
  }
});

Deno.test("BS-41: the default size follows the machine: cores, available memory, a cap", () => {
  const GiB = 2 ** 30;
  assertEquals(autoWarmPoolSize({ cores: 2, availableBytes: 20 * GiB }), AUTO_WARM_POOL_MAX);
  assertEquals(autoWarmPoolSize({ cores: 64, availableBytes: 200 * GiB }), AUTO_WARM_POOL_MAX);
  assertEquals(autoWarmPoolSize({ cores: 1, availableBytes: 20 * GiB }), 2, "two per core");
  assertEquals(autoWarmPoolSize({ cores: 8, availableBytes: 1 * GiB }), 2, "512 MiB each");
  assertEquals(autoWarmPoolSize({ cores: 8, availableBytes: 0.4 * GiB }), 0, "none when small");
  assertEquals(autoWarmPoolSize({ cores: 2, availableBytes: undefined }), 4, "unknown memory");
});

Deno.test("BS-41: a manager with default settings keeps an automatic warm pool; 0 turns it off", async () => {
  const command = bootstrapCommand();
  let manager: BootstrapProcManager;
  {
    using _default = config.override(attrs.PREWARM_PROCS, attrs.PREWARM_PROCS.default);
    manager = new BootstrapProcManager(command);
  }
  try {
    assertEquals(manager.warmPool?.size, autoWarmPoolSize());
    await manager.warmPool!.waitFor((p) => p.length === autoWarmPoolSize());
  } finally {
    await manager[Symbol.asyncDispose]();
  }
  using _off = config.override(attrs.PREWARM_PROCS, 0);
  await using off = new BootstrapProcManager(command);
  assertEquals(off.warmPool, undefined);
});

Deno.test("BS-44: a refill starts one warm child per stagger interval, never a burst", async () => {
  const staggerMs = 300;
  await using pool = new WarmPool({
    size: 3,
    command: BootstrapCommand.fromPath("cat"), // waits on stdin like a warm child
    wantStdio: false,
    refillDelayMs: 0,
    refillStaggerMs: staggerMs,
  });
  const first = (await pool.waitFor((pids) => pids.length === 3))!;
  // Past the quick-death window (BS-35), so the deaths below are replaced, not fatal.
  await new Promise((r) => setTimeout(r, 1_100));
  const seen = new Map<number, number>(); // new pid → when it appeared
  for (const pid of first) Deno.kill(pid, "SIGKILL");
  await pool.waitFor((pids) => {
    for (const pid of pids) if (!first.includes(pid) && !seen.has(pid)) seen.set(pid, Date.now());
    return seen.size === 3;
  });
  const times = [...seen.values()].sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) {
    // A lower bound only: load can stretch the gap, never shrink it.
    assert(
      times[i] - times[i - 1] >= staggerMs - 20,
      `BS-44: gaps ${times.map((t) => t - times[0])}`,
    );
  }
  assertEquals(pool.disabled, undefined);
});
