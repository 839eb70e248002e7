/**
 * Integration test of log forwarding: a real bootstrap child (fixture
 * `tests/fixtures/log_child.ts`, which runs the real bootstrap entry) whose
 * captured output travels StreamForwarder → log channel → LogForwardActor →
 * LogClientActor (immediate mode, fake writer), all in this process's root proc.
 */

import { Sink } from "../bootstrap/_log_test_util.ts";
import { CHILD_FLAGS, ROOT } from "./_support.ts";
import { assert, assertEquals } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { LogClientActor } from "../bootstrap/log_client.ts";
import { spawnLogForwarder } from "../bootstrap/log_forward.ts";

const LINES = 20;

function logChildCommand(): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    ...CHILD_FLAGS,
    `${ROOT}tests/fixtures/log_child.ts`,
  ]).withEnv({ LOG_CHILD_LINES: String(LINES) });
}

Deno.test("BS-14: a bootstrap child's lines reach the LogClientActor with the rank prefix, none lost at exit; the stderr tail is in Stopped", async () => {
  using _fwd = config.override(attrs.MESH_ENABLE_LOG_FORWARDING, true);
  using _prefix = config.override(attrs.PREFIX_WITH_RANK, true);
  const root = await Proc.direct(ChannelAddr.any("unix"), "root");
  const cx = root.instance("client");
  const sink = new Sink();
  const client = root.spawn(
    "log_client",
    new LogClientActor({ aggregateWindowMs: null, writer: sink.write }),
  );
  const forwarder = await spawnLogForwarder(root, { client: client.ref });
  const manager = new BootstrapProcManager(logChildCommand(), { logChannel: forwarder.addr });
  try {
    const procId = new ProcId(ChannelAddr.any("unix"), "logger");
    const handle = await manager.spawn(procId, root.procId.addr, {
      createRank: 3,
      clientConfigOverride: { [attrs.MESH_TAIL_LOG_LINES.key]: 5 },
    });
    await handle.ready();
    (root.forwarder as DialMailboxRouter).bind(handle.procId, handle.addr()!);
    const status = await handle.terminate(cx, { graceMs: 5_000, reason: "test done" });
    if (status.kind !== "Stopped") {
      throw new Error(`expected Stopped, got ${JSON.stringify(status)}`);
    }
    assertEquals(status.exitCode, 0);
    assertEquals(status.stderrTail.at(-1), "bye from stderr", JSON.stringify(status.stderrTail));
    assert(status.stderrTail.includes("err startup"), JSON.stringify(status.stderrTail));

    // BS-14: every line was acknowledged by the forwarder's channel before
    // Stopped; all of them (including those printed while exiting) arrive.
    await sink.atLeast(LINES + 3, 5_000);
    const host = Deno.hostname();
    const prefix = `[${host} ${procId}] [3] `;
    const stdout = sink.lines.filter((l) => l.startsWith("stdout|"));
    const stderr = sink.lines.filter((l) => l.startsWith("stderr|"));
    assertEquals(stdout, [
      ...Array.from({ length: LINES }, (_, i) => `stdout|${prefix}out ${i}`),
      `stdout|${prefix}bye from stdout`,
    ]);
    assertEquals(stderr[0], `stderr|${prefix}err startup`);
    assertEquals(stderr.at(-1), `stderr|${prefix}bye from stderr`);
  } finally {
    await manager[Symbol.asyncDispose]();
    forwarder.handle.stop();
    await forwarder.handle.wait();
    client.stop();
    await client.wait();
    cx[Symbol.dispose]();
    await root[Symbol.asyncDispose]();
  }
});
