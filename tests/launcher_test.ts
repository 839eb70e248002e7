/**
 * Integration tests of launcher/: real processes, real signals.
 * Fixtures: tests/fixtures/launcher_*.ts.
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import {
  BOOTSTRAP_MODE_ENV,
  BootstrapCommand,
  type LaunchOptions,
  LOG_CHANNEL_ENV,
  NativeProcLauncher,
  ProcBind,
  PROCESS_NAME_ENV,
  type ProcExitKind,
  ProcLauncherError,
  type StdioHandling,
  stopChild,
} from "../launcher/mod.ts";

const permissions: Deno.PermissionOptions = { run: true, read: true, env: true, sys: true };
const decoder = new TextDecoder();

function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

function denoFixture(name: string, args: string[] = []): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    "--allow-run",
    "--allow-read",
    fixture(name),
    ...args,
  ]);
}

function launchOptions(
  command: BootstrapCommand,
  extra: Partial<LaunchOptions> = {},
): LaunchOptions {
  return {
    bootstrapPayload: "eyJQcm9jIjp7fX0=",
    processName: "worker @ testhost",
    command,
    wantStdio: false,
    tailLines: 0,
    ...extra,
  };
}

/** Collects a stream's text until EOF; `until()` waits for a substring. */
class Output {
  text = "";
  readonly done: Promise<string>;
  #waiters: (() => void)[] = [];
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }
  async #pump(stream: ReadableStream<Uint8Array>): Promise<string> {
    const td = new TextDecoder();
    for await (const chunk of stream) {
      this.text += td.decode(chunk, { stream: true });
      this.#waiters.splice(0).forEach((w) => w());
    }
    this.#waiters.splice(0).forEach((w) => w());
    return this.text;
  }
  async until(needle: string): Promise<string> {
    let eof = false;
    this.done.then(() => (eof = true));
    while (!this.text.includes(needle)) {
      if (eof) throw new Error(`EOF before ${JSON.stringify(needle)}; output: ${this.text}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      await Promise.resolve();
    }
    return this.text;
  }
}

function captured(stdio: StdioHandling): { stdout: Output; stderr: Output } {
  assertEquals(stdio.kind, "Captured");
  if (stdio.kind !== "Captured") throw new Error("unreachable");
  return { stdout: new Output(stdio.stdout), stderr: new Output(stdio.stderr) };
}

/** States of this process's live (non-zombie) children, excluding the probe itself. */
async function liveChildren(): Promise<string[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,stat=,comm=", "--ppid", String(Deno.pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return decoder.decode(out.stdout).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !/\sps$/.test(l) && !/^\d+\s+Z/.test(l));
}

/** Whether `pid` still runs (a zombie counts as dead: PID 1 reaps lazily). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = decoder.decode(out.stdout).trim();
  return out.success && stat !== "" && !stat.startsWith("Z");
}

async function eventuallyDead(pid: number, what: string): Promise<void> {
  for (let i = 0; i < 100 && await alive(pid); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert(!(await alive(pid)), `${what}: pid ${pid} is still running`);
}

async function assertNoStrays(): Promise<void> {
  assertEquals(await liveChildren(), [], "stray child processes after the test");
}

/** A launcher for one test; the body runs, then dispose, then the stray check. */
async function withLauncher(body: (l: NativeProcLauncher) => Promise<void>): Promise<void> {
  const launcher = new NativeProcLauncher();
  try {
    await body(launcher);
  } finally {
    await launcher[Symbol.asyncDispose]();
  }
  assertEquals(launcher.size, 0);
  await assertNoStrays();
}

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, permissions, fn });
}

const SIGTERM = 15;
const SIGKILL = 9;
const SIGABRT = 6;

test("LN-4: an exit code maps to Exited and stdio is Inherited without wantStdio", () =>
  withLauncher(async (launcher) => {
    const result = await launcher.launch(
      "unix:@t,exit3",
      launchOptions(denoFixture("launcher_exit3.ts")),
    );
    assertEquals(result.stdio.kind, "Inherited");
    assert(typeof result.pid === "number" && result.pid > 0);
    assert(result.startedAt <= Date.now());
    const exit = await result.exit;
    assertEquals(exit.kind, { kind: "Exited", code: 3 } satisfies ProcExitKind);
    assertEquals(exit.stderrTail, undefined);
    assertEquals(
      launcher.pidOf("unix:@t,exit3"),
      undefined,
      "LN-4: the table entry is gone on exit",
    );
  }));

test("LN-4: a crash by SIGABRT maps to Signaled(6)", () =>
  withLauncher(async (launcher) => {
    const result = await launcher.launch(
      "unix:@t,crash",
      launchOptions(denoFixture("launcher_crash_abort.ts")),
    );
    assertEquals((await result.exit).kind, {
      kind: "Signaled",
      signal: SIGABRT,
      coreDumped: false,
    });
  }));

test("LN-1: terminate() of a cooperative child lets it exit 0", () =>
  withLauncher(async (launcher) => {
    const id = "unix:@t,graceful";
    const cmd = denoFixture("launcher_ready_hang.ts", ["--graceful"]);
    const result = await launcher.launch(id, launchOptions(cmd, { wantStdio: true }));
    const { stdout, stderr } = captured(result.stdio);
    await stdout.until("ready");
    await launcher.terminate(id, { graceMs: 2_000 });
    assertEquals((await result.exit).kind, { kind: "Exited", code: 0 }, "LN-1: SIGTERM came first");
    await Promise.all([stdout.done, stderr.done]);
  }));

test("LN-1: terminate() of a child with default SIGTERM handling → Signaled(15)", () =>
  withLauncher(async (launcher) => {
    const id = "unix:@t,default";
    const result = await launcher.launch(
      id,
      launchOptions(denoFixture("launcher_ready_hang.ts"), { wantStdio: true }),
    );
    const { stdout, stderr } = captured(result.stdio);
    await stdout.until("ready");
    await launcher.terminate(id, { graceMs: 2_000 });
    assertEquals((await result.exit).kind, {
      kind: "Signaled",
      signal: SIGTERM,
      coreDumped: false,
    });
    await Promise.all([stdout.done, stderr.done]);
  }));

test("LN-2: terminate() SIGKILLs a child that ignores SIGTERM after the grace", () =>
  withLauncher(async (launcher) => {
    const id = "unix:@t,stubborn";
    const cmd = denoFixture("launcher_ignore_sigterm.ts");
    const result = await launcher.launch(id, launchOptions(cmd, { wantStdio: true }));
    const { stdout, stderr } = captured(result.stdio);
    await stdout.until("ready");
    await launcher.terminate(id, { graceMs: 300 });
    assertEquals(
      (await result.exit).kind,
      { kind: "Signaled", signal: SIGKILL, coreDumped: false },
      "LN-2: a child ignoring SIGTERM must be forced",
    );
    await Promise.all([stdout.done, stderr.done]);
  }));

test("kill() SIGKILLs at once → Signaled(9)", () =>
  withLauncher(async (launcher) => {
    const id = "unix:@t,kill";
    const result = await launcher.launch(
      id,
      launchOptions(denoFixture("launcher_ignore_sigterm.ts")),
    );
    await launcher.kill(id);
    assertEquals((await result.exit).kind, {
      kind: "Signaled",
      signal: SIGKILL,
      coreDumped: false,
    });
  }));

test("LN-8: terminate() and kill() of unknown or exited ids succeed", () =>
  withLauncher(async (launcher) => {
    await launcher.terminate("unix:@t,nobody", { graceMs: 100 });
    await launcher.kill("unix:@t,nobody");
    const id = "unix:@t,gone";
    const result = await launcher.launch(id, launchOptions(BootstrapCommand.fromPath("true")));
    await result.exit;
    await launcher.terminate(id, { graceMs: 100 });
    await launcher.kill(id);
  }));

test("LN-3: terminate() signals the whole process group, grandchildren included", () =>
  withLauncher(async (launcher) => {
    const id = "unix:@t,family";
    const cmd = denoFixture("launcher_grandchild.ts");
    const result = await launcher.launch(id, launchOptions(cmd, { wantStdio: true }));
    const { stdout, stderr } = captured(result.stdio);
    const text = await stdout.until("\n");
    const grandchild = Number(/ready (\d+)/.exec(text)?.[1]);
    assert(grandchild > 0, text);
    await launcher.terminate(id, { graceMs: 2_000 });
    assertEquals((await result.exit).kind, {
      kind: "Signaled",
      signal: SIGTERM,
      coreDumped: false,
    });
    await eventuallyDead(grandchild, "LN-3: the grandchild shares the group");
    await Promise.all([stdout.done, stderr.done]);
  }));

test("LN-7: the child receives payload, process name, log channel and command env", () =>
  withLauncher(async (launcher) => {
    const command = denoFixture("launcher_print_env.ts").withEnv({
      LAUNCHER_TEST_EXTRA: "extra",
      [PROCESS_NAME_ENV]: "overridden by the launcher",
    });
    const opts = launchOptions(command, { wantStdio: true, logChannel: "unix:@log-chan" });
    const result = await launcher.launch("unix:@t,env", opts);
    const { stdout, stderr } = captured(result.stdio);
    const [out] = await Promise.all([stdout.done, stderr.done]);
    assertEquals((await result.exit).kind, { kind: "Exited", code: 0 });
    assertEquals(JSON.parse(out), {
      [BOOTSTRAP_MODE_ENV]: opts.bootstrapPayload,
      [PROCESS_NAME_ENV]: "worker @ testhost",
      [LOG_CHANNEL_ENV]: "unix:@log-chan",
      LAUNCHER_TEST_EXTRA: "extra",
    });
  }));

test("LN-7: without a log channel BOOTSTRAP_LOG_CHANNEL is not set", () =>
  withLauncher(async (launcher) => {
    const result = await launcher.launch(
      "unix:@t,env2",
      launchOptions(denoFixture("launcher_print_env.ts"), { wantStdio: true }),
    );
    const { stdout, stderr } = captured(result.stdio);
    const [out] = await Promise.all([stdout.done, stderr.done]);
    await result.exit;
    assertEquals(JSON.parse(out)[LOG_CHANNEL_ENV], null);
  }));

test("procBind with cpus runs the child under taskset", async () => {
  const taskset = await new Deno.Command("sh", {
    args: ["-c", "command -v taskset"],
    stdout: "null",
  })
    .output();
  if (!taskset.success) {
    console.log("skipped: taskset is not installed");
    return;
  }
  await withLauncher(async (launcher) => {
    const command = BootstrapCommand.fromPath("sh", [
      "-c",
      "grep Cpus_allowed_list /proc/self/status",
    ]);
    const opts = launchOptions(command, { wantStdio: true, procBind: new ProcBind({ cpus: "0" }) });
    const result = await launcher.launch("unix:@t,bound", opts);
    const { stdout, stderr } = captured(result.stdio);
    const [out] = await Promise.all([stdout.done, stderr.done]);
    assertEquals((await result.exit).kind, { kind: "Exited", code: 0 });
    assertEquals(out.trim().split(/\s+/), ["Cpus_allowed_list:", "0"]);
  });
});

test("procBind with NUMA keys wraps with numactl when the probe says NUMA", async () => {
  const launcher = new NativeProcLauncher({ numaAvailable: () => true });
  await using _ = launcher;
  const numactl = await new Deno.Command("sh", {
    args: ["-c", "command -v numactl"],
    stdout: "null",
  })
    .output();
  const opts = launchOptions(BootstrapCommand.fromPath("true"), {
    procBind: new ProcBind({ membind: "0" }),
  });
  if (numactl.success) {
    const result = await launcher.launch("unix:@t,numa", opts);
    assertEquals((await result.exit).kind, { kind: "Exited", code: 0 });
  } else {
    const err = await assertRejects(() => launcher.launch("unix:@t,numa", opts), ProcLauncherError);
    assertEquals(err.variant, "Launch");
    assert(err.message.includes("numactl"), err.message);
  }
});

test("launch() rejects a missing program and a duplicate live id with Launch errors", () =>
  withLauncher(async (launcher) => {
    const missing = launchOptions(
      BootstrapCommand.fromPath("/nonexistent/hypermesh-launcher-test"),
    );
    const err = await assertRejects(
      () => launcher.launch("unix:@t,missing", missing),
      ProcLauncherError,
    );
    assertEquals([err.variant, err.procId], ["Launch", "unix:@t,missing"]);
    assertInstanceOf(err.cause, Deno.errors.NotFound);

    const id = "unix:@t,dup";
    const first = await launcher.launch(
      id,
      launchOptions(denoFixture("launcher_ignore_sigterm.ts")),
    );
    const dup = await assertRejects(
      () => launcher.launch(id, launchOptions(BootstrapCommand.fromPath("true"))),
      ProcLauncherError,
    );
    assertEquals(dup.variant, "Launch");
    await launcher.kill(id);
    await first.exit;
  }));

test("LN-5: dispose SIGKILLs every live child, awaits them and refuses new launches", async () => {
  const launcher = new NativeProcLauncher();
  const a = await launcher.launch(
    "unix:@t,a",
    launchOptions(denoFixture("launcher_ignore_sigterm.ts")),
  );
  const b = await launcher.launch(
    "unix:@t,b",
    launchOptions(BootstrapCommand.fromPath("sleep", ["30"])),
  );
  await launcher[Symbol.asyncDispose]();
  assertEquals(launcher.size, 0);
  for (const r of [a, b]) {
    assertEquals((await r.exit).kind, { kind: "Signaled", signal: SIGKILL, coreDumped: false });
  }
  const err = await assertRejects(
    () => launcher.launch("unix:@t,c", launchOptions(BootstrapCommand.fromPath("true"))),
    ProcLauncherError,
  );
  assertEquals(err.variant, "Launch");
  await launcher[Symbol.asyncDispose](); // idempotent
  await assertNoStrays();
});

test("LN-6: children still recorded at normal process exit are SIGKILLed", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--allow-run",
      "--allow-read",
      "--allow-env",
      fixture("launcher_exit_parent.ts"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  assert(out.success, decoder.decode(out.stderr));
  const orphan = Number(/ready (\d+)/.exec(text)?.[1]);
  assert(orphan > 0, text);
  await eventuallyDead(orphan, "LN-6: the unload safety net must kill it");
  await assertNoStrays();
});

test("BootstrapCommand.current() reproduces this process's run flags, script and args", async () => {
  const script = fixture("launcher_print_current.ts");
  const args = ["run", "--no-config", "--allow-read", "--allow-run", script, "x", "--y"];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  assert(out.success, decoder.decode(out.stderr));
  const cmd = BootstrapCommand.fromJSON(decoder.decode(out.stdout).trim());
  assert(cmd.equals(BootstrapCommand.fromPath(Deno.execPath(), args)), cmd.toString());
});

test("LN-2: stopChild() forces a child that ignores SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", fixture("launcher_ignore_sigterm.ts")],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = new Output(child.stdout);
  await stdout.until("ready");
  const { status, forced } = await stopChild(child, { graceMs: 300 });
  assert(forced, "LN-2: a child ignoring SIGTERM must be forced");
  assertEquals(status.signal, "SIGKILL");
  await stdout.done;
  await assertNoStrays();
});

test("LN-1: stopChild() of a cooperative child is not forced", async () => {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  const { status, forced } = await stopChild(child, { graceMs: 2_000 });
  assertEquals([status.signal, forced], ["SIGTERM", false]);
});

test("stopChild() with an aborted signal forces at once", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", fixture("launcher_ignore_sigterm.ts")],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = new Output(child.stdout);
  await stdout.until("ready");
  const controller = new AbortController();
  const stopping = stopChild(child, { graceMs: 60_000, signal: controller.signal });
  controller.abort();
  const { status, forced } = await stopping;
  assertEquals([status.signal, forced], ["SIGKILL", true]);
  await stdout.done;
});

test("stopChild() on a bare pid group-signals and polls until it is gone", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], detached: true }).spawn();
  const { status, forced } = await stopChild(child.pid, { graceMs: 2_000, processGroup: true });
  assertEquals([status, forced], [null, false]);
  assertEquals((await child.status).signal, "SIGTERM");
});
