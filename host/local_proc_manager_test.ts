import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { ActorRef } from "../actor/port.ts";
import type { Proc } from "../actor/proc.ts";
import { Host } from "./host.ts";
import { LocalHandle, LocalProcManager } from "./local_proc_manager.ts";
import { isTerminateError, TerminateError } from "./proc_handle.ts";

Deno.test("local_ready_and_wait_are_immediate", async () => {
  const addr = ChannelAddr.any("local");
  const procId = new ProcId(addr, "p");
  const agentRef = ActorRef.attest(procId.actor("agent", 0));
  const h = new LocalHandle(procId, { addr, agentRef });

  await h.ready(); // resolves immediately
  assertEquals(await h.wait(), undefined); // the seed's unit status
  // Multiple concurrent waiters both succeed.
  const [r1, r2] = await Promise.allSettled([h.ready(), h.ready()]);
  assert(r1.status === "fulfilled" && r2.status === "fulfilled");
  // A handle over a proc that is gone reports AlreadyTerminated.
  const err = await assertRejects(() => h.kill(), TerminateError);
  assertEquals(err.kind, "AlreadyTerminated");
});

/** An agent whose `Hang` handler never returns until released (stuck actor). */
function stuckAgent() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const hanging = new Promise<void>((r) => (started = r));
  const actor = {
    handlers: {
      Hang: async () => {
        started();
        await released;
      },
    },
  };
  return { actor, release, hanging };
}

async function localHost(spawn: (proc: Proc) => ReturnType<Proc["spawn"]>) {
  const manager = new LocalProcManager(spawn);
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  return { manager, host };
}

Deno.test("HO-6: concurrent LocalHandle.terminate() calls coalesce into one stop", async () => {
  let destroys = 0;
  const { manager, host } = await localHost((proc) => {
    const original = proc.destroyAndWait.bind(proc);
    proc.destroyAndWait = (o) => {
      destroys++;
      return original(o);
    };
    return proc.spawn("agent", { handlers: {} });
  });
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "q"), host.backendAddr);
  using cx = host.systemProc.instance("cx");
  const results = await Promise.allSettled([
    handle.terminate(cx, { graceMs: 1_000, reason: "first" }),
    handle.terminate(cx, { graceMs: 1_000, reason: "second" }),
    handle.terminate(cx, { graceMs: 1_000, reason: "third" }),
  ]);
  assert(results.every((r) => r.status === "fulfilled"), "HO-6: every caller observes the stop");
  assertEquals(destroys, 1, "HO-6: one destroyAndWait for concurrent callers");
  const late = await assertRejects(() => handle.terminate(cx, { graceMs: 1_000 }), TerminateError);
  assertEquals(late.kind, "AlreadyTerminated", "HO-6: the first terminal outcome wins");
  const lateKill = await assertRejects(() => handle.kill(), TerminateError);
  assertEquals(lateKill.kind, "AlreadyTerminated");
  assertEquals(await handle.wait(), undefined);
});

Deno.test("HO-6: LocalHandle.kill() escalates a terminate in flight", async () => {
  const { actor, release, hanging } = stuckAgent();
  const manager = new LocalProcManager((proc) => proc.spawn("agent", actor));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "p"), host.backendAddr);
  const proc = manager.procs.get(handle.procId.key)!;
  using cx = proc.instance("cx"); // in-proc: the host router does not know `p`
  handle.agentRef().send(cx, "Hang", undefined);
  await hanging;

  // A polite stop with a long grace is in flight (the agent is stuck)...
  const terminating = handle.terminate(cx, { graceMs: 60_000, reason: "polite" });
  // ...and a kill forces it: both callers see the proc down.
  await handle.kill("forced");
  await terminating;
  const status = proc.terminatedSnapshot(handle.agentRef().actorId)?.status;
  assertEquals(status?.kind, "Failed", "HO-6: the stuck agent was aborted");
  release();
});

Deno.test("HO-6: LocalHandle.terminate() and manager.terminateProc() share one stop", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "p"), host.backendAddr);
  using cx = host.systemProc.instance("cx");
  const [viaManager] = await Promise.all([
    manager.terminateProc(cx, handle.procId, { graceMs: 1_000 }),
    handle.terminate(cx, { graceMs: 1_000 }),
  ]);
  assertEquals(viaManager.stopped.map(String), [handle.agentRef().actorId.toString()]);
  assertEquals(manager.procs.size, 0);
});

Deno.test("HO-5: LocalProcManager.terminateAll() respects maxInFlight", async () => {
  let inFlight = 0;
  let peak = 0;
  const manager = new LocalProcManager((proc) => {
    const original = proc.destroyAndWait.bind(proc);
    proc.destroyAndWait = async (o) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await original(o);
      } finally {
        inFlight--;
      }
    };
    return proc.spawn("agent", { handlers: {} });
  });
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  for (const name of ["a", "b", "c", "d", "e"]) await host.spawn(name);
  using cx = host.systemProc.instance("cx");
  const summary = await manager.terminateAll(cx, { graceMs: 1_000, maxInFlight: 2 });
  assertEquals(String(summary), "attempted=5 ok=5 failed=0");
  assertEquals(peak, 2, "HO-5: at most maxInFlight terminations at once");
});

Deno.test("LocalProcManager.terminateAll() counts failures", async () => {
  const manager = new LocalProcManager((proc) => {
    failFirstDestroy(proc);
    return proc.spawn("agent", { handlers: {} });
  });
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  await host.spawn("a");
  await host.spawn("b");
  using cx = host.systemProc.instance("cx");
  const errors: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => errors.push(args);
  try {
    const summary = await manager.terminateAll(cx, { graceMs: 10, maxInFlight: 0 });
    assertEquals(String(summary), "attempted=2 ok=0 failed=2");
    assertEquals(errors.length, 2);
  } finally {
    console.warn = warn;
  }
  assertEquals(manager.procs.size, 0, "a stop attempt retires the proc from the live table");
});

/** Makes the first `destroyAndWait` of `proc` reject (later ones, e.g. disposal, work). */
function failFirstDestroy(proc: Proc): void {
  const original = proc.destroyAndWait.bind(proc);
  let first = true;
  proc.destroyAndWait = (o) => {
    if (!first) return original(o);
    first = false;
    return Promise.reject(new Error("EIO"));
  };
}

Deno.test("HO-6: LocalHandle.terminate() maps a destroy failure to TerminateError Io", async () => {
  const manager = new LocalProcManager((proc) => {
    failFirstDestroy(proc);
    return proc.spawn("agent", { handlers: {} });
  });
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "p"), host.backendAddr);
  using cx = host.systemProc.instance("cx");
  const err = await handle.terminate(cx, { graceMs: 10 }).catch((e) => e);
  assert(isTerminateError(err, "Io"), String(err));
  assertEquals(err.message, "I/O error during terminate/kill: EIO");
});

Deno.test("HO-6: LocalProcManager.requestStop() returns at once and shares the handle's one stop", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "p"), host.backendAddr);
  using cx = host.systemProc.instance("cx");
  assertEquals(
    manager.requestStop(cx, handle.procId, { graceMs: 1_000, reason: "test" }),
    undefined,
  );
  manager.requestStop(cx, new ProcId(host.addr, "unknown"), { graceMs: 1_000 }); // ignored
  assertEquals(manager.procs.size, 0);
  // The handle coalesces on the stop in flight, or finds it finished.
  await handle.terminate(cx, { graceMs: 1_000 }).catch((e) => {
    assert(isTerminateError(e) && e.kind === "AlreadyTerminated", String(e));
  });
});

Deno.test("LocalProcManager.status()/watch() report Running, Stopping, Stopped (the ProcManager capabilities)", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const handle = await manager.spawn(new ProcId(host.addr, "p"), host.backendAddr);
  assertEquals(manager.status(handle.procId), "Running");
  assertEquals(manager.status(new ProcId(host.addr, "unknown")), undefined);
  assertEquals(manager.watch(new ProcId(host.addr, "unknown")), undefined);
  const seen: string[] = [];
  const watching = (async () => {
    for await (const status of manager.watch(handle.procId)!) seen.push(status);
  })();
  using cx = host.systemProc.instance("cx");
  await manager.terminateProc(cx, handle.procId, { graceMs: 1_000 });
  await watching;
  assertEquals(seen, ["Running", "Stopping", "Stopped"]);
  assertEquals(manager.status(handle.procId), "Stopped");
});
