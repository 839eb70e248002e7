import { assert, assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { attrs, config } from "../config/mod.ts";
import { ProcId } from "../actor/reference.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import {
  InvalidLauncherKindError,
  type LaunchOptions,
  type LaunchResult,
  type ProcLauncher,
  ProcLauncherError,
} from "../launcher/types.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { BootstrapProcManager } from "./manager.ts";
import { overrideOrGlobal } from "./_launch_proc.ts";

/** A launcher that launches nothing (the seed's `DummyLauncher`). */
class DummyLauncher implements ProcLauncher {
  readonly kind = "native" as const;
  disposed = false;
  constructor(readonly marker: number) {}
  launch(_procId: string, _options: LaunchOptions): Promise<LaunchResult> {
    return Promise.resolve({
      startedAt: Date.now(),
      stdio: { kind: "ManagedByLauncher" },
      exit: Promise.resolve({ kind: { kind: "Exited", code: 0 }, stderrTail: [] }),
    });
  }
  terminate(): Promise<void> {
    return Promise.resolve();
  }
  kill(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
    return Promise.resolve();
  }
}

function manager(): BootstrapProcManager {
  return new BootstrapProcManager(BootstrapCommand.fromPath("/bin/true"));
}

Deno.test("BS-8: setLauncher() then launcher() returns the same launcher", async () => {
  await using m = manager();
  const custom = new DummyLauncher(42);
  m.setLauncher(custom);
  assertStrictEquals(await m.launcher(), custom, "BS-8: launcher() must return the one set");
});

Deno.test("BS-8: launcher() first (default chosen), then setLauncher() fails", async () => {
  await using m = manager();
  await m.launcher();
  const error = assertThrows(() => m.setLauncher(new DummyLauncher(99)), ProcLauncherError);
  assert(error.message.includes("already initialized"), error.message);
});

Deno.test("BS-8: setLauncher() twice fails", async () => {
  await using m = manager();
  m.setLauncher(new DummyLauncher(1));
  const error = assertThrows(() => m.setLauncher(new DummyLauncher(2)), ProcLauncherError);
  assert(error.message.includes("already initialized"), error.message);
});

Deno.test("BS-8: a fresh manager accepts setLauncher()", async () => {
  await using m = manager();
  m.setLauncher(new DummyLauncher(123));
});

Deno.test("BS-8: launcher() is idempotent and native by default", async () => {
  await using m = manager();
  using _k = config.override(attrs.MESH_PROC_LAUNCHER_KIND, " Native ");
  const first = await m.launcher();
  assertStrictEquals(await m.launcher(), first);
  assert(first instanceof NativeProcLauncher);
});

Deno.test("BS-8: an unknown launcher kind is a clear error and chooses nothing", async () => {
  await using m = manager();
  {
    using _k = config.override(attrs.MESH_PROC_LAUNCHER_KIND, "docker");
    assertThrows(() => m.launcher(), InvalidLauncherKindError, '"docker"');
    const id = new ProcId(ChannelAddr.unix("/tmp/x"), "p-0");
    await assertRejects(
      () => m.spawn(id, ChannelAddr.unix("/tmp/b"), { createRank: 0, clientConfigOverride: {} }),
      Error,
      "docker",
    );
  }
  m.setLauncher(new DummyLauncher(7)); // still unset
});

Deno.test("BootstrapProcManager.status() of an unknown proc is undefined", async () => {
  await using m = manager();
  const unknown = new ProcId(ChannelAddr.unix("/tmp/nope"), "nope");
  assertEquals(m.status(unknown), undefined);
  assertEquals(m.watch(unknown), undefined);
});

Deno.test("BS-9: the socket dir is 0700 and removed on dispose; the launcher is disposed", async () => {
  const m = manager();
  const launcher = new DummyLauncher(0);
  m.setLauncher(launcher);
  const info = Deno.statSync(m.socketDir);
  assert(info.isDirectory);
  assertEquals((info.mode ?? 0) & 0o777, 0o700);
  await m[Symbol.asyncDispose]();
  assert(launcher.disposed);
  assertThrows(() => Deno.statSync(m.socketDir), Deno.errors.NotFound);
  await m[Symbol.asyncDispose](); // idempotent
});

Deno.test("BootstrapProcManager honours runtimeDir for the socket dir", async () => {
  const parent = Deno.makeTempDirSync();
  try {
    await using m = new BootstrapProcManager(BootstrapCommand.fromPath("/bin/true"), {
      runtimeDir: parent,
    });
    assert(m.socketDir.startsWith(`${parent}/hypermesh-`), m.socketDir);
  } finally {
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("overrideOrGlobal() prefers a well-typed override, else the global config", () => {
  using _t = config.override(attrs.MESH_TAIL_LOG_LINES, 3);
  assertEquals(overrideOrGlobal({}, attrs.MESH_TAIL_LOG_LINES), 3);
  assertEquals(
    overrideOrGlobal({ [attrs.MESH_TAIL_LOG_LINES.key]: 9 }, attrs.MESH_TAIL_LOG_LINES),
    9,
  );
  assertEquals(
    overrideOrGlobal({ [attrs.MESH_TAIL_LOG_LINES.key]: "9" }, attrs.MESH_TAIL_LOG_LINES),
    3,
  );
  assertEquals(
    overrideOrGlobal(
      { [attrs.MESH_ENABLE_LOG_FORWARDING.key]: true },
      attrs.MESH_ENABLE_LOG_FORWARDING,
    ),
    true,
  );
});
