import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ActorId } from "../actor/reference.ts";
import type { ActorRef } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";
import { Host } from "../host/host.ts";
import { HostError } from "../host/errors.ts";
import { ProcessProcManager } from "./fixtures/process_proc_manager.ts";
import type { EchoActor } from "../host/testing.ts";
import type { ClientInstance } from "../actor/types.ts";

const FIXTURE = new URL("./fixtures/host_proc_child.ts", import.meta.url).pathname;
const CHILD_ARGS = [
  "run",
  "--quiet",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  FIXTURE,
];
const permissions: Deno.TestDefinition["permissions"] = {
  run: true,
  read: true,
  write: true,
  net: true,
  env: true,
};

/** Whether `pid` is still a live (not zombie) process. */
async function isRunning(pid: number): Promise<boolean> {
  const { stdout } = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] })
    .output();
  const stat = new TextDecoder().decode(stdout).trim();
  return stat !== "" && !stat.startsWith("Z");
}

/** Sends `Echo` from `from`, replying to `replyTo`, and waits (bounded) for the id. */
async function echo(
  target: ActorRef<EchoActor>,
  from: ClientInstance,
  replyTo: ClientInstance = from,
): Promise<ActorId> {
  const { ref, receiver } = replyTo.openOncePort<string>();
  target.send(from, "Echo", ref);
  const signal = AbortSignal.timeout(5_000);
  return ActorId.parse(await receiver.recv({ signal }));
}

Deno.test({
  name: "test_process_proc_manager: real child procs are reachable through the host",
  permissions,
  async fn() {
    // EchoActor is the "agent" used to test connectivity.
    const manager = new ProcessProcManager<EchoActor>(Deno.execPath(), { args: CHILD_ARGS });
    const { host } = await Host.serve(manager, ChannelAddr.any("unix"));
    // The standalone client proc of step (3); it outlives the host (disposed last).
    await using client = await Proc.direct(ChannelAddr.any(host.addr.transport), "test");
    using clientInst = client.instance("test");
    let pids: number[] = [];
    try {
      // (1) Spawn and check invariants.
      assertEquals(host.addr.transport, "unix");
      const { procId: proc1, agentRef: echo1 } = await host.spawn("proc1");
      const { procId: proc2, agentRef: echo2 } = await host.spawn("proc2");
      assert(echo1.actorId.procId.equals(proc1));
      assert(echo2.actorId.procId.equals(proc2));
      pids = [...manager.pids.values()];
      assertEquals(pids.length, 2);

      // (2) Duplicate name rejection.
      const dup = await assertRejects(() => host.spawn("proc1"), HostError);
      assertEquals(dup.kind, "ProcExists");

      // (3) A standalone client proc reaches echo1 through the host:
      // client -> host frontend/router -> echo1; echo1 -> host backend -> router -> client.
      assert((await echo(echo1, clientInst)).equals(echo1.actorId));

      // (4) The same for echo2 (cross-proc routing under one host).
      assert((await echo(echo2, clientInst)).equals(echo2.actorId));

      // (5) System proc -> child; the reply goes to the client proc, so it
      // traverses the host (child forwarder -> host backend -> router -> client).
      using sysInst = host.systemProc.instance("sys-client");
      assert((await echo(echo1, sysInst, clientInst)).equals(echo1.actorId));
    } finally {
      await host[Symbol.asyncDispose]();
    }
    // No orphans: disposing the host disposes the manager, which kills the children.
    for (const pid of pids) {
      assert(!(await isRunning(pid)), `no orphans: child ${pid} still running`);
    }
  },
});

Deno.test({
  name: "ProcessProcManager.spawn() maps a child that exits before calling back",
  permissions,
  async fn() {
    const manager = new ProcessProcManager(Deno.execPath(), {
      args: ["eval", "Deno.exit(3)"],
    });
    const { host } = await Host.serve(manager, ChannelAddr.any("unix"));
    await using _host = host;
    const err = await assertRejects(() => host.spawn("p"), HostError);
    assertEquals(err.kind, "ProcessConfigurationFailure");
    assert(err.message.includes("exited with code 3"), err.message);
    assertEquals(manager.pids.size, 0);
  },
});

Deno.test({
  name: "ProcessProcManager.spawn() maps an unstartable program to ProcessSpawnFailure",
  permissions,
  async fn() {
    const manager = new ProcessProcManager("/nonexistent/hypermesh-child");
    const { host } = await Host.serve(manager, ChannelAddr.any("unix"));
    await using _host = host;
    const err = await assertRejects(() => host.spawn("p"), HostError);
    assertEquals(err.kind, "ProcessSpawnFailure");
  },
});

Deno.test({
  name: "HostError MissingParameter: a child without the environment fails to boot",
  permissions,
  async fn() {
    const env = Deno.env.toObject();
    for (const key of Object.keys(env)) if (key.startsWith("HYPERACTOR_HOST_")) delete env[key];
    const out = await new Deno.Command(Deno.execPath(), {
      args: CHILD_ARGS,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(!out.success);
    const stderr = new TextDecoder().decode(out.stderr);
    assert(stderr.includes("parameter 'HYPERACTOR_HOST_PROC_ID' missing"), stderr);
  },
});
