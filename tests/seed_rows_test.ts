/**
 * Seed rows that were implemented but untested (issue 12, "the seed rows
 * still open"): mesh-level spawn configuration errors, `procStates` timeout
 * padding and `ProcNotExistError`, `waitOrBrutallyKill`'s escalation, and the
 * v0 heartbeat exit.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { serve } from "../channel/mod.ts";
import { Proc } from "../actor/proc.ts";
import { attrs, config } from "../config/mod.ts";
import {
  BOOTSTRAP_ADDR_ENV,
  BOOTSTRAP_INDEX_ENV,
  type Process2Allocator,
  runV0ProcMesh,
} from "../bootstrap/v0_proc_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { ProcMesh } from "../mesh/proc_mesh.ts";
import { Region } from "../ndslice/region.ts";
import { MeshConfigurationError, ProcNotExistError } from "../mesh/host_mesh/errors.ts";
import { fixtureCommand, waitForSignalHandler, withManager } from "./_support.ts";

Deno.test("spawn rejects overlapping labels, a proc_bind length mismatch and a failing per-rank bootstrap with MeshConfigurationError; the host still spawns", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "owner");
  using cx = proc.instance("owner");
  const hosts = await HostMesh.localInProcess({ transport: "local" });
  try {
    const overlap = await assertRejects(
      () => hosts.spawn(cx, "bad", Extent.of({ hosts: 2 })),
      MeshConfigurationError,
    );
    assertStringIncludes(overlap.message, "overlap with existing dims (hosts)");
    const bind = await assertRejects(
      () => hosts.spawn(cx, "bad", Extent.of({ gpus: 2 }), { procBind: [{}] }),
      MeshConfigurationError,
    );
    assertStringIncludes(bind.message, "proc_bind length 1 does not match per_host extent (2)");
    const perRank = await assertRejects(
      () =>
        hosts.spawn(cx, "bad", Extent.of({ gpus: 2 }), {
          perRankBootstrap: (point) => {
            throw new Error(`no command for ${JSON.stringify(point)}`);
          },
        }),
      MeshConfigurationError,
    );
    assertStringIncludes(perRank.message, "per-rank bootstrap failed");
    // The rejected spawns leave the host usable.
    const ok = await hosts.spawn(cx, "good", Extent.of({ gpus: 1 }));
    assertEquals(ok.numRanks, 1);
  } finally {
    await hosts.shutdown(cx);
  }
});

Deno.test("procStates pads a silent host's ranks with Timeout and throws ProcNotExistError for a proc its agent does not know", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "owner");
  using cx = proc.instance("owner");
  const hosts = await HostMesh.localInProcess({ transport: "local" });
  try {
    const procs = await hosts.spawn(cx, "real", Extent.of({ gpus: 1 }));
    const real = procs.rank(0);
    const silent = `local:999999,ghost`;
    const mixed = ProcMesh.fromRanks(Region.parse("procs=2/1"), [
      { procId: real.procId, agent: real.agent },
      { procId: silent, agent: `${silent},proc_agent[0]` },
    ]);
    const states = await hosts.ref.procStates(cx, mixed, { maxIdleMs: 300 });
    assertEquals(states.values().map((s) => s.status.kind), ["Running", "Timeout"]);
    const unknown = ProcMesh.fromRanks(Region.parse("procs=1/1"), [
      { procId: `${real.procId.addr},nobody`, agent: `${real.procId.addr},nobody,proc_agent[0]` },
    ]);
    const error = await assertRejects(
      () => hosts.ref.procStates(cx, unknown),
      ProcNotExistError,
    );
    assertEquals(error.procName, "nobody");
  } finally {
    await hosts.shutdown(cx);
  }
});

Deno.test("waitOrBrutallyKill escalates: no exit within the grace → Stopping → SIGTERM ignored → SIGKILL", async () => {
  await withManager(async ({ spawn }) => {
    const handle = await spawn("stubborn-0", {
      bootstrapCommand: fixtureCommand("bootstrap_ignore_sigterm.ts"),
    });
    await waitForSignalHandler(handle.pid!, 15); // SIGTERM ignored before we wait on it
    const seen: string[] = [];
    const watching = (async () => {
      for await (const st of handle.watch()) {
        seen.push(st.kind);
        if (st.kind === "Killed" || st.kind === "Stopped" || st.kind === "Failed") break;
      }
    })();
    const status = await handle.waitOrBrutallyKill({ graceMs: 300 });
    await watching;
    assertEquals(status, { kind: "Killed", signal: 9, coreDumped: false });
    assert(seen.includes("Stopping"), `marked Stopping first: ${seen}`);
  });
});

Deno.test("v0: a child whose heartbeat cannot be delivered exits with code 1", async () => {
  using _timeout = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 300);
  const allocator = await serve<Process2Allocator>(ChannelAddr.any("unix"));
  const env = new Map([
    [BOOTSTRAP_ADDR_ENV, allocator.addr.toString()],
    [BOOTSTRAP_INDEX_ENV, "0"],
  ]);
  const child = runV0ProcMesh(() => {
    throw new Error("no proc is started in this test");
  }, { env: { get: (k) => env.get(k) }, heartbeatIntervalMs: 100 });
  const hello = await allocator.recv();
  assert(hello !== undefined && typeof hello[1] === "object" && "Hello" in hello[1]);
  await allocator.close(); // the allocator goes away
  assertEquals(await child, 1, "heartbeat lost → exit code 1");
});
