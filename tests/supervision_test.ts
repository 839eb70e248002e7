/**
 * Supervision end to end (SV-*): real host and proc processes; a proc
 * SIGKILLed from outside and an actor whose handler throws reach the mesh's
 * owner as `MeshFailure`s — through `failures()`, an owning actor's
 * `handleMeshFailure`, or the root client's hook — and the status APIs
 * answer for the dead rank at once.
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { deadline } from "@std/async/deadline";
import type { Actor } from "../actor/types.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { MESH_CAST_HEADER } from "../actor/supervision.ts";
import { context, setRootUndeliverableHook, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { MeshFailure } from "../mesh/supervision/failure.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { publishHostLost } from "../mesh/supervision/registry.ts";
import { attrs, config } from "../config/mod.ts";
import { CRASHER, OWNER } from "./fixtures/supervision_worker.ts";
import { workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

const WAIT_MS = 20_000;

/** Records what reaches the root hook; restores the previous hook on dispose. */
function captureHook(): { seen: MeshFailure[]; next(): Promise<MeshFailure> } & Disposable {
  const seen: MeshFailure[] = [];
  let wake: (() => void) | undefined;
  const previous = setUnhandledMeshFailureHook((f) => {
    seen.push(f);
    wake?.();
  });
  let read = 0;
  return {
    seen,
    async next() {
      while (seen.length <= read) await new Promise<void>((r) => (wake = r));
      return seen[read++];
    },
    [Symbol.dispose]: () => void setUnhandledMeshFailureHook(previous),
  };
}

async function next(it: AsyncIterator<MeshFailure>, what: string): Promise<MeshFailure> {
  const r = await deadline(it.next(), WAIT_MS).catch((e: unknown) => {
    throw new Error(`${what}: no failure within ${WAIT_MS} ms`, { cause: e });
  });
  assert(!r.done, `${what}: the stream ended`);
  return r.value;
}

async function pids(cx: ClientInstance, mesh: ActorMesh): Promise<number[]> {
  const { ref, receiver } = cx.openPort<number>();
  using _r = receiver;
  const out: number[] = [];
  for (const actor of mesh.values()) {
    actor.send(cx, "Pid", { reply: ref });
    out.push(await receiver.recv({ timeoutMs: WAIT_MS }));
  }
  return out;
}

/** A fresh local process host (procs are real bootstrap children) with `n` procs and a crasher mesh. */
async function withCrashers(
  n: number,
  fn: (cx: ClientInstance, hosts: HostMesh, crashers: ActorMesh) => Promise<void>,
): Promise<void> {
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "sv", Extent.of({ procs: n }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    await fn(cx, hosts, crashers);
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
  }
}

Deno.test("SV-11, SV-12: a proc SIGKILLed from outside reaches its owner as a ProcExit MeshFailure", async () => {
  using hook = captureHook();
  await withCrashers(2, async (_cx, _hosts, crashers) => {
    const procs = crashers.procMesh;
    const procFailures = procs.failures();
    const actorFailures = crashers.failures();
    const [, pid] = await pids(_cx, crashers);
    Deno.kill(pid, "SIGKILL");
    const f = await next(procFailures, "SV-12: pushed to the owner");
    assertEquals([f.kind, f.meshName, f.rank], ["ProcExit", procs.name, 1]);
    assertEquals(f.procId, procs.rank(1).procId.key, "SV-11: names the proc");
    assertEquals(f.reason, "Killed(sig=9)");
    assertEquals(f.status, { kind: "Failed", message: "Killed(sig=9)" });
    const a = await next(actorFailures, "SV-7: actor mesh");
    assertEquals([a.kind, a.meshName, a.rank], ["ProcExit", "crasher", 1]);
    assertEquals(a.actorId, crashers.values()[1].actorId.key, "SV-7: names the actor");
    await procFailures.return!();
    await actorFailures.return!();
  });
  assertEquals(
    hook.seen,
    [],
    "SV-8: an active failures() iterator handled it; SV-11: teardown is no failure",
  );
});

Deno.test("SV-21, SV-22, SV-23, SV-15: after a failure, statuses answer at once and a message to the dead rank bounces at once, unreported", async () => {
  using _hook = captureHook();
  await withCrashers(2, async (cx, _hosts, crashers) => {
    const procs = crashers.procMesh;
    const failures = procs.failures();
    const [, pid] = await pids(cx, crashers);
    Deno.kill(pid, "SIGKILL");
    await next(failures, "SV-22");
    await failures.return!();
    const t0 = performance.now();
    const statuses = await crashers.statuses(cx);
    const actorStates = await crashers.states(cx);
    const procStates = await procs.states(cx);
    const elapsed = performance.now() - t0;
    assert(elapsed < 10_000, `SV-22: the queries took ${elapsed} ms (the idle bound is 30 s)`);
    assertEquals(statuses.get(1).kind, "Failed", "SV-22: actor status of the dead rank");
    assertEquals(statuses.get(0).kind, "Running");
    assertEquals(actorStates[1].status.kind, "Failed", "SV-22: actor state of the dead rank");
    assertEquals(
      procStates[1].status,
      { kind: "Failed", message: "Killed(sig=9)" },
      "SV-21: the latched proc failure",
    );
    assertEquals(procStates[0].status.kind, "Running");

    const { ref, receiver } = cx.openPort<number>();
    using _r = receiver;
    crashers.cast(cx, "Pid", { reply: ref }); // SV-23: does not throw
    assertEquals(typeof (await receiver.recv({ timeoutMs: WAIT_MS })), "number");
    // An earlier Pid to the killed proc may come back too (BrokenLink, from the channel layer):
    // look for the cast's copy, returned at once without being sent (Unroutable).
    let bounced: MessageEnvelope;
    do bounced = await cx.undeliverables.recv({ timeoutMs: 5_000 }); while (
      bounced.errors[0]?.kind !== "Unroutable"
    );
    assertEquals(
      bounced.dest,
      crashers.values()[1].port("Pid").port,
      "SV-23: the dead rank's copy",
    );
    assertEquals(bounced.headers[MESH_CAST_HEADER], "crasher", "SV-23: marked as a mesh cast");
    assertEquals(cx.status.get().kind, "Client", "SV-23: the caller is unaffected");

    // SV-15: a plain send to the dead rank comes back, and is left to the mesh's supervision.
    const reported: string[] = [];
    const previous = setRootUndeliverableHook((e) => reported.push(e.dest));
    try {
      const dest = crashers.values()[1].port("Pid");
      dest.send(cx, { reply: ref });
      let direct: MessageEnvelope;
      do direct = await cx.undeliverables.recv({ timeoutMs: WAIT_MS }); while (
        direct.dest !== dest.port || direct.headers[MESH_CAST_HEADER] !== undefined
      );
      assertEquals(reported, [], "SV-15: an owned destination is not reported by GC-1");
    } finally {
      setRootUndeliverableHook(previous);
    }
  });
});

Deno.test("SV-20, SV-10: an actor that throws reaches the root client's hook, or an active failures() iterator", async () => {
  using hook = captureHook();
  await withCrashers(2, async (cx, _hosts, crashers) => {
    crashers.values()[0].send(cx, "Crash", { why: "boom 0" });
    const f = await deadline(hook.next(), WAIT_MS);
    assertEquals([f.kind, f.meshName, f.rank], ["ActorFailure", "crasher", 0]);
    assertEquals(f.actorId, crashers.values()[0].actorId.key);
    assertStringIncludes(f.reason, "boom 0");

    const failures = crashers.failures();
    crashers.values()[1].send(cx, "Crash", { why: "boom 1" });
    const g = await next(failures, "SV-20: subscriber");
    assertEquals([g.kind, g.rank], ["ActorFailure", 1]);
    await failures.return!();
    assertEquals(hook.seen.length, 1, "SV-8: the subscriber handled the second failure");
  });
});

Deno.test("SV-8, MB-50: an actor that owns a mesh handles its failure in handleMeshFailure and stays alive", async () => {
  using hook = captureHook();
  await withCrashers(1, async (cx, _hosts, crashers) => {
    const { ref, receiver } = cx.openPort<MeshFailure>();
    using _r = receiver;
    const owners = await crashers.procMesh.spawn(cx, "owner", OWNER, {
      params: { procs: crashers.procMesh.toJSON(), handle: true, report: ref.toJSON() },
    });
    const done = cx.openPort<string>();
    using _d = done.receiver;
    owners.values()[0].send(cx, "SpawnAndCrash", { done: done.ref.toJSON() });
    assertEquals(await done.receiver.recv({ timeoutMs: WAIT_MS }), "spawned");
    const f = await receiver.recv({ timeoutMs: WAIT_MS });
    assertEquals([f.kind, f.meshName, f.rank], ["ActorFailure", "inner", 0]);
    assertStringIncludes(f.reason, "inner boom");
    const statuses = await owners.statuses(cx);
    assertEquals(
      statuses.get(0).kind,
      "Running",
      "MB-50: a handled failure leaves the owner alive",
    );
  });
  assertEquals(hook.seen, [], "MB-50: nothing escalated");
});

Deno.test("SV-8, MB-50: an unhandled failure climbs two levels of owners to the root client's hook", async () => {
  using hook = captureHook();
  await withCrashers(1, async (cx, _hosts, crashers) => {
    const owners = await crashers.procMesh.spawn<Actor>(cx, "owner", OWNER, {
      params: { procs: crashers.procMesh.toJSON(), handle: false, report: null },
    });
    const done = cx.openPort<string>();
    using _d = done.receiver;
    owners.values()[0].send(cx, "SpawnAndCrash", { done: done.ref.toJSON() });
    const f = await deadline(hook.next(), WAIT_MS);
    assertEquals([f.kind, f.meshName, f.rank], ["ActorFailure", "owner", 0]);
    assertStringIncludes(f.reason, "UnhandledMeshFailure");
    assertEquals(
      f.causedBy?.meshName,
      "inner",
      "MB-50: the escalated failure names the inner mesh",
    );
    assertStringIncludes(f.causedBy?.reason ?? "", "inner boom");
    assertEquals(hook.seen.length, 1, "SV-8: escalated once");
  });
});

Deno.test("SV-4, SV-5: a subscriber that stops reading gets a lagged marker and does not hold up others", async () => {
  using _hook = captureHook();
  await withCrashers(3, async (cx, _hosts, crashers) => {
    const fast = crashers.failures();
    const slow = crashers.failures({ bufferSize: 1 });
    crashers.cast(cx, "Crash", { why: "all" });
    const ranks = new Set<number>();
    for (let i = 0; i < 3; i++) ranks.add((await next(fast, "SV-4: fast")).rank);
    assertEquals([...ranks].sort(), [0, 1, 2], "SV-4: the reader sees every failure");
    const last = await next(slow, "SV-5: slow");
    assertEquals(last.lagged, 2, "SV-5: the slow reader is told what it missed");
    await fast.return!();
    await slow.return!();
  });
});

Deno.test("SV-11: a SIGKILLed proc of a host in its own process reaches the owner", async () => {
  using hook = captureHook();
  const cx = await context();
  try {
    await using hosts = await HostMesh.process(Extent.of({ hosts: 1 }), WORKER);
    const procs = await hosts.ref.spawn(cx, "svp", Extent.of({ procs: 1 }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const [pid] = await pids(cx, crashers);
    Deno.kill(pid, "SIGKILL");
    const f = await deadline(hook.next(), WAIT_MS);
    assertEquals([f.kind, f.meshName, f.rank, f.reason], [
      "ProcExit",
      procs.name,
      0,
      "Killed(sig=9)",
    ]);
    await hosts.shutdown(cx);
    assertEquals(hook.seen.length, 1, "SV-11: the shutdown is no failure");
  } finally {
    await shutdownContext();
  }
});

Deno.test("SV-13, SV-14: publishHostLost fails every rank of that host; a host mesh shutdown ends the failure streams", async () => {
  using hook = captureHook();
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "svh", Extent.of({ procs: 2 }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const procFailures = procs.failures();
    const actorFailures = crashers.failures();
    const host = hosts.ref.hosts[0].addr;
    assertEquals(publishHostLost(host, "test says so"), 2, "SV-13: one per rank");
    assertEquals(publishHostLost(host, "again"), 0, "SV-3: duplicates dropped");
    for (let rank = 0; rank < 2; rank++) {
      const f = await next(procFailures, "SV-13");
      assertEquals([f.kind, f.rank], ["HostLost", rank]);
      assertStringIncludes(f.reason, `host ${host} lost: test says so`);
      assertEquals((await next(actorFailures, "SV-7")).meshName, "crasher");
    }
    assertEquals((await procs.states(cx, { maxIdleMs: 60_000 }))[0].status.kind, "Failed");
    await hosts.shutdown(cx);
    assertEquals((await procFailures.next()).done, true, "SV-14: the proc mesh stream ended");
    assertEquals((await actorFailures.next()).done, true, "SV-14: the actor mesh stream ended");
    assertEquals(hook.seen, [], "SV-8: the readers handled them");
  } finally {
    await shutdownContext();
  }
});

Deno.test("SV-11: a proc that exits non-zero reaches its owner with its stderr tail", async () => {
  using _tail = config.override(attrs.MESH_TAIL_LOG_LINES, 5);
  using _hook = captureHook();
  await withCrashers(1, async (cx, _hosts, crashers) => {
    const failures = crashers.procMesh.failures();
    crashers.values()[0].send(cx, "Exit", { code: 3, line: "last words before exit" });
    const f = await next(failures, "SV-11: exit code 3");
    assertEquals([f.kind, f.reason], ["ProcExit", "exited with code 3"]);
    assertEquals(f.stderrTail.at(-1), "last words before exit", "SV-11: the stderr tail");
    await failures.return!();
  });
});
