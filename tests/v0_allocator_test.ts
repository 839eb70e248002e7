import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { ActorRef } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { isAlive, PERMISSIONS } from "./_support.ts";
import type { LaunchOptions, LaunchResult, ProcLauncher } from "../launcher/types.ts";
import type { StopOptions } from "../launcher/stop.ts";
import {
  type AllocProcState,
  ProcessAllocator,
  V0AllocatorError,
} from "../bootstrap/v0_allocator.ts";
import type { Configure, Gspawn, GspawnResult, StatusQuery } from "../mesh/proc_agent/protocol.ts";

// A bootstrap.ts child that also registers `pa_fixture::Echo` (shared fixture).
const FIXTURE = new URL("./fixtures/proc_agent_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const CHANNEL_MOD = new URL("../channel/mod.ts", import.meta.url).href;

async function collect(events: AsyncIterable<AllocProcState>): Promise<AllocProcState[]> {
  const out: AllocProcState[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

function kinds(events: AllocProcState[], rank: number): string[] {
  return events.filter((e) => e.rank === rank).map((e) => e.kind);
}

Deno.test("BS-21/BS-23: two real v0 children reach Running, obey Configure/Gspawn/Status, stop with the code", async () => {
  const deadline = AbortSignal.timeout(60_000);
  const allocator = new ProcessAllocator(
    BootstrapCommand.fromPath(Deno.execPath(), ["run", ...PERMISSIONS, FIXTURE]),
  );
  await using alloc = await allocator.allocate({ numProcs: 2, name: "v0t" });
  const pids = [...alloc.pids.values()];
  assertEquals(pids.length, 2);
  const running = await alloc.running({ signal: deadline });
  assertEquals(running.map((r) => r.rank), [0, 1]);
  for (const r of running) {
    assertEquals(r.procId.name, `v0t-${r.rank}`);
    assertEquals(r.agent.actorId.name, "mesh");
    assert(r.agent.actorId.procId.equals(r.procId));
  }

  {
    // The client is gone before the children stop (no link-closed noise).
    await using client = await Proc.direct(ChannelAddr.any("unix"), "v0_client");
    using cx = client.instance("client");
    const addressBook: Record<string, string> = {};
    for (const r of running) {
      (client.forwarder as DialMailboxRouter).bind(r.procId, r.addr);
      addressBook[r.procId.key] = r.addr.toString();
    }
    for (const r of running) {
      const { ref, receiver } = cx.openOncePort<number>();
      const configure: Configure = {
        rank: r.rank,
        forwarder: client.procId.addr.toString(),
        supervisor: null,
        addressBook,
        configured: ref.port,
        recordSupervisionEvents: true,
      };
      r.agent.send(cx, "Configure" as never, configure as never);
      assertEquals(await receiver.recv({ signal: deadline }), r.rank, "Configure acks the rank");

      const status = cx.openOncePort<[number, boolean]>();
      r.agent.send(
        cx,
        "Status" as never,
        { status: status.ref.port } satisfies StatusQuery as never,
      );
      assertEquals(await status.receiver.recv({ signal: deadline }), [r.rank, true]);

      const spawned = cx.openOncePort<GspawnResult>();
      const gspawn: Gspawn = {
        actorType: "pa_fixture::Echo",
        actorName: "echo",
        params: null,
        statusPort: spawned.ref.port,
      };
      r.agent.send(cx, "Gspawn" as never, gspawn as never);
      const result = await spawned.receiver.recv({ signal: deadline });
      assertEquals(result.kind, "Success", JSON.stringify(result));
      const echo = ActorRef.attest((result as { actorId: string }).actorId);
      const reply = cx.openOncePort<string>();
      echo.send(cx, "Echo" as never, reply.ref as never);
      assertStringIncludes(
        await reply.receiver.recv({ signal: deadline }),
        `pid=${alloc.pids.get(r.rank)}`,
      );
    }
  }

  const stopped = await alloc.stop(7);
  assertEquals(stopped.map((s) => s.exit), [
    { kind: "Exited", code: 7 },
    { kind: "Exited", code: 7 },
  ], "BS-23: both children exit with the code given to stop()");
  const events = await collect(alloc);
  for (const rank of [0, 1]) {
    assertEquals(kinds(events, rank), ["Created", "Running", "Stopped"], "BS-21");
  }
  for (const pid of pids) assert(!(await isAlive(pid)), `no stray process ${pid}`);
  assertEquals(await alloc.stop(3), stopped, "stop is idempotent");
});

// A fake v0 child (deno eval): rank 0 claims another index, rank 1 sends garbage,
// rank 2 follows the protocol up to Running, then ignores StopAndExit and SIGTERM.
const FAKE_CHILD = `
import { ChannelAddr, dial, serve } from "${CHANNEL_MOD}";
const index = Number(Deno.env.get("HYPERACTOR_MESH_INDEX"));
const tx = dial(Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_ADDR"));
const server = await serve(ChannelAddr.any("unix"));
if (index === 0) await tx.send([index + 7, { Hello: server.addr.toString() }]);
if (index === 1) await tx.send([index, { Bogus: [1, 2, 3] }]);
if (index === 2) {
  Deno.addSignalListener("SIGTERM", () => {});
  await tx.send([index, { Hello: server.addr.toString() }]);
  await tx.send([index, "Heartbeat"]);
  const [procId] = (await server.recv()).StartProc;
  await tx.send([index, { StartedProc: [procId, procId + ",mesh[0]", server.addr.toString()] }]);
}
setInterval(() => {}, 1_000);
`;

Deno.test("BS-20/BS-23: a wrong index or garbage fails only that rank; a deaf child is SIGKILLed", async () => {
  const allocator = new ProcessAllocator(
    BootstrapCommand.fromPath(Deno.execPath(), ["eval", `--config=${CONFIG}`, FAKE_CHILD]),
  );
  await using alloc = await allocator.allocate({ ranks: [0, 1, 2] });
  const pids = [...alloc.pids.values()];
  const failures = new Map<number, V0AllocatorError>();
  let seen = 0;
  for await (const ev of alloc.events({ signal: AbortSignal.timeout(60_000) })) {
    if (ev.kind === "Failed") failures.set(ev.rank, ev.error);
    if (ev.kind === "Running") assertEquals(ev.rank, 2);
    if (ev.kind === "Running" || ev.kind === "Failed") seen++;
    if (seen === 3) break; // rank 2 ignores SIGTERM from here on
  }
  assertEquals(failures.get(0)?.variant, "Index");
  assertStringIncludes(failures.get(0)!.message, "wrong index 7");
  assertEquals(failures.get(1)?.variant, "Protocol");
  assertEquals(failures.get(1)?.input, [1, { Bogus: [1, 2, 3] }]);
  await assertRejects(() => alloc.running(), V0AllocatorError);

  const stopped = await alloc.stop(0, { graceMs: 200 });
  assertEquals(stopped[0].exit, { kind: "Signaled", signal: 9, coreDumped: false }, "BS-20");
  assertEquals(stopped[1].exit, { kind: "Signaled", signal: 9, coreDumped: false }, "BS-20");
  assertEquals(stopped[2].exit, { kind: "Signaled", signal: 9, coreDumped: false }, "BS-23");
  const events = await collect(alloc);
  assertEquals(kinds(events, 0), ["Created", "Failed", "Stopped"], "BS-21");
  assertEquals(kinds(events, 2), ["Created", "Running", "Stopped"], "BS-21");
  for (const pid of pids) assert(!(await isAlive(pid)), `no stray process ${pid}`);
});

Deno.test("BS-24: a child that cannot be launched rejects allocate and leaves nothing behind", async () => {
  const allocator = new ProcessAllocator(BootstrapCommand.fromPath("/nonexistent/hypermesh-v0"));
  const error = await assertRejects(() => allocator.allocate({ numProcs: 2 }), V0AllocatorError);
  assertEquals([error.variant, error.rank], ["Launch", 0]);
  const aborted = AbortSignal.abort(new Error("nope"));
  await assertRejects(
    () => allocator.allocate({ numProcs: 1 }, { signal: aborted }),
    Error,
    "nope",
  );
  await assertRejects(() => allocator.allocate({ ranks: [1, 1] }), RangeError);
  await assertRejects(() => allocator.allocate({ numProcs: 1, name: "a,b" }), TypeError);
});

Deno.test("BS-24: when a later rank cannot be launched, the ranks already launched are killed", async () => {
  await using native = new NativeProcLauncher();
  const pids: number[] = [];
  let launches = 0;
  const launcher: ProcLauncher = {
    kind: "native",
    async launch(procId: string, options: LaunchOptions): Promise<LaunchResult> {
      if (++launches === 2) throw new Error("no more room");
      const result = await native.launch(procId, options);
      pids.push(result.pid!);
      return result;
    },
    terminate: (procId: string, options?: StopOptions) => native.terminate(procId, options),
    kill: (procId: string) => native.kill(procId),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const allocator = new ProcessAllocator(BootstrapCommand.fromPath("sleep", ["30"]), { launcher });
  const error = await assertRejects(() => allocator.allocate({ numProcs: 3 }), V0AllocatorError);
  assertEquals([error.variant, error.rank], ["Launch", 1]);
  assertEquals(pids.length, 1);
  assert(!(await isAlive(pids[0])), "BS-24: rank 0 was killed");
  assertEquals(native.size, 0);
});

Deno.test("BS-40: a v0 child whose allocator address nothing serves fails within seconds, naming the address", async () => {
  const addr = "unix:@hypermesh-no-allocator-" + crypto.randomUUID().slice(0, 8);
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      ...PERMISSIONS,
      new URL("../bootstrap.ts", import.meta.url).pathname,
    ],
    env: { HYPERACTOR_MESH_BOOTSTRAP_ADDR: addr, HYPERACTOR_MESH_INDEX: "0" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - t0;
  assertEquals(out.code, 1);
  assertStringIncludes(new TextDecoder().decode(out.stderr), addr);
  assert(elapsed < 15_000, `BS-40: exited after ${elapsed} ms`);
});

// A fake v0 child that, told to stop, first sends a heartbeat and exits 42 only
// if the allocator's channel still acknowledged it (1 otherwise).
const HEARTBEAT_ON_STOP_CHILD = `
import { ChannelAddr, dial, serve } from "${CHANNEL_MOD}";
const index = Number(Deno.env.get("HYPERACTOR_MESH_INDEX"));
const tx = dial(Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_ADDR"));
const server = await serve(ChannelAddr.any("unix"));
await tx.send([index, { Hello: server.addr.toString() }]);
for (;;) {
  const msg = await server.recv();
  if (msg !== null && typeof msg === "object" && "StopAndExit" in msg) {
    let code = 42;
    try {
      await tx.send([index, "Heartbeat"]);
    } catch {
      code = 1;
    }
    Deno.exit(code);
  }
}
`;

Deno.test("BS-22: a stopping child's heartbeat is still acknowledged: the channel outlives the child", async () => {
  const allocator = new ProcessAllocator(
    BootstrapCommand.fromPath(Deno.execPath(), [
      "eval",
      `--config=${CONFIG}`,
      HEARTBEAT_ON_STOP_CHILD,
    ]),
  );
  await using alloc = await allocator.allocate({ ranks: [0] });
  const stopped = await alloc.stop(0, { graceMs: 10_000 });
  assertEquals(
    stopped[0].exit,
    { kind: "Exited", code: 42 },
    "BS-22: the heartbeat sent while stopping was acknowledged",
  );
});
