/**
 * End-to-end tests of the systemd launcher under the mesh: procs of a host mesh, and
 * procs of a `BootstrapProcManager`, running as transient `systemd --user` units (start a
 * manager with `eval "$(bash tests/support/systemd_user.sh start)"`). Without a reachable
 * manager the tests are skipped with a message, except under `CI`, where they fail.
 *
 * A unit starts in the user manager's environment, not ours: every command here uses
 * absolute paths and explicit Deno permission flags, and the bootstrap payload travels in
 * the unit's `Environment`.
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { Proc } from "../actor/proc.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { SystemdProcLauncher, unitName } from "../launcher/systemd.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS, workerCommand } from "../cli/worker.ts";
import { systemdSuite } from "./_systemd_support.ts";
import {
  CHILD_FLAGS,
  type ManagerRig,
  readFirstLine,
  ROOT,
  statusKinds,
  withManager,
} from "./_support.ts";

const ENTRY = `${ROOT}bootstrap.ts`;

const managerTest = await systemdSuite("systemd mesh tests");

/** `systemctl --user show` of a unit: `ActiveState`, `SubState`, `MainPID`, `LoadState`. */
async function unitState(unit: string): Promise<Record<string, string>> {
  const { stdout, success } = await new Deno.Command("systemctl", {
    args: ["--user", "show", "-p", "ActiveState,SubState,MainPID,LoadState", unit],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert(success, `systemctl --user show ${unit} failed`);
  const out: Record<string, string> = {};
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

function running(state: Record<string, string>): boolean {
  return (state.ActiveState === "active" && state.SubState === "running") ||
    state.ActiveState === "activating" || state.ActiveState === "deactivating";
}

/**
 * The seed's check after shutdown: each unit is gone or at least not running (with
 * `RemainAfterExit` systemd may keep an `active/exited` unit around; not a leak). Polls
 * (100 × 50 ms) since a unit's state may trail the process's exit.
 */
async function assertQuiescent(units: string[]): Promise<void> {
  let busy: string[] = [];
  for (let i = 0; i < 100; i++) {
    busy = [];
    for (const unit of units) {
      const state = await unitState(unit);
      if (running(state)) busy.push(`${unit} ${state.ActiveState}/${state.SubState}`);
    }
    if (busy.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`units still running after shutdown: ${busy.join(", ")}`);
}

/** Units of `procIds` still listed by the manager (any state). */
async function leftovers(procIds: string[]): Promise<string[]> {
  const { stdout } = await new Deno.Command("systemctl", {
    args: ["--user", "list-units", "--all", "--plain", "--no-legend", "hypermesh-*"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const listed = new TextDecoder().decode(stdout).split("\n").map((l) => l.trim().split(/\s+/)[0]);
  const ours = new Set(procIds.map(unitName));
  return listed.filter((u) => ours.has(u));
}

managerTest(
  "bootstrap_canonical_simple_systemd_launcher: host mesh → proc mesh → actor mesh → reply → shutdown → units gone or not running",
  async () => {
    using _kind = config.override(attrs.MESH_PROC_LAUNCHER_KIND, "systemd");
    // As the seed: an absurd flush timeout proves teardown never waits for it.
    using _flush = config.override(attrs.FORWARDER_FLUSH_TIMEOUT, 600_000);
    const cx = await context();
    let mesh: HostMesh | undefined;
    try {
      mesh = await HostMesh.process(Extent.of({ hosts: 1 }), workerCommand());
      const procs = await mesh.spawn(cx, "p0", Extent.unity());
      const actors = await procs.spawn(cx, "a0", GREETER_TYPE);
      const { ref, receiver } = cx.openPort<Greeting>();
      actors.cast(cx, "Greet", { text: "hi", reply: ref });
      const got = await receiver.recv({ timeoutMs: 10_000 });
      receiver.close();
      const procId = procs.ranks()[0].procId.toString();
      assertEquals(got.actor, `${procId},a0[0]`, "the reply comes from the mesh's one actor");
      const unit = unitName(procId);
      const before = await unitState(unit);
      assertEquals(
        before.MainPID,
        String(got.pid),
        `the proc runs as the main process of ${unit} (${JSON.stringify(before)})`,
      );
      const report = await mesh.shutdown(cx);
      mesh = undefined;
      assertEquals(report.failed, [], "host shutdown");
      assertEquals(report.killed, 0, "the host process exited by itself");
      await assertQuiescent([unit]);
    } finally {
      if (mesh !== undefined) await mesh.shutdown(cx);
      await shutdownContext();
    }
  },
);

managerTest("LN-S6: a unit gets this process's DENO_DIR (not set by the command)", async () => {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const denoDir: string = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
  const saved = Deno.env.get("DENO_DIR");
  Deno.env.set("DENO_DIR", denoDir); // the cache in use anyway: harmless for other tests
  const dir = await Deno.makeTempDir();
  try {
    await using launcher = await SystemdProcLauncher.connect();
    const out = `${dir}/env.json`;
    const command = BootstrapCommand.fromPath(Deno.execPath(), [
      "run",
      "--no-config",
      "--allow-env",
      `--allow-write=${out}`,
      `${ROOT}tests/fixtures/systemd_child.ts`,
      "env",
      out,
    ]);
    const id = `unix:@systemd-mesh-${Deno.pid},env`;
    const { exit } = await launcher.launch(id, {
      bootstrapPayload: "e30=",
      processName: "env @ localhost",
      command,
      wantStdio: false,
      tailLines: 0,
    });
    assertEquals((await exit).kind, { kind: "Exited", code: 0 });
    const env = JSON.parse(await Deno.readTextFile(out));
    assertEquals(env.DENO_DIR, denoDir, "LN-S6: DENO_DIR passed through");
    assertEquals(env.HYPERACTOR_MESH_PARENT_PID, undefined, "no parent pid in a unit");
  } finally {
    if (saved === undefined) Deno.env.delete("DENO_DIR");
    else Deno.env.set("DENO_DIR", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

/** A manager whose launcher is the systemd one; afterwards (units stopped) no unit is left. */
async function withSystemdManager(fn: (rig: ManagerRig) => Promise<void>): Promise<void> {
  let ids: string[] = [];
  await withManager(async (rig) => {
    ids = rig.ids;
    await fn(rig);
  }, { launcher: () => SystemdProcLauncher.connect() });
  assertEquals(await leftovers(ids), [], "LN-S3: no unit is left once the manager is disposed");
}

function fixtureCommand(name: string, args: string[] = []): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    `${ROOT}tests/fixtures/${name}`,
    ...args,
  ]);
}

managerTest(
  "BS: graceful terminate through the manager (systemd) → Stopped(0); Running→Ready→Stopped; no pid",
  async () => {
    await withSystemdManager(async ({ cx, spawn, ready }) => {
      const handle = await spawn("sd-graceful-0");
      const kinds = statusKinds(handle);
      assertEquals(handle.pid, undefined, "a systemd proc exposes no pid");
      await ready(handle);
      const state = await unitState(unitName(handle.procId.toString()));
      assertEquals(`${state.ActiveState}/${state.SubState}`, "active/running");
      const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test terminate" });
      assertEquals(status, { kind: "Stopped", exitCode: 0, stderrTail: [] });
      assertEquals(await kinds, ["Running", "Ready", "Stopped"]);
    });
  },
);

managerTest("BS: kill() through the manager (systemd) → Killed(9)", async () => {
  await withSystemdManager(async ({ spawn, ready }) => {
    const handle = await spawn("sd-kill-0");
    await ready(handle);
    assertEquals(await handle.kill(), { kind: "Killed", signal: 9, coreDumped: false });
    assertEquals(await handle.wait(), { kind: "Killed", signal: 9, coreDumped: false });
  });
});

managerTest(
  "BS: a crashing proc (systemd) maps to Stopped(1) (uncaught error) and Killed(6) (SIGABRT)",
  async () => {
    await withSystemdManager(async ({ spawn }) => {
      const thrown = await spawn("sd-crash-0", {
        bootstrapCommand: fixtureCommand("bootstrap_crash.ts", ["throw"]),
      });
      // stdio belongs to systemd (ManagedByLauncher): no stderr tail.
      assertEquals(await thrown.wait(), { kind: "Stopped", exitCode: 1, stderrTail: [] });
      const aborted = await spawn("sd-crash-1", {
        bootstrapCommand: fixtureCommand("bootstrap_crash.ts", ["abort"]),
      });
      const st = await aborted.wait();
      assert(st.kind === "Killed" && st.signal === 6, `got ${JSON.stringify(st)}`);
    });
  },
);

// 100 cycles of full bootstrap procs take ~16 s on 2 cores (CPU-bound Deno cold starts),
// so every 5th cycle is a full one (spawn → Ready → StopAll → Stopped(0)) and the others
// launch `/bin/sleep` through the same manager and launcher (spawn → Running → SIGTERM).
managerTest(
  "LN-S3, BS-11: 100 spawn/stop cycles through the manager (systemd) leave no unit, socket or status",
  async () => {
    await withSystemdManager(async ({ cx, manager, spawn, ready, ids }) => {
      const cycles = 100;
      const lanes = 4;
      const sleeper = BootstrapCommand.fromPath("/bin/sleep", ["60"]);
      await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < cycles; i += lanes) {
          const full = i % 5 === 0;
          const handle = await spawn(`sd-cycle-${i}`, full ? {} : { bootstrapCommand: sleeper });
          if (full) await ready(handle);
          await manager.terminateProc(cx, handle.procId, { graceMs: 2_000, reason: "cycle" });
          const st = await handle.wait();
          assertEquals(
            st,
            full
              ? { kind: "Stopped", exitCode: 0, stderrTail: [] }
              : { kind: "Killed", signal: 15, coreDumped: false },
            `cycle ${i}`,
          );
          if (full) (Proc.of(cx).forwarder as DialMailboxRouter).unbind(handle.procId);
        }
      }));
      assertEquals(ids.length, cycles);
      assertEquals(await leftovers(ids), [], "LN-S3: no unit left after the cycles");
      assertEquals([...Deno.readDirSync(manager.socketDir)], [], "BS-11: no socket left");
      assertEquals(manager.status(new ProcId(ChannelAddr.any("unix"), "sd-cycle-0")), undefined);
    });
  },
);

managerTest(
  "demo --launcher systemd (1 host × 2 procs) exits 0 with every reply and leaves no unit running",
  async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...WORKER_PERMISSIONS,
        ENTRY,
        "demo",
        "--hosts",
        "1",
        "--procs",
        "2",
        "--launcher",
        "systemd",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assertEquals(code, 0, `demo failed:\n${out}\n${err}`);
    assertStringIncludes(out, "call to 2 actors answered");
    assertStringIncludes(out, "failed 0, killed 0");
    const procIds = [...out.matchAll(/rank \d+: .* @ (\S+),greeter\[0\] \(pid \d+\)/g)]
      .map((m) => m[1]);
    assertEquals(procIds.length, 2, `two replies in:\n${out}`);
    await assertQuiescent(procIds.map(unitName));
    assertEquals(await leftovers(procIds), [], "LN-S3: the demo's units are gone");
  },
);

managerTest(
  "BS-36: a systemd proc dies with its SIGKILLed host (the unit watches HYPERMESH_WATCH_PID); LN-S7: its unit is swept",
  async () => {
    const host = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...CHILD_FLAGS,
        "--allow-run",
        `${ROOT}tests/fixtures/systemd_host_parent.ts`,
        ENTRY,
        `${ROOT}deno.json`,
      ],
      env: { HYPERACTOR_MESH_PROC_LAUNCHER_KIND: "systemd" },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = host.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let unit: string | undefined;
    let socketDir: string | undefined;
    try {
      const report = JSON.parse(await readFirstLine(lines));
      unit = report.unit as string;
      socketDir = report.socketDir as string;
      assertEquals(report.status, "Ready", "the host saw its proc Ready");
      assert(running(await unitState(unit)), `${unit} runs before the host dies`);
      host.kill("SIGKILL");
      assertEquals((await host.status).signal, "SIGKILL");
      // Detection takes one 250 ms poll; allow ~3 s for the unit to stop.
      let state = await unitState(unit);
      for (let i = 0; i < 60 && running(state); i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = await unitState(unit);
      }
      assert(!running(state), `BS-36: ${unit} still ${state.ActiveState}/${state.SubState}`);
      // LN-S7: nobody is left to reset the unit; the next launcher to connect sweeps it.
      {
        await using _next = await SystemdProcLauncher.connect();
      }
      assertEquals((await unitState(unit)).LoadState, "not-found", "LN-S7: the unit was swept");
    } finally {
      await lines.cancel();
      try {
        host.kill("SIGKILL");
      } catch {
        // already dead
      }
      await host.status;
      if (unit !== undefined) {
        // Whatever the assertions above saw, leave no unit behind.
        await new Deno.Command("systemctl", { args: ["--user", "stop", unit] }).output();
        await new Deno.Command("systemctl", { args: ["--user", "reset-failed", unit] }).output();
      }
      if (socketDir !== undefined) await Deno.remove(socketDir, { recursive: true });
    }
  },
);
