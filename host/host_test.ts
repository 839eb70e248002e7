import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelAddr, type Transport } from "../channel/addr.ts";
import { config } from "../config/config.ts";
import { HOST_SPAWN_READY_TIMEOUT } from "../config/attrs.ts";
import { ProcId } from "../actor/reference.ts";
import { ActorRef } from "../actor/port.ts";
import type { Context } from "../actor/types.ts";
import { Host } from "./host.ts";
import { HostError, isHostError } from "./errors.ts";
import { LocalProcManager } from "./local_proc_manager.ts";
import { type ProcHandle, type ProcManager, ReadyError, TerminateError } from "./proc_handle.ts";
import type { StopOptions } from "../internal/stop_options.ts";

const agent = { handlers: {} };

Deno.test("HO-1, HO-2 (test_basic): Host routes between procs, and to/from the system proc", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", agent));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;

  const { procId: procId1 } = await host.spawn("proc1");
  assert(procId1.equals(new ProcId(host.addr, "proc1")), "HO-1: (frontend, name)");
  assert(manager.procs.has(procId1.key));
  const { procId: procId2 } = await host.spawn("proc2");
  assert(manager.procs.has(procId2.key));

  const proc1 = manager.procs.get(procId1.key)!;
  const proc2 = manager.procs.get(procId2.key)!;

  // Make sure they can talk to each other.
  using instance1 = proc1.instance("client");
  using instance2 = proc2.instance("client");
  const { ref: port, receiver: rx } = instance1.openPort<string>();
  port.send(instance2, "hello");
  assertEquals(await rx.recv(), "hello");

  // The system proc is wired in too.
  using systemActor = host.systemProc.instance("test");
  // system -> proc
  port.send(systemActor, "hello from the system proc");
  assertEquals(await rx.recv(), "hello from the system proc", "HO-2: system proc -> proc");

  // system -> system
  const { ref: sysPort, receiver: sysRx } = systemActor.openPort<string>();
  sysPort.send(systemActor, "hello from the system");
  assertEquals(await sysRx.recv(), "hello from the system");

  // proc -> system
  sysPort.send(instance1, "hello from the instance1");
  assertEquals(await sysRx.recv(), "hello from the instance1", "HO-2: proc -> system proc");
});

Deno.test("HO-3: Host.spawn() rejects a duplicate name with ProcExists", async () => {
  const { host } = await Host.serve(
    new LocalProcManager((proc) => proc.spawn("agent", agent)),
    ChannelAddr.any("local"),
  );
  await using _host = host;
  await host.spawn("p");
  const err = await assertRejects(() => host.spawn("p"), HostError);
  assertEquals(err.kind, "ProcExists");
  assertEquals(err.procName, "p");
});

Deno.test("HO-3: concurrent Host.spawn() of one name admits exactly one", async () => {
  const { host } = await Host.serve(
    new LocalProcManager((proc) => proc.spawn("agent", agent)),
    ChannelAddr.any("local"),
  );
  await using _host = host;
  const results = await Promise.allSettled([host.spawn("same"), host.spawn("same")]);
  assertEquals(results.filter((r) => r.status === "fulfilled").length, 1);
  const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert(isHostError(rejected.reason, "ProcExists"));
});

Deno.test("HostError AgentSpawnFailure: LocalProcManager reports a failing agent spawn", async () => {
  const { host } = await Host.serve(
    new LocalProcManager(() => Promise.reject(new Error("no agent today"))),
    ChannelAddr.any("local"),
  );
  await using _host = host;
  const err = await assertRejects(() => host.spawn("p"), HostError);
  assertEquals(err.kind, "AgentSpawnFailure");
  assertEquals(host.procs.size, 0);
});

Deno.test("Host.serve() maps an unservable address to HostError ChannelError", async () => {
  const err = await assertRejects(
    () => Host.serve(new LocalProcManager((p) => p.spawn("agent", agent)), "local:7"),
    HostError,
  );
  assertEquals(err.kind, "ChannelError");
});

// --
// Fixtures for `Host.spawn` tests (a fake manager, as in the seed).

type ReadyMode =
  | { kind: "OkAfter"; ms: number }
  | { kind: "ErrTerminal" }
  | { kind: "ErrChannelClosed" };

class TestHandle implements ProcHandle<void> {
  killed = 0;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  constructor(
    readonly procId: ProcId,
    readonly forwarder: ChannelAddr,
    readonly mode: ReadyMode,
    readonly omitAddr: boolean,
    readonly omitAgent: boolean,
  ) {}
  addr(): ChannelAddr | undefined {
    return this.omitAddr ? undefined : this.forwarder;
  }
  agentRef(): ActorRef | undefined {
    return this.omitAgent ? undefined : ActorRef.attest(this.procId.actor("agent", 0));
  }
  async ready(): Promise<void> {
    const mode = this.mode;
    switch (mode.kind) {
      case "OkAfter":
        if (mode.ms > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.#timers.delete(timer);
              resolve();
            }, mode.ms);
            this.#timers.add(timer);
          });
        }
        return;
      case "ErrTerminal":
        throw ReadyError.terminal(undefined);
      case "ErrChannelClosed":
        throw ReadyError.channelClosed();
    }
  }
  wait(): Promise<void> {
    return Promise.resolve();
  }
  terminate(_cx: Context, _options?: StopOptions): Promise<void> {
    return Promise.reject(TerminateError.unsupported());
  }
  kill(): Promise<void> {
    this.killed++;
    for (const timer of this.#timers) clearTimeout(timer); // a killed proc never gets ready
    return Promise.reject(TerminateError.unsupported());
  }
}

class TestManager implements ProcManager<TestHandle> {
  readonly handles: TestHandle[] = [];
  omitAddr = false;
  omitAgent = false;
  constructor(readonly mode: ReadyMode, readonly transportKind: Transport = "local") {}
  static local(mode: ReadyMode): TestManager {
    return new TestManager(mode);
  }
  withOmissions(addr: boolean, agent: boolean): this {
    this.omitAddr = addr;
    this.omitAgent = agent;
    return this;
  }
  transport(): Transport {
    return this.transportKind;
  }
  spawn(procId: ProcId, forwarderAddr: ChannelAddr): Promise<TestHandle> {
    const h = new TestHandle(procId, forwarderAddr, this.mode, this.omitAddr, this.omitAgent);
    this.handles.push(h);
    return Promise.resolve(h);
  }
}

async function spawnError(manager: TestManager, name: string): Promise<HostError> {
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  return await assertRejects(() => host.spawn(name), HostError);
}

Deno.test("HO-4: host_spawn_times_out_when_configured", async () => {
  using _o = config.override(HOST_SPAWN_READY_TIMEOUT, 10);
  const manager = TestManager.local({ kind: "OkAfter", ms: 200 });
  const err = await spawnError(manager, "t");
  assertEquals(err.kind, "ProcessConfigurationFailure");
  assert(err.message.includes("timeout waiting for Ready after 10ms"), err.message);
  assertEquals(manager.handles[0].killed, 1, "HO-4: the unusable proc is killed");
});

Deno.test("HO-4: host_spawn_timeout_zero_disables_and_succeeds", async () => {
  using _o = config.override(HOST_SPAWN_READY_TIMEOUT, 0);
  const { host } = await Host.serve(
    TestManager.local({ kind: "OkAfter", ms: 20 }),
    ChannelAddr.any("local"),
  );
  await using _host = host;
  const { procId, agentRef } = await host.spawn("ok");
  assert(agentRef.actorId.procId.equals(procId));
  assert(host.procs.has("ok"));
});

Deno.test("HO-4: host_spawn_maps_channel_closed_ready_error_to_config_failure", async () => {
  const err = await spawnError(TestManager.local({ kind: "ErrChannelClosed" }), "p");
  assertEquals(err.kind, "ProcessConfigurationFailure");
  assert(err.cause instanceof ReadyError && err.cause.kind === "ChannelClosed");
});

Deno.test("HO-4: host_spawn_maps_terminal_ready_error_to_config_failure", async () => {
  const err = await spawnError(TestManager.local({ kind: "ErrTerminal" }), "p");
  assertEquals(err.kind, "ProcessConfigurationFailure");
  assert(err.cause instanceof ReadyError && err.cause.kind === "Terminal");
});

Deno.test("HO-4: host_spawn_fails_if_ready_but_missing_addr", async () => {
  const manager = TestManager.local({ kind: "OkAfter", ms: 0 }).withOmissions(true, false);
  const err = await spawnError(manager, "no-addr");
  assertEquals(err.kind, "ProcessConfigurationFailure");
  assert(err.message.includes("no addr() available"), err.message);
});

Deno.test("HO-4: host_spawn_fails_if_ready_but_missing_agent", async () => {
  const manager = TestManager.local({ kind: "OkAfter", ms: 0 }).withOmissions(false, true);
  const err = await spawnError(manager, "no-agent");
  assertEquals(err.kind, "ProcessConfigurationFailure");
  assert(err.message.includes("no agent_ref() available"), err.message);
});

Deno.test("HO-4: a failed spawn releases the name for a later attempt", async () => {
  const manager = TestManager.local({ kind: "ErrChannelClosed" });
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  await assertRejects(() => host.spawn("p"), HostError);
  const err = await assertRejects(() => host.spawn("p"), HostError);
  assertEquals(err.kind, "ProcessConfigurationFailure", "not ProcExists");
});

Deno.test("Host.terminateChildren() rejects a manager without BulkTerminate", async () => {
  const { host } = await Host.serve(
    TestManager.local({ kind: "OkAfter", ms: 0 }),
    ChannelAddr.any("local"),
  );
  await using _host = host;
  await assertRejects(() => host.terminateChildren({ graceMs: 10, maxInFlight: 1 }), TypeError);
});

Deno.test("HO-5: Host.terminateChildren() terminates every child and counts them", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", agent));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  for (const name of ["a", "b", "c"]) await host.spawn(name);
  const summary = await host.terminateChildren({ graceMs: 1_000, maxInFlight: 2, reason: "test" });
  assertEquals(String(summary), "attempted=3 ok=3 failed=0");
  assertEquals(manager.procs.size, 0);
  const again = await host.terminateChildren({ graceMs: 1_000, maxInFlight: 2, reason: "test" });
  assertEquals(String(again), "attempted=0 ok=0 failed=0", "idempotent");
});

Deno.test("Host.terminateProc() delegates to the manager's SingleTerminate", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", agent));
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const { procId, agentRef } = await host.spawn("a");
  using cx = host.systemProc.instance("cx");
  const { stopped, aborted } = await host.terminateProc(cx, procId, {
    graceMs: 1_000,
    reason: "test",
  });
  assertEquals(stopped.map(String), [agentRef.actorId.toString()]);
  assertEquals(aborted, []);
  await assertRejects(
    () => host.terminateProc(cx, procId, { graceMs: 1_000 }),
    Error,
    "doesn't exist",
  );
});

Deno.test("Host[Symbol.asyncDispose]() stops serving and is idempotent", async () => {
  const { host, handle } = await Host.serve(
    new LocalProcManager((proc) => proc.spawn("agent", agent)),
    ChannelAddr.any("local"),
  );
  await host.spawn("a");
  await host[Symbol.asyncDispose]();
  await host[Symbol.asyncDispose]();
  await handle.done;
  assertEquals(handle.stopReason, "host disposed");
});
