/**
 * The bundled proc child (`proc_child.ts`, PC-1, PC-2): the checked-in
 * bundle is current, and real procs started from it — cold through a host,
 * and adopted from a warm pool — serve the demo Greeter and stop cleanly.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { Proc } from "../actor/proc.ts";
import { ProcId } from "../actor/reference.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { attrs, config } from "../config/mod.ts";
import { BOOTSTRAP_MODE_ENV, toEnvSafeString } from "../bootstrap/mode.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { CallError } from "../mesh/call.ts";
import { processState } from "../launcher/_proc_state.ts";
import { type Greeter, GREETER_TYPE } from "./demo_actor.ts";
import { WORKER_PERMISSIONS } from "./worker.ts";
import { buildProcChildBundle, BUNDLE_PATH } from "./_bundle_proc_child.ts";
import { PROC_CHILD_PERMISSIONS, procChildCommand } from "./proc_child_command.ts";

const WORKER = new URL("./worker.ts", import.meta.url).pathname;

Deno.test("PC-1: cli/proc_child.bundle.js is what `deno task bundle` builds from cli/proc_child.ts", async () => {
  const current = await Deno.readTextFile(new URL(`../${BUNDLE_PATH}`, import.meta.url));
  assert(
    current === await buildProcChildBundle(),
    `${BUNDLE_PATH} is stale: run \`deno task bundle\` and commit the result`,
  );
});

Deno.test("PC-2: the proc child command is `deno run --no-config` with explicit permissions and the bundle's path", () => {
  const cmd = procChildCommand();
  assertEquals(cmd.program, Deno.execPath());
  assertEquals(cmd.args, [
    "run",
    "--no-config",
    ...PROC_CHILD_PERMISSIONS,
    new URL("./proc_child.bundle.js", import.meta.url).pathname,
  ]);
  assert(!cmd.args.includes("-A") && !cmd.args.includes("--allow-all"));
});

Deno.test("PC-2: a host whose procs run the bundled child spawns, calls and shuts down the demo Greeter", async () => {
  const addr = ChannelAddr.any("unix");
  const host = new Deno.Command(Deno.execPath(), {
    args: ["run", ...WORKER_PERMISSIONS, WORKER],
    env: {
      [BOOTSTRAP_MODE_ENV]: toEnvSafeString({
        kind: "Host",
        addr,
        command: procChildCommand().toJSON(),
        exitOnShutdown: true,
      }),
    },
    stdin: "null",
  }).spawn();
  const cx = await context();
  try {
    const ref = HostMeshRef.fromHosts("pc", [addr]);
    const procs = await ref.spawn(cx, "pc", Extent.unity());
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const replies = await actors.call(cx, "Greet", { text: "hi" }, { timeoutMs: 10_000 });
    const [greeting] = replies.values();
    if (greeting instanceof CallError) throw greeting;
    const { pid } = greeting;
    assertEquals(await processState(pid), "alive");
    // The proc runs the bundle, not the TypeScript entry.
    const cmdline = new TextDecoder().decode(
      (await new Deno.Command("cat", { args: [`/proc/${pid}/cmdline`] }).output()).stdout,
    ).split("\0");
    assert(cmdline.some((a) => a.endsWith("proc_child.bundle.js")), cmdline.join(" "));
    const report = await HostMesh.take(ref).shutdown(cx);
    assertEquals(report.failed, []);
    assertEquals((await host.status).code, 0);
    for (let i = 0; i < 40 && await processState(pid) === "alive"; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(await processState(pid) !== "alive", "the proc does not survive shutdown");
  } finally {
    try {
      host.kill("SIGKILL");
    } catch { /* exited */ }
    await host.status;
    await shutdownContext();
  }
});

Deno.test("PC-2: a warm pool on the bundled child command adopts a warm child that reaches Ready and stops with exit 0", async () => {
  const root = await Proc.direct(ChannelAddr.any("unix"), "root");
  let manager: BootstrapProcManager;
  {
    using _prewarm = config.override(attrs.PREWARM_PROCS, 1);
    manager = new BootstrapProcManager(procChildCommand());
  }
  try {
    const pool = manager.warmPool!;
    await pool.waitFor((pids) => pids.length === 1);
    const [warmPid] = pool.pids;
    const handle = await manager.spawn(
      new ProcId(ChannelAddr.any("unix"), "pc-warm"),
      root.procId.addr,
      {
        createRank: 0,
        clientConfigOverride: {},
      },
    );
    await handle.ready();
    assertEquals(handle.pid, warmPid, "the spawn adopted the warm child");
    (root.forwarder as DialMailboxRouter).bind(handle.procId, handle.addr()!);
    using cx = root.instance("stopper");
    await handle.terminate(cx, { graceMs: 5_000, reason: "test" });
    const status = handle.status();
    assertEquals(status.kind, "Stopped");
    assertEquals((status as { exitCode: number }).exitCode, 0);
  } finally {
    await manager[Symbol.asyncDispose]();
    await root[Symbol.asyncDispose]();
  }
});

Deno.test("PC-2: the bundled child refuses Host mode with exit code 1", async () => {
  const cmd = procChildCommand();
  const out = await new Deno.Command(cmd.program, {
    args: [...cmd.args],
    env: {
      [BOOTSTRAP_MODE_ENV]: toEnvSafeString({
        kind: "Host",
        addr: ChannelAddr.any("unix"),
        exitOnShutdown: true,
      }),
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "Proc mode only, got Host");
});
