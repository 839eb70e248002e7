/**
 * Restart policies end to end (RS-*): real host and proc processes. A rank
 * SIGKILLed from outside comes back in place under its mesh's policy — same
 * rank, a new proc, its actors re-created — until the intensity limit ends
 * it with an ordinary escalation; stop exit codes are not restarted; the
 * backoff grows; the other ranks answer throughout; a message to a former
 * incarnation bounces; teardown during a pending restart leaves nothing.
 * @module
 */

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import { deadline } from "@std/async/deadline";
import { attrs, config } from "../config/mod.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { MeshFailure } from "../mesh/supervision/failure.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import type { RestartPolicyInit } from "../mesh/restart/policy.ts";
import { RestartPolicyError } from "../mesh/restart/policy.ts";
import type { ProcMesh } from "../mesh/proc_mesh.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { request } from "../actor/request.ts";
import type { HostInfo } from "../mesh/host_agent/protocol.ts";
import { formatHostStatus } from "../cli/status.ts";
import { type AdminNode, spawnAdmin } from "../mesh/admin.ts";
import { isAlive, until, workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

const WAIT_MS = 20_000;

interface Pong {
  pid: number;
  actor: string;
}

/** Records what escalates to the root hook; restores the previous hook on dispose. */
function captureHook(): { seen: MeshFailure[] } & Disposable {
  const seen: MeshFailure[] = [];
  const previous = setUnhandledMeshFailureHook((f) => void seen.push(f));
  return { seen, [Symbol.dispose]: () => void setUnhandledMeshFailureHook(previous) };
}

async function ping(cx: ClientInstance, mesh: ActorMesh): Promise<(Pong | CallError)[]> {
  const replies = await mesh.call(cx, "Ping" as never, {} as never, { timeoutMs: WAIT_MS });
  return replies.values() as (Pong | CallError)[];
}

function pong(value: Pong | CallError, what: string): Pong {
  if (value instanceof CallError) throw new Error(`${what}: ${value.message}`);
  return value;
}

/** A local process host with `n` procs under `policy` and a crasher mesh on them. */
async function withRestarts(
  n: number,
  policy: RestartPolicyInit,
  fn: (cx: ClientInstance, procs: ProcMesh, crashers: ActorMesh) => Promise<void>,
  command: BootstrapCommand = WORKER,
): Promise<void> {
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command });
    const procs = await hosts.ref.spawn(cx, "rs", Extent.of({ procs: n }), {
      restartPolicy: policy,
    });
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    await fn(cx, procs, crashers);
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
  }
}

Deno.test("RS-1: a nonsensical restart policy is refused before anything is spawned", async () => {
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    for (
      const [policy, field] of [
        [{ restart: "sometimes" }, "restart"],
        [{ restart: "on-failure", maxRestarts: -1 }, "maxRestarts"],
        [{ restart: "on-failure", withinMs: 0 }, "withinMs"],
        [{ restart: "always", backoff: { initialMs: 2_000, maxMs: 1_000 } }, "backoff.initialMs"],
        [{ restart: "always", backoff: { factor: 0.5 } }, "backoff.factor"],
        [{ restart: "always", stopExitCodes: [300] }, "stopExitCodes"],
      ] as const
    ) {
      const error = await hosts.ref.spawn(cx, "bad", Extent.of({ procs: 1 }), {
        restartPolicy: policy as unknown as RestartPolicyInit,
      }).then(() => undefined, (e) => e);
      assertInstanceOf(error, RestartPolicyError, JSON.stringify(policy));
      assertEquals(error.field, field);
    }
    const host = hosts.ref.hosts[0];
    const info = await request<HostInfo>(cx, "introspect", (reply) => {
      host.agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply });
    }, { timeoutMs: WAIT_MS });
    assertEquals(info.procs, [], "RS-1: nothing was spawned");
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
  }
});

Deno.test("RS-2, RS-3, RS-5, RS-6: a rank SIGKILLed three times under maxRestarts 2 is restarted twice, with growing backoff, then escalates", async () => {
  using hook = captureHook();
  const policy = {
    restart: "on-failure" as const,
    maxRestarts: 2,
    withinMs: 60_000,
    backoff: { initialMs: 300, factor: 2, maxMs: 5_000 },
  };
  await withRestarts(2, policy, async (cx, procs, crashers) => {
    const before = (await ping(cx, crashers)).map((p, i) => pong(p, `rank ${i}`));
    const firstProc = procs.rank(1).procId.key;
    const elapsed: number[] = [];
    let victim = before[1].pid;
    for (const attempt of [1, 2]) {
      const t0 = performance.now();
      Deno.kill(victim, "SIGKILL");
      await until(() => procs.restarts()[1].restarts === attempt, `restart ${attempt} begins`);
      // The other rank answers while rank 1 is down (RS-5: the mesh is not failed).
      const during = await ping(cx, crashers);
      pong(during[0], `rank 0 during restart ${attempt}`);
      await until(() => !procs.restarts()[1].restarting, `restart ${attempt} ends`);
      elapsed.push(performance.now() - t0);
      const after = (await ping(cx, crashers)).map((p, i) => pong(p, `rank ${i} after ${attempt}`));
      assertEquals(after[0].pid, before[0].pid, "the other rank was untouched");
      assertNotEquals(after[1].pid, victim, "rank 1 runs in a new process");
      assertNotEquals(procs.rank(1).procId.key, firstProc, "RS-7: a new proc id");
      assertEquals(after[1].actor, crashers.values()[1].actorId.key);
      victim = after[1].pid;
    }
    assert(elapsed[0] >= 300, `RS-3: first backoff ≥ 300 ms (took ${elapsed[0]})`);
    assert(elapsed[1] >= 600, `RS-3: second backoff ≥ 600 ms (took ${elapsed[1]})`);
    assertEquals(hook.seen, [], "RS-5: restarted failures are not escalated");

    Deno.kill(victim, "SIGKILL"); // the third failure exceeds the intensity
    await until(() => hook.seen.length === 1, "RS-2: escalation");
    const [escalated] = hook.seen;
    assertEquals([escalated.kind, escalated.rank, escalated.restarting], [
      "ProcExit",
      1,
      undefined,
    ]);
    const info = procs.restarts()[1];
    assertEquals([info.restarts, info.gaveUp, info.restarting], [2, true, false]);
    assertEquals(info.lastFailure?.reason, "Killed(sig=9)");
    const last = await ping(cx, crashers);
    pong(last[0], "rank 0 after the escalation");
    assertInstanceOf(last[1], CallError, "the given-up rank stays down");
    assertEquals((last[1] as CallError).reason, "undeliverable");
  });
});

Deno.test("RS-5, RS-6: every restart is a MeshFailure with restarting and its attempt", async () => {
  using hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 10 } };
  await withRestarts(1, policy, async (cx, procs, crashers) => {
    const failures = procs.failures();
    const actorFailures = crashers.failures();
    for (const attempt of [1, 2]) {
      const [p] = await ping(cx, crashers);
      Deno.kill(pong(p, "rank 0").pid, "SIGKILL");
      const f = (await deadline(failures.next(), WAIT_MS)).value as MeshFailure;
      assertEquals([f.kind, f.restarting, f.attempt], ["ProcExit", true, attempt]);
      const a = (await deadline(actorFailures.next(), WAIT_MS)).value as MeshFailure;
      assertEquals([a.meshName, a.restarting, a.attempt], ["crasher", true, attempt], "SV-7");
      await until(() => !procs.restarts()[0].restarting, `restart ${attempt}`);
    }
    await failures.return!();
    await actorFailures.return!();
    assertEquals(hook.seen, []);
  });
});

Deno.test("RS-4: an exit code listed in stopExitCodes is not restarted; another code is", async () => {
  using hook = captureHook();
  const policy = { restart: "on-failure" as const, stopExitCodes: [3], backoff: { initialMs: 10 } };
  await withRestarts(2, policy, async (cx, procs, crashers) => {
    crashers.values()[0].send(cx, "Exit", { code: 4, line: "exiting with 4" });
    crashers.values()[1].send(cx, "Exit", { code: 3, line: "exiting with 3" });
    await until(() => hook.seen.length === 1, "the stop code escalates as a plain failure");
    assertEquals([hook.seen[0].rank, hook.seen[0].exitCode], [1, 3]);
    await until(
      () => procs.restarts()[0].restarts === 1 && !procs.restarts()[0].restarting,
      "rank 0 restarted",
    );
    const [r0, r1] = await ping(cx, crashers);
    pong(r0, "rank 0 came back");
    assertInstanceOf(r1, CallError, "RS-4: rank 1 was not restarted");
    assertEquals(procs.restarts()[1].restarts, 0);
  });
});

Deno.test("RS-7: a failed actor comes back as a new incarnation on its live proc; its former incarnation's messages bounce", async () => {
  using hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 10 } };
  await withRestarts(1, policy, async (cx, procs, crashers) => {
    const [before] = await ping(cx, crashers);
    const stale = crashers.values()[0];
    stale.send(cx, "Crash", { why: "boom" });
    await until(
      () => crashers.restarts()[0].restarts === 1 && !crashers.restarts()[0].restarting,
      "actor restart",
    );
    const [after] = await ping(cx, crashers);
    assertEquals(pong(after, "new incarnation").pid, pong(before, "before").pid, "the same proc");
    assertEquals(crashers.values()[0].actorId.name, "crasher--r1");
    assertEquals(procs.restarts()[0].restarts, 0, "the proc was not restarted");
    assertEquals(hook.seen, []);
    // A message to the failed incarnation bounces instead of reaching the new one.
    const { ref, receiver } = cx.openPort<number>();
    using _r = receiver;
    stale.send(cx, "Pid", { reply: ref });
    let bounced: MessageEnvelope;
    do bounced = await cx.undeliverables.recv({ timeoutMs: WAIT_MS }); while (
      bounced.dest !== stale.port("Pid").port
    );
    assertEquals(bounced.dest, stale.port("Pid").port);
  });
});

Deno.test("RS-7: after a proc restart, a message to the former incarnation bounces and a cast reaches the new actor", async () => {
  using _hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 10 } };
  await withRestarts(1, policy, async (cx, procs, crashers) => {
    const stale = crashers.values()[0];
    const [before] = await ping(cx, crashers);
    Deno.kill(pong(before, "before").pid, "SIGKILL");
    await until(
      () => procs.restarts()[0].restarts === 1 && !procs.restarts()[0].restarting,
      "restart",
    );
    const { ref, receiver } = cx.openPort<number>();
    using _r = receiver;
    crashers.cast(cx, "Pid", { reply: ref });
    const pid = await receiver.recv({ timeoutMs: WAIT_MS });
    assertNotEquals(
      pid,
      before instanceof CallError ? 0 : before.pid,
      "the cast reached the new proc",
    );
    stale.send(cx, "Pid", { reply: ref });
    let bounced: MessageEnvelope;
    do bounced = await cx.undeliverables.recv({ timeoutMs: WAIT_MS }); while (
      bounced.dest !== stale.port("Pid").port
    );
    assertEquals(bounced.dest, stale.port("Pid").port, "the former incarnation's copy bounced");
  });
});

Deno.test("RS-8: a restart whose new proc fails to start is a new failure, until the intensity limit escalates", async () => {
  using hook = captureHook();
  const marker = await Deno.makeTempFile({ prefix: "hypermesh-rs8-" });
  await Deno.remove(marker);
  const command = WORKER.withEnv({ HYPERMESH_TEST_REFUSE_START_IF: marker });
  const policy = { restart: "on-failure" as const, maxRestarts: 2, backoff: { initialMs: 10 } };
  // The fixture refuses when its process starts: only a cold start (a fresh
  // exec) sees the marker, so the hosts keep no warm pool here (BS-41).
  using _cold = config.override(attrs.PREWARM_PROCS, 0);
  try {
    await withRestarts(1, policy, async (cx, procs, crashers) => {
      const [p] = await ping(cx, crashers);
      await Deno.writeTextFile(marker, "refuse");
      Deno.kill(pong(p, "rank 0").pid, "SIGKILL");
      await until(() => hook.seen.length === 1, "RS-2: escalation after two failed restarts");
      assertEquals(procs.restarts()[0].restarts, 2, "RS-8: each failed start was restarted");
      assertStringIncludes(hook.seen[0].reason, "restart 2 failed", "RS-8");
      assertEquals(procs.restarts()[0].gaveUp, true);
    }, command);
  } finally {
    await Deno.remove(marker).catch(() => {});
  }
});

Deno.test("RS-6: the host reports a restarted rank's count and last failure; status and the admin tree show them, former incarnations superseded", async () => {
  using _hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 0 } };
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "rs", Extent.of({ procs: 2 }), {
      restartPolicy: policy,
    });
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const former = procs.rank(1).procId.key;
    const [, p1] = await ping(cx, crashers);
    Deno.kill(pong(p1, "rank 1").pid, "SIGKILL");
    await until(
      () => procs.restarts()[1].restarts === 1 && !procs.restarts()[1].restarting,
      "restart",
    );
    const current = procs.rank(1).procId.key;
    const host = hosts.ref.hosts[0];
    const info = await request<HostInfo>(cx, "introspect", (reply) => {
      host.agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply });
    }, { timeoutMs: WAIT_MS });
    const restarted = info.procs.find((p) => p.procId === current);
    assertEquals([restarted?.restarts, restarted?.lastFailure], [1, "Killed(sig=9)"]);
    const lines = formatHostStatus(0, host.toString(), info);
    const line = (procId: string) => lines.find((l) => l.includes(` ${procId}:`)) ?? "";
    assertStringIncludes(line(current), "(restarted 1×, last failure: Killed(sig=9))");
    assertStringIncludes(line(former), `(superseded by ${current})`);
    assert(!line(procs.rank(0).procId.key).includes("restarted"), "rank 0 was not restarted");

    const admin = await spawnAdmin([hosts.ref], cx);
    const tree = await request<AdminNode>(cx, "admin tree", (reply) => {
      admin.send(cx, "GetTree", { reply: { port: reply, returnUndeliverable: false } });
    }, { timeoutMs: WAIT_MS });
    const nodes = tree.children.flatMap((h) => h.children);
    const node = (procId: string) => nodes.find((n) => n.identity === procId)?.properties ?? {};
    assertEquals([node(current).restarts, node(current).lastFailure], [1, "Killed(sig=9)"]);
    assertEquals(node(former).supersededBy, current);
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
  }
});

Deno.test("RS-9: tearing down during a pending restart leaves zero processes", async () => {
  using _hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 60_000, maxMs: 60_000 } };
  const pids: number[] = [];
  await withRestarts(2, policy, async (cx, procs, crashers) => {
    for (const p of await ping(cx, crashers)) pids.push(pong(p, "ping").pid);
    Deno.kill(pids[1], "SIGKILL");
    await until(() => procs.restarts()[1].restarting, "restart pending");
  });
  for (const pid of pids) assert(!(await isAlive(pid)), `pid ${pid} is gone`);
});

Deno.test("FO-5, RS-7: a cast through the host fan-out reaches a restarted rank's new incarnation", async () => {
  using _hook = captureHook();
  const policy = { restart: "on-failure" as const, backoff: { initialMs: 10 } };
  await withRestarts(2, policy, async (cx, _procs, crashers) => {
    crashers.values()[1].send(cx, "Crash", { why: "boom" });
    await until(
      () => crashers.restarts()[1].restarts === 1 && !crashers.restarts()[1].restarting,
      "actor restart",
    );
    assertEquals(crashers.values()[1].actorId.name, "crasher--r1");
    const { ref, receiver } = cx.openPort<number>();
    using _r = receiver;
    crashers.cast(cx, "Pid", { reply: ref }); // 2 ranks on one host: one CastForward (FO-1)
    const pids = [
      await receiver.recv({ timeoutMs: WAIT_MS }),
      await receiver.recv({ timeoutMs: WAIT_MS }),
    ];
    assertEquals(new Set(pids).size, 2, "FO-5: both ranks answered, the restarted one too");
  });
});
