import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { config } from "../../config/config.ts";
import { MESH_ORPHAN_TIMEOUT, STOP_ACTOR_TIMEOUT } from "../../config/attrs.ts";
import { Proc } from "../../actor/proc.ts";
import type { ClientInstance } from "../../actor/types.ts";
import { ActorRef } from "../../actor/port.ts";
import { ProcAgent } from "./proc_agent.ts";
import { SUPERVISION_REFUSAL } from "./_resources.ts";
import { PROC_AGENT_ACTOR_NAME, type ProcAttrs } from "./protocol.ts";
import {
  create,
  ECHO_TYPE,
  getState,
  localProc,
  query,
  rankStatus,
  terminalStatus,
} from "./_test_util.ts";

function idOf(proc: Proc, name: string): string {
  return `${proc.procId.key},${name}[0]`;
}

Deno.test("PA-7: Introspect lists actors spawned directly on the proc on the next query (seed test_query_child_proc_returns_live_children)", async () => {
  await using proc = await localProc("test_proc");
  await using clientProc = await localProc("client");
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = clientProc.instance("client");
  const agentRef = ActorRef.attest<ProcAgent>(idOf(proc, PROC_AGENT_ACTOR_NAME));
  assertEquals(agentRef.actorId.key, agent.actorId.key);

  const first = await query(client, agentRef, proc.procId.key);
  assertEquals(first.attrs.nodeType, "proc");
  assert(
    first.children.some((c) => c.includes(PROC_AGENT_ACTOR_NAME)),
    `PA-7: initial children ${first.children} should contain proc_agent`,
  );
  assert((first.attrs as ProcAttrs).systemChildren.includes(agent.actorId.key));

  proc.spawn("extra_actor", { handlers: {} }); // bypasses the agent
  const second = await query(client, agentRef, proc.procId.key);
  assertEquals(second.attrs.nodeType, "proc");
  assert(
    second.children.some((c) => c.includes("extra_actor")),
    `PA-7: after a direct spawn, children ${second.children} should contain extra_actor`,
  );
  assert(second.children.length > first.children.length);
});

Deno.test("PA-7: 200 rapid spawn/stop cycles do not stall the agent (seed test_rapid_spawn_stop_does_not_stall_proc_agent)", async () => {
  await using proc = await localProc("test_proc");
  await using clientProc = await localProc("client");
  await using queryProc = await localProc("query_client");
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = clientProc.instance("client");
  using qc = queryProc.instance("qc");

  let queries = 0;
  let running = true;
  const queryTask = (async () => {
    while (running) {
      try {
        await query(qc, agent.ref, proc.procId.key);
        queries++;
      } catch {
        // transient failures are expected during churn
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();

  const ITERATIONS = 200;
  let completed = 0;
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const handle = proc.spawn(`churn_${i}`, { handlers: {} });
      const cell = proc.stopActor(handle.actorId, "churn");
      if (cell) await terminalStatus(proc, handle.actorId.key);
      completed++;
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    running = false;
    await queryTask;
  }
  assertEquals(completed, ITERATIONS, "PA-7: every spawn/stop iteration completed");
  assert(queries > 0, "PA-7: concurrent queries succeeded");
  const final = await query(client, agent.ref, proc.procId.key);
  const attrs = final.attrs as ProcAttrs;
  assertEquals(attrs.nodeType, "proc");
  assert(
    attrs.stoppedChildren.length > 0 && attrs.stoppedChildren.length <= attrs.stoppedRetentionCap,
  );
});

Deno.test("PA-2: spawning an unknown actor type records a clean Failed status, not a crash", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "ghost", 2, "pa_test::NoSuchType");
  const overlay = await rankStatus(client, agent.ref, "ghost");
  assertEquals(overlay.runs.length, 1);
  assertEquals([overlay.runs[0].start, overlay.runs[0].end], [2, 3]);
  const status = overlay.runs[0].value;
  assertEquals(status.kind, "Failed");
  assertStringIncludes((status as { message: string }).message, "not registered");
  // The agent is still serving, and a good spawn still works.
  create(client, agent.ref, "good", 2);
  assertEquals((await rankStatus(client, agent.ref, "good")).runs[0].value.kind, "Running");
  assertEquals(agent.status.get().kind === "Failed", false);
  const state = await getState(client, agent.ref, "ghost");
  assertEquals([state.status.kind, state.state], ["Failed", null]);
});

Deno.test("PA-2: a throwing actor fails its rank and refuses later spawns on the proc", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "worker", 1);
  assertEquals((await rankStatus(client, agent.ref, "worker")).runs[0].value.kind, "Running");
  const workerId = idOf(proc, "worker");
  ActorRef.attest<{ handlers: { Boom: (cx: unknown, m: null) => void } }>(workerId)
    .send(client, "Boom", null);
  assertEquals((await terminalStatus(proc, workerId)).kind, "Failed");

  const worker = (await rankStatus(client, agent.ref, "worker")).runs[0];
  assertEquals(worker.start, 1);
  assertEquals(worker.value.kind, "Failed", "PA-2: the failing actor's rank is Failed");
  assertStringIncludes((worker.value as { message: string }).message, "supervision events");

  create(client, agent.ref, "later", 1);
  const later = (await rankStatus(client, agent.ref, "later")).runs[0].value;
  assertEquals(later, { kind: "Failed", message: SUPERVISION_REFUSAL }, "PA-2: spawn refused");
  assertEquals(proc.actorStatus(idOf(proc, "later")), undefined, "PA-2: nothing spawned");

  const state = await getState(client, agent.ref, "worker");
  assertEquals(state.state?.actorId, workerId);
  assertEquals(state.state?.supervisionEvents.length, 1);
  const attrs = (await query(client, agent.ref, proc.procId.key)).attrs as ProcAttrs;
  assertEquals([attrs.isPoisoned, attrs.failedActorCount], [true, 1]);
  const dead = await query(client, agent.ref, workerId);
  assertEquals(dead.attrs.nodeType, "actor");
});

Deno.test("PA-1: a second CreateOrUpdate for a known name is ignored", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "once", 4);
  create(client, agent.ref, "once", 7, "pa_test::NoSuchType");
  const overlay = await rankStatus(client, agent.ref, "once");
  assertEquals(overlay.runs.map((r) => [r.start, r.value.kind]), [[4, "Running"]]);
});

Deno.test("PA-5: GetRankStatus of an unknown name is an empty overlay; GetState is NotExist", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  assertEquals((await rankStatus(client, agent.ref, "nobody")).runs, []);
  const state = await getState(client, agent.ref, "nobody");
  assertEquals([state.kind, state.status.kind, state.state], ["State", "NotExist", null]);
});

Deno.test("PA-6: Stop stops a created actor once; its status becomes Stopped", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "victim", 0);
  const before = await getState(client, agent.ref, "victim");
  assertEquals(before.status.kind, "Running");
  agent.ref.send(client, "Stop", { kind: "Stop", name: "victim", reason: "done" });
  agent.ref.send(client, "Stop", { kind: "Stop", name: "victim", reason: "again" });
  agent.ref.send(client, "Stop", { kind: "Stop", name: "unknown", reason: "x" });
  const after = await getState(client, agent.ref, "victim");
  assertEquals(after.status.kind, "Stopped");
  assert(after.generation > before.generation, "generation grows with status changes");
  assertEquals(
    await terminalStatus(proc, idOf(proc, "victim")),
    { kind: "Stopped", reason: "done" },
    "PA-6: the first Stop's reason wins",
  );
  // A clean stop does not poison the proc.
  create(client, agent.ref, "next", 0);
  assertEquals((await rankStatus(client, agent.ref, "next")).runs[0].value.kind, "Running");
});

Deno.test("PA-4: keepalive expiry stops orphaned actors; live keepalives are kept", async () => {
  using _o = config.override(MESH_ORPHAN_TIMEOUT, 20);
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "orphan", 0);
  create(client, agent.ref, "kept", 1);
  const keepalive = (name: string, expiresAfterMs: number) => {
    const { ref, receiver } = client.openOncePort<unknown>();
    agent.ref.send(client, "KeepaliveGetState", {
      kind: "KeepaliveGetState",
      expiresAfterMs,
      getState: { kind: "GetState", name, reply: ref.port },
    });
    return receiver.recv({ timeoutMs: 5_000 });
  };
  await keepalive("orphan", Date.now() - 1);
  await keepalive("kept", Date.now() + 600_000);
  const status = await terminalStatus(proc, idOf(proc, "orphan"));
  assertEquals(status, { kind: "Stopped", reason: "orphaned" }, "PA-4: stopped as orphaned");
  assertEquals((await getState(client, agent.ref, "orphan")).status.kind, "Stopped");
  assertEquals(proc.actorStatus(idOf(proc, "kept"))?.get().kind, "Idle");
});

Deno.test("PA-4: orphan timeout 0 disables the check", async () => {
  using _o = config.override(MESH_ORPHAN_TIMEOUT, 0);
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  create(client, agent.ref, "a", 0);
  const { ref, receiver } = client.openOncePort<unknown>();
  agent.ref.send(client, "KeepaliveGetState", {
    kind: "KeepaliveGetState",
    expiresAfterMs: 0,
    getState: { kind: "GetState", name: "a", reply: ref.port },
  });
  await receiver.recv({ timeoutMs: 5_000 });
  agent.ref.send(client, "SelfCheck", {});
  assertEquals((await getState(client, agent.ref, "a")).status.kind, "Running");
});

Deno.test("PA-3: StopAll stops everything but the agent, then calls onStopAll(0), never replies", async () => {
  await using proc = Proc.local();
  const codes: number[] = [];
  const { promise: called, resolve } = Promise.withResolvers<void>();
  const agent = ProcAgent.bootV1(proc, {
    onStopAll: (code) => {
      codes.push(code);
      resolve();
    },
  });
  using client = proc.instance("client");
  create(client, agent.ref, "a", 0);
  create(client, agent.ref, "b", 1);
  proc.spawn("direct", { handlers: {} });
  await rankStatus(client, agent.ref, "b");
  agent.ref.send(client, "StopAll", { kind: "StopAll", reason: "bye" });
  await called;
  assertEquals(codes, [0], "PA-3: exit code 0 when everything stopped");
  for (const name of ["a", "b", "direct"]) {
    assertEquals((await terminalStatus(proc, idOf(proc, name))).kind, "Stopped");
  }
  assertEquals(client.undeliverables.tryRecv(), undefined, "PA-3: no reply, no bounce");
  assertEquals(agent.status.get().kind === "Stopped", false, "the agent survives StopAll");
  assertEquals((await getState(client, agent.ref, "a")).status.kind, "Stopped");
});

Deno.test("PA-3: StopAll reports exit code 1 when an actor had to be aborted", async () => {
  using _t = config.override(STOP_ACTOR_TIMEOUT, 30);
  await using proc = Proc.local();
  const { promise: code, resolve } = Promise.withResolvers<number>();
  const agent = ProcAgent.bootV1(proc, { onStopAll: resolve });
  using client: ClientInstance = proc.instance("client");
  create(client, agent.ref, "stuck", 0);
  await rankStatus(client, agent.ref, "stuck");
  ActorRef.attest<{ handlers: { Hang: (cx: unknown, m: null) => void } }>(idOf(proc, "stuck"))
    .send(client, "Hang", null);
  agent.ref.send(client, "StopAll", { kind: "StopAll", reason: "bye" });
  assertEquals(await code, 1, "PA-3: exit code 1 after an abort");
});

Deno.test("ProcAgent answers NewClientInstance and GetProc in process", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  const got = await new Promise<Proc>((resolve) =>
    agent.ref.send(client, "GetProc", { reply: resolve })
  );
  assert(got === proc);
  using fresh = await new Promise<ClientInstance>((resolve) =>
    agent.ref.send(client, "NewClientInstance", { reply: resolve })
  );
  assertEquals(fresh.self.name, "client_1");
  assertEquals(fresh.status.get().kind, "Client");
});

Deno.test("ProcAgent installs itself as the supervision coordinator; a second agent fails init", async () => {
  await using proc = Proc.local();
  const agent = ProcAgent.bootV1(proc, { onStopAll: () => {} });
  using client = proc.instance("client");
  await rankStatus(client, agent.ref, "x"); // init done
  assertEquals(proc.supervisionCoordinator?.portId.actorId.key, agent.actorId.key);
  const second = proc.spawn("other_agent", new ProcAgent(proc, { onStopAll: () => {} }));
  const status = await second.wait();
  assertEquals(status.kind, "Failed");
  assertEquals(ECHO_TYPE.length > 0, true);
});
