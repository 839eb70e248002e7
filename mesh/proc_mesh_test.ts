import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import type { Proc } from "../actor/proc.ts";
import { Region } from "../ndslice/region.ts";
import { ProcMesh } from "./proc_mesh.ts";
import { ActorSpawnError } from "./actor_mesh.ts";
import { ProcAgent } from "./proc_agent/proc_agent.ts";
import { SUPERVISION_REFUSAL } from "./proc_agent/_resources.ts";
import { BAD_INIT_TYPE, ECHO_TYPE, localProc, type TestEcho } from "./proc_agent/_test_util.ts";
import { terminalStatus } from "./proc_agent/_test_util.ts";

async function fourProcs(): Promise<{ procs: Proc[]; mesh: ProcMesh } & AsyncDisposable> {
  const procs: Proc[] = [];
  for (let i = 0; i < 4; i++) procs.push(await localProc(`pm_${i}`));
  const agents = procs.map((p) => ProcAgent.bootV1(p, { onStopAll: () => {} }));
  const mesh = ProcMesh.fromRanks(
    Region.parse("hosts=2/2,gpus=2/1"),
    procs.map((p, i) => ({ procId: p.procId, agent: agents[i].ref })),
  );
  return {
    procs,
    mesh,
    async [Symbol.asyncDispose]() {
      for (const p of procs) await p[Symbol.asyncDispose]();
    },
  };
}

Deno.test("MS-30, MS-31, MS-33: ActorMesh cast reaches every actor across 4 procs; replies come back via ports", async () => {
  await using net = await fourProcs();
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  const actors = await net.mesh.spawn<TestEcho>(cx, "echo", ECHO_TYPE);
  assertEquals(actors.spawnStatuses.values().map((s) => s.kind), Array(4).fill("Running"));
  const refs = actors.values().map((r) => r.actorId.key);
  assertEquals(refs, net.procs.map((p) => `${p.procId.key},echo[0]`));

  const { ref, receiver } = cx.openPort<string>();
  actors.cast(cx, "Echo", ref);
  const replies: string[] = [];
  for (let i = 0; i < 4; i++) replies.push(await receiver.recv({ timeoutMs: 5_000 }));
  receiver.close();
  assertEquals(replies.sort(), [...refs].sort(), "MS-30: one reply per actor");

  const states = await actors.states(cx);
  assertEquals(states.map((s) => [s.status.kind, s.state?.createRank]), [
    ["Running", 0],
    ["Running", 1],
    ["Running", 2],
    ["Running", 3],
  ], "MS-33: rank i was created with rank i");
  const procStates = await net.mesh.states(cx);
  assertEquals(procStates.map((s) => s.status.kind), Array(4).fill("Running"));

  const stopped = await actors.stop(cx, { reason: "test over" });
  assertEquals(
    stopped.values().map((s) => s.kind),
    Array(4).fill("Stopped"),
    "MS-31: stop() resolves once every rank is terminated",
  );
  for (const p of net.procs) {
    assertEquals(await terminalStatus(p, `${p.procId.key},echo[0]`), {
      kind: "Stopped",
      reason: "test over",
    });
  }
});

Deno.test("MS-32: ProcMesh.spawn of an unknown type rejects with per-rank Failed statuses", async () => {
  await using net = await fourProcs();
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  const err: ActorSpawnError = await assertRejects(
    () => net.mesh.spawn(cx, "ghost", "pa_test::Unregistered"),
    ActorSpawnError,
  );
  assertEquals(err.statuses.values().map((s) => s.kind), Array(4).fill("Failed"));
  assertEquals(err.failedRanks, [0, 1, 2, 3]);
  assert(err.message.startsWith(`Cannot spawn actor mesh "ghost": rank 0 is Failed(`));
});

Deno.test("MS-32: a throwing actor on one rank fails that rank of the next spawn (PA-2)", async () => {
  await using net = await fourProcs();
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  const first = await net.mesh.spawn<TestEcho>(cx, "first", ECHO_TYPE);
  first.values()[2].send(cx, "Boom", null);
  assertEquals((await terminalStatus(net.procs[2], first.values()[2].actorId.key)).kind, "Failed");

  const statuses = await first.statuses(cx);
  assertEquals(statuses.values().map((s) => s.kind), ["Running", "Running", "Failed", "Running"]);
  const procStates = await net.mesh.states(cx);
  assertEquals(procStates.map((s) => s.attrs?.isPoisoned), [false, false, true, false]);

  const err: ActorSpawnError = await assertRejects(
    () => net.mesh.spawn(cx, "second", ECHO_TYPE),
    ActorSpawnError,
  );
  assertEquals(err.failedRanks, [2]);
  assertEquals(err.statuses.get(2), { kind: "Failed", message: SUPERVISION_REFUSAL });
});

Deno.test("MS-32: ranks that never answer become Timeout and the spawn rejects", async () => {
  await using net = await fourProcs();
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  // Rank 3's agent id points at an actor that does not exist: its messages bounce.
  const broken = ProcMesh.fromRanks(Region.parse("x=4/1"), [
    ...net.mesh.ranks().slice(0, 3),
    { procId: net.procs[3].procId, agent: `${net.procs[3].procId.key},nobody[0]` },
  ]);
  const err: ActorSpawnError = await assertRejects(
    () => broken.spawn(cx, "partial", ECHO_TYPE, { maxIdleMs: 100 }),
    ActorSpawnError,
  );
  assertEquals(err.statuses.values().map((s) => s.kind), [
    "Running",
    "Running",
    "Running",
    "Timeout",
  ]);
  assertInstanceOf(err.cause, Error);
  // Drain the bounces of the broken rank.
  while (cx.undeliverables.tryRecv() !== undefined);
});

Deno.test("MS-32: an actor whose init throws is reported as its rank's status (never a crash)", async () => {
  await using net = await fourProcs();
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  const err = await net.mesh.spawn(cx, "bad", BAD_INIT_TYPE).then(
    () => undefined,
    (e) => e,
  );
  // Either the first report already saw the failed init, or the spawn succeeded
  // with Initializing/Running and the failure shows up on the next query.
  if (err !== undefined) {
    assertInstanceOf(err, ActorSpawnError);
  } else {
    for (const p of net.procs) await terminalStatus(p, `${p.procId.key},bad[0]`);
  }
  const next: ActorSpawnError = await assertRejects(
    () => net.mesh.spawn(cx, "next", ECHO_TYPE),
    ActorSpawnError,
  );
  assertEquals(next.failedRanks, [0, 1, 2, 3]);
});

Deno.test("ProcMesh.fromRanks checks the rank count; spawn checks the name", async () => {
  const region = Region.parse("x=2/1");
  let threw = false;
  try {
    ProcMesh.fromRanks(region, [{ procId: "local:1,a", agent: "local:1,a,proc_agent[0]" }]);
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assert(threw);
  const mesh = ProcMesh.fromRanks(region, [
    { procId: "local:1,a", agent: "local:1,a,proc_agent[0]" },
    { procId: "local:2,b", agent: "local:2,b,proc_agent[0]" },
  ]);
  await using clientProc = await localProc("pm_client");
  using cx = clientProc.instance("client");
  await assertRejects(() => mesh.spawn(cx, "bad name", ECHO_TYPE), TypeError);
  assertEquals(mesh.toJSON().ranks[1].agent, "local:2,b,proc_agent[0]");
});
