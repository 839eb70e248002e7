/**
 * Per-proc and per-actor figures (AW-1, AW-2) through the admin tree, on a
 * real process host: each proc node carries its process's pid, uptime, RSS,
 * CPU time and CPU %, and each live actor node its type, status, messages
 * processed and mailbox depth.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { type AdminNode, spawnAdmin } from "../mesh/admin.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { formatHostStatus } from "../cli/status.ts";
import type { HostInfo } from "../mesh/host_agent/protocol.ts";
import { request } from "../actor/request.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

Deno.test("AW-1, AW-2: the admin tree and status show each proc's OS figures and each actor's type, status and message counts", async () => {
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "aw", Extent.of({ procs: 2 }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const pids = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const replies = await crashers.call(cx, "Ping" as never, {} as never, { timeoutMs: 20_000 });
      for (const value of replies.values()) {
        if (value instanceof CallError) throw value;
        pids.add((value as { pid: number }).pid);
      }
    }
    assertEquals(pids.size, 2);
    const admin = await spawnAdmin([hosts.ref], cx);
    const { ref, receiver } = cx.openOncePort<AdminNode>();
    admin.send(cx, "GetTree", { reply: ref });
    const tree = await receiver.recv();
    const procNodes = tree.children.flatMap((h) => h.children);
    assertEquals(procNodes.length, 2);
    for (const node of procNodes) {
      const p = node.properties;
      assert(pids.has(p.pid as number), `AW-1: pid ${p.pid} is a crasher's pid`);
      assert((p.rssBytes as number) > 1024 * 1024, `AW-1: rss ${p.rssBytes}`);
      assert((p.uptimeMs as number) >= 0 && (p.cpuTimeMs as number) > 0, JSON.stringify(p));
      assert((p.cpuPercent as number) >= 0);
      const crasher = node.children.find((a) => a.properties.type === CRASHER);
      if (crasher === undefined) {
        throw new Error(`AW-2: no ${CRASHER} node in ${JSON.stringify(node.children)}`);
      }
      assert((crasher.properties.messagesProcessed as number) >= 3, JSON.stringify(crasher));
      assertEquals(crasher.properties.mailboxDepth, 0);
      assert(["Idle", "Processing"].includes(crasher.properties.status as string));
    }
    const info = await request<HostInfo>(cx, "Introspect", (reply) => {
      hosts.ref.hosts[0].agent.port("Introspect").send(cx, { reply });
    }, { timeoutMs: 20_000 });
    const lines = formatHostStatus(0, "h", info).slice(1);
    assertEquals(lines.length, 2);
    for (const line of lines) {
      assert(/\[pid \d+ up \d+s rss [\d.]+MiB cpu [\d.]+s [\d.]+%\]$/.test(line), line);
    }
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
  }
});
