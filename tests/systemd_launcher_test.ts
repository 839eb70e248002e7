/**
 * Integration tests of the systemd launcher against a real `systemd --user` manager on the
 * session bus (start one with `eval "$(bash tests/support/systemd_user.sh start)"`).
 * Without a reachable manager the tests are skipped with a message, except under `CI`,
 * where they fail.
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { BootstrapCommand } from "../launcher/command.ts";
import { ProcLauncherError } from "../launcher/types.ts";
import type { LaunchOptions, ProcExitResult } from "../launcher/types.ts";
import { SystemdProcLauncher, SystemdUnavailableError, unitName } from "../launcher/systemd.ts";
import { systemdSuite } from "./_systemd_support.ts";

const FIXTURE = new URL("./fixtures/systemd_child.ts", import.meta.url).pathname;

const managerTest = await systemdSuite("systemd launcher tests");

function denoChild(mode: string, args: string[] = [], allow: string[] = []): BootstrapCommand {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const key of ["HOME", "DENO_DIR", "PATH"]) {
    const v = Deno.env.get(key);
    if (v !== undefined) env[key] = v;
  }
  return new BootstrapCommand({
    program: Deno.execPath(),
    args: ["run", "--no-config", "--quiet", ...allow, FIXTURE, mode, ...args],
    env,
  });
}

function options(command: BootstrapCommand, extra: Partial<LaunchOptions> = {}): LaunchOptions {
  return {
    bootstrapPayload: "cGF5bG9hZA==",
    processName: "test @ localhost",
    command,
    wantStdio: false,
    tailLines: 0,
    ...extra,
  };
}

let seq = 0;
function procId(label: string): string {
  return `unix:@systemd-test-${Deno.pid},${label}-${seq++}`;
}

async function leftovers(launcherIds: string[]): Promise<string[]> {
  const cmd = new Deno.Command("systemctl", {
    args: ["--user", "list-units", "--all", "--plain", "--no-legend", "hypermesh-*"],
    stdout: "piped",
    stderr: "null",
  });
  const { stdout } = await cmd.output();
  const listed = new TextDecoder().decode(stdout).split("\n").map((l) => l.trim().split(/\s+/)[0]);
  const ours = new Set(launcherIds.map(unitName));
  return listed.filter((u) => ours.has(u));
}

async function waitForFile(path: string, exit: Promise<ProcExitResult>): Promise<void> {
  let ended = false;
  exit.then(() => ended = true);
  for (let i = 0; i < 300; i++) {
    try {
      if ((await Deno.readTextFile(path)) === "ready") return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (ended) {
      throw new Error(`Cannot wait for ${path}: the unit exited (${JSON.stringify(await exit)})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Cannot wait for ${path}: not ready after 6 s`);
}

Deno.test("LN-S1: connect() fails with NoSessionBus when the bus address points nowhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const error = await assertRejects(
      () => SystemdProcLauncher.connect({ busAddress: `unix:path=${dir}/no-bus` }),
      SystemdUnavailableError,
    );
    assertEquals(error.variant, "NoSessionBus", "LN-S1: an unreachable bus is NoSessionBus");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "LN-S1: connect() fails with NoUserManager on a bus without systemd",
  ignore: !(await hasDbusDaemon()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const daemon = new Deno.Command("dbus-daemon", {
      args: ["--session", "--nofork", "--print-address=1", `--address=unix:path=${dir}/bus`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const { value } = await reader.read();
      const address = String(value).trim().split("\n")[0];
      const error = await assertRejects(
        () => SystemdProcLauncher.connect({ busAddress: address }),
        SystemdUnavailableError,
      );
      assertEquals(
        error.variant,
        "NoUserManager",
        "LN-S1: a bus without the manager is NoUserManager",
      );
    } finally {
      daemon.kill("SIGTERM");
      await reader.cancel();
      await daemon.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function hasDbusDaemon(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("dbus-daemon", {
      args: ["--version"],
      stdout: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

managerTest("LN-S2: exits 0 and 3 map to Exited; LN-S3: no unit is left", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const ids = [procId("exit0"), procId("exit3")];
  const r0 = await launcher.launch(ids[0], options(denoChild("exit", ["0"])));
  const r3 = await launcher.launch(ids[1], options(denoChild("exit", ["3"])));
  assertEquals(r0.pid, undefined);
  assertEquals(r0.stdio, { kind: "ManagedByLauncher" });
  assertEquals((await r0.exit).kind, { kind: "Exited", code: 0 }, "LN-S2: exit 0");
  assertEquals((await r3.exit).kind, { kind: "Exited", code: 3 }, "LN-S2: exit 3");
  assertEquals(await leftovers(ids), [], "LN-S3: units are gone once exit resolved");
});

managerTest("LN-S2: the unit receives the launch environment", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/env.json`;
    const command = denoChild("env", [out], ["--allow-env", `--allow-write=${out}`]).withEnv({
      HYPERMESH_TEST_VALUE: "a b=c 'q' $HOME",
    });
    const { exit } = await launcher.launch(
      procId("env"),
      options(command, { logChannel: "unix:@log", processName: "p @ h" }),
    );
    assertEquals((await exit).kind, { kind: "Exited", code: 0 });
    const env = JSON.parse(await Deno.readTextFile(out));
    assertEquals(env.HYPERMESH_TEST_VALUE, "a b=c 'q' $HOME", "values are passed verbatim");
    assertEquals(env.HYPERACTOR_MESH_BOOTSTRAP_MODE, "cGF5bG9hZA==");
    assertEquals(env.HYPERACTOR_PROCESS_NAME, "p @ h");
    assertEquals(env.BOOTSTRAP_LOG_CHANNEL, "unix:@log");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

managerTest("LN-S4: terminate() stops a running unit politely (SIGTERM)", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const dir = await Deno.makeTempDir();
  try {
    const ready = `${dir}/ready`;
    const id = procId("sleep");
    const { exit } = await launcher.launch(
      id,
      options(denoChild("sleep", [ready], [`--allow-write=${ready}`])),
    );
    await waitForFile(ready, exit);
    await launcher.terminate(id, { graceMs: 5_000 });
    assertEquals(
      (await exit).kind,
      { kind: "Signaled", signal: 15, coreDumped: false },
      "LN-S4: SIGTERM first",
    );
    assertEquals(await leftovers([id]), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

managerTest("LN-S4: terminate() SIGKILLs a unit ignoring SIGTERM after graceMs", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const dir = await Deno.makeTempDir();
  try {
    const ready = `${dir}/ready`;
    const id = procId("ignore");
    const { exit } = await launcher.launch(
      id,
      options(denoChild("ignore-sigterm", [ready], [`--allow-write=${ready}`])),
    );
    await waitForFile(ready, exit);
    await launcher.terminate(id, { graceMs: 300 });
    assertEquals(
      (await exit).kind,
      { kind: "Signaled", signal: 9, coreDumped: false },
      "LN-S4: forced",
    );
    assertEquals(await leftovers([id]), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

managerTest("LN-S2: kill() maps to Signaled{9}", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const id = procId("kill");
  const { exit } = await launcher.launch(
    id,
    options(new BootstrapCommand({ program: "/bin/sleep", args: ["60"] })),
  );
  await launcher.kill(id);
  assertEquals((await exit).kind, { kind: "Signaled", signal: 9, coreDumped: false });
  await launcher.kill("never-launched"); // unknown ids are success
  await launcher.terminate("never-launched", { graceMs: 10 });
});

managerTest("LN-S2: a crash by SIGABRT maps to Signaled{6}", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const { exit } = await launcher.launch(procId("abort"), options(denoChild("abort")));
  const { kind } = await exit;
  assert(kind.kind === "Signaled" && kind.signal === 6, `LN-S2: got ${JSON.stringify(kind)}`);
});

managerTest("LN-S2: launch() rejects with ProcLauncherError when exec fails", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const id = procId("noexec");
  const error = await assertRejects(
    () =>
      launcher.launch(
        id,
        options(new BootstrapCommand({ program: "/nonexistent/hypermesh-program" })),
      ),
    ProcLauncherError,
  );
  assertEquals(error.variant, "Launch");
  assertEquals(await leftovers([id]), [], "LN-S3: the failed unit is reset");
});

managerTest("LN-S3: 100 launch/stop cycles leave no units", async () => {
  await using launcher = await SystemdProcLauncher.connect();
  const ids: string[] = [];
  const cycle = async (lane: number) => {
    for (let i = 0; i < 25; i++) {
      const id = `unix:@systemd-cycles-${Deno.pid},lane${lane}`; // same name reused every cycle
      if (i === 0) ids.push(id);
      const { exit } = await launcher.launch(
        id,
        options(new BootstrapCommand({ program: "/bin/sleep", args: ["60"] })),
      );
      await launcher.terminate(id, { graceMs: 2_000 });
      const { kind } = await exit;
      assertEquals(kind, { kind: "Signaled", signal: 15, coreDumped: false }, `cycle ${lane}/${i}`);
    }
  };
  await Promise.all([0, 1, 2, 3].map(cycle));
  assertEquals(await leftovers(ids), [], "LN-S3: no unit left after 100 cycles");
});

managerTest("LN-S5: disposal stops units still running", async () => {
  const id = procId("dispose");
  let exit: Promise<ProcExitResult>;
  {
    await using launcher = await SystemdProcLauncher.connect();
    ({ exit } = await launcher.launch(
      id,
      options(new BootstrapCommand({ program: "/bin/sleep", args: ["60"] })),
    ));
  }
  const { kind } = await exit;
  assertInstanceOf(kind, Object);
  assertEquals(kind.kind, "Signaled", `LN-S5: got ${JSON.stringify(kind)}`);
  assertEquals(await leftovers([id]), [], "LN-S5: the unit is gone");
});

/** `systemctl --user show -p ActiveState,SubState <unit>` as `active/exited`, or "" when unknown. */
async function unitState(unit: string): Promise<string> {
  const { stdout } = await new Deno.Command("systemctl", {
    args: ["--user", "show", "-p", "ActiveState", "-p", "SubState", "-p", "LoadState", unit],
    stdout: "piped",
    stderr: "null",
  }).output();
  const props = Object.fromEntries(
    new TextDecoder().decode(stdout).trim().split("\n").map((l) => l.split("=", 2)),
  );
  return props.LoadState === "not-found" ? "" : `${props.ActiveState}/${props.SubState}`;
}

/** Starts a `RemainAfterExit` unit that names `host` as its host and runs `/bin/true`. */
async function leftoverUnit(unit: string, host: number): Promise<void> {
  const out = await new Deno.Command("systemd-run", {
    args: [
      "--user",
      "--quiet",
      `--unit=${unit}`,
      "--remain-after-exit",
      `--setenv=HYPERMESH_WATCH_PID=${host}`,
      "/bin/true",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  for (let i = 0; i < 200 && (await unitState(unit)) !== "active/exited"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assertEquals(await unitState(unit), "active/exited");
}

async function stopUnit(unit: string): Promise<void> {
  await new Deno.Command("systemctl", { args: ["--user", "stop", unit], stderr: "null" }).output();
  await new Deno.Command("systemctl", { args: ["--user", "reset-failed", unit], stderr: "null" })
    .output();
}

managerTest("LN-S7: connect() sweeps the units of dead hosts and no others", async () => {
  // A host that is gone: a process that ran and was reaped.
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const dead = `hypermesh-test-sweep-dead-${Deno.pid}.service`;
  const live = `hypermesh-test-sweep-live-${Deno.pid}.service`;
  const foreign = `other-test-sweep-${Deno.pid}.service`;
  try {
    await leftoverUnit(dead, gone.pid);
    await leftoverUnit(live, Deno.pid); // this process: a live host
    await leftoverUnit(foreign, gone.pid); // not a hypermesh unit
    {
      await using _launcher = await SystemdProcLauncher.connect();
    }
    assertEquals(await unitState(dead), "", "LN-S7: the dead host's unit is gone");
    assertEquals(await unitState(live), "active/exited", "LN-S7: a live host's unit stays");
    assertEquals(await unitState(foreign), "active/exited", "LN-S7: other units stay");
  } finally {
    for (const unit of [dead, live, foreign]) await stopUnit(unit);
  }
});
