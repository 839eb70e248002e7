import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { Context } from "../../actor/types.ts";
import { ActorRef } from "../../actor/port.ts";
import { Proc } from "../../actor/proc.ts";
import { ActorId } from "../../actor/reference.ts";
import { MESH_CAST_HEADER } from "../../actor/supervision.ts";
import type { MeshFailure } from "./failure.ts";
import { MeshSupervisor } from "./mesh_supervisor.ts";
import { setUnhandledMeshFailureHook } from "./unhandled.ts";

function failure(kind: MeshFailure["kind"], rank: number, reason: string = kind): MeshFailure {
  return {
    kind,
    meshName: "m",
    rank,
    procId: `p${rank}`,
    actorId: kind === "ActorFailure" ? `p${rank},m[0]` : null,
    status: { kind: "Failed", message: reason },
    reason,
    stderrTail: [],
    occurredAt: 0,
  };
}

Deno.test("SV-2, SV-3: latched per rank (proc-level wins), duplicates and stray failures dropped", () => {
  const sup = new MeshSupervisor("m", 2);
  assert(sup.publish(failure("ActorFailure", 0)));
  assertEquals(sup.failureOf(0)?.kind, "ActorFailure");
  assert(sup.publish(failure("ProcExit", 0)), "a proc exit after an actor failure is news");
  assertEquals(sup.failureOf(0)?.kind, "ProcExit", "SV-2: the proc-level failure is latched");
  assert(!sup.publish(failure("HostLost", 0)), "SV-3: one proc-level failure per rank");
  assert(!sup.publish(failure("ActorFailure", 0)), "SV-3: duplicate");
  assert(!sup.publish(failure("ProcExit", 2)), "SV-3: rank outside the mesh");
  assertEquals(sup.failedRanks(), [0]);
  sup.close();
  assert(!sup.publish(failure("ProcExit", 1)), "SV-3: closed mesh");
  assertEquals(sup.failureOf(1), undefined);
});

Deno.test("SV-7: proc failures reach linked actor meshes (rewritten, replayed); actor failures reach the proc mesh's readers", async () => {
  const procs = new MeshSupervisor("procs", 2);
  procs.publish(failure("ProcExit", 1));
  const actors = new MeshSupervisor("a", 2);
  const derive = (f: MeshFailure) => ({ ...f, meshName: "a", actorId: `${f.procId},a[0]` });
  procs.link(actors, derive);
  assertEquals(actors.failureOf(1)?.actorId, "p1,a[0]", "SV-7: replayed on link");
  const actorReader = actors.failures();
  const procReader = procs.failures();
  procs.publish(failure("ProcExit", 0));
  assertEquals((await actorReader.next()).value?.meshName, "a", "SV-7: rewritten");
  actors.publish({ ...failure("ActorFailure", 1), meshName: "a" });
  assertEquals((await procReader.next()).value?.kind, "ProcExit");
  assertEquals((await procReader.next()).value?.meshName, "a", "SV-7: seen by the proc mesh");
  assertEquals(procs.failureOf(1)?.kind, "ProcExit", "an actor failure does not latch the proc");
  actors.close();
  procs.publish(failure("HostLost", 1)); // nothing reaches a closed actor mesh
  procs.close();
});

Deno.test("SV-8, SV-10: at a client owner a failure goes to the hook once, unless a reader is active", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("owner");
  const seen: MeshFailure[] = [];
  let wake: () => void = () => {};
  const previous = setUnhandledMeshFailureHook((f) => {
    seen.push(f);
    wake();
  });
  try {
    const sup = MeshSupervisor.forOwner(cx, "m", 2);
    const pushed = new Promise<void>((r) => (wake = r));
    cx.send({ port: sup.ref!.port, returnUndeliverable: false }, failure("ProcExit", 0));
    await pushed;
    assertEquals(seen.map((f) => f.rank), [0], "SV-10: the hook got it");
    const reader = sup.failures();
    cx.send({ port: sup.ref!.port, returnUndeliverable: false }, failure("ProcExit", 1));
    assertEquals((await reader.next()).value?.rank, 1);
    assertEquals(seen.length, 1, "SV-8: an active reader handles it");
    sup.close();
    assertEquals((await reader.next()).done, true);
  } finally {
    setUnhandledMeshFailureHook(previous);
  }
});

Deno.test("RS-5: a failure the restart hook takes is latched and streamed with restarting, never escalated; recover unlatches", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("owner");
  const escalated: MeshFailure[] = [];
  const previous = setUnhandledMeshFailureHook((f) => void escalated.push(f));
  try {
    const procs = MeshSupervisor.forOwner(cx, "m", 2);
    const actors = new MeshSupervisor("a", 2);
    procs.link(actors, (f) => ({ ...f, meshName: "a" }));
    const offered: number[] = [];
    procs.onRestart((f) => {
      offered.push(f.rank);
      return f.rank === 0 ? offered.length : undefined; // rank 0 restarts, rank 1 does not
    });
    assert(procs.publish(failure("ProcExit", 0)), "no reader is active");
    assertEquals(escalated, [], "RS-5: not escalated");
    assertEquals(procs.failureOf(0)?.restarting, true, "SV-2: latched while down");
    assertEquals(actors.failureOf(0)?.restarting, true, "SV-7: derived as is");
    procs.recover(0, "proc");
    assertEquals([procs.failureOf(0), actors.failureOf(0)], [undefined, undefined]);
    const reader = actors.failures();
    assert(
      procs.publish({ ...failure("ProcExit", 0), procId: "p0-new" }),
      "the new incarnation's failure is news (failureKey names the proc)",
    );
    const derived = (await reader.next()).value as MeshFailure;
    assertEquals([derived.meshName, derived.restarting, derived.attempt], ["a", true, 2]);
    await reader.return!();
    assert(procs.publish(failure("ProcExit", 1)));
    assertEquals(escalated.map((f) => f.rank), [1], "a declined failure escalates (SV-8)");
    assertEquals(offered, [0, 0, 1]);
    actors.publish({ ...failure("ActorFailure", 1), meshName: "a" });
    actors.recover(1, "actor");
    assertEquals(actors.failureOf(1)?.kind, "ProcExit", "an actor recovery keeps a proc failure");
    let closed = false;
    procs.onClosed(() => (closed = true));
    procs.close();
    assert(closed, "RS-9: close tells the restart controllers");
  } finally {
    setUnhandledMeshFailureHook(previous);
  }
});

interface OwnerProbe {
  ref?: string;
  handled: MeshFailure[];
}

function ownerActor(probe: OwnerProbe, verdict: boolean | "throw") {
  return {
    handlers: {
      Noop: () => {},
    },
    init(cx: Context) {
      probe.ref = MeshSupervisor.forOwner(cx, "m", 1).ref!.port;
    },
    handleMeshFailure(_cx: Context, f: MeshFailure): boolean {
      probe.handled.push(f);
      if (verdict === "throw") throw new Error("hook broke");
      return verdict;
    },
  };
}

Deno.test("MB-50: an owning actor handles a mesh failure in its loop, or fails with UnhandledMeshFailure", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("client");
  for (const verdict of [true, false, "throw"] as const) {
    const probe: OwnerProbe = { handled: [] };
    const actor = proc.spawn(`owner_${String(verdict)}`, ownerActor(probe, verdict));
    for await (const s of actor.status.watch()) if (s.kind === "Idle") break; // init ran
    cx.send({ port: probe.ref!, returnUndeliverable: false }, failure("ActorFailure", 0, "boom"));
    if (verdict === true) {
      for await (const s of actor.status.watch()) {
        if (s.kind === "Processing" && s.handler === "__supervise__") break;
      }
      for await (const s of actor.status.watch()) if (s.kind !== "Processing") break;
      assertEquals(probe.handled.length, 1);
      assertEquals(actor.status.get().kind !== "Failed", true, "MB-50: handled → alive");
      actor.stop();
      assertEquals((await actor.wait()).kind, "Stopped");
      continue;
    }
    const status = await actor.wait();
    assertEquals(status.kind, "Failed", `MB-50: ${verdict} → failed`);
    assertStringIncludes(
      (status as { error: string }).error,
      'UnhandledMeshFailure: mesh "m" rank 0: boom',
    );
    const event = proc.unhandledSupervisionEvents.get();
    assertEquals(event?.meshFailure?.reason, "boom", "MB-50: the event carries the failure");
  }
});

Deno.test("MB-51: a mesh cast that comes back undeliverable does not fail the sending actor", async () => {
  await using proc = Proc.local();
  const caster = proc.spawn("caster", {
    handlers: {
      Go: (cx: Context) => {
        new ActorRef(new ActorId(proc.procId, "nobody", 0)).send(cx, "X", {}, {
          headers: { [MESH_CAST_HEADER]: "m" },
        });
      },
    },
  });
  using cx = proc.instance("client");
  const sawBounce = (async () => {
    for await (const s of caster.status.watch()) {
      if (s.kind === "Processing" && s.handler === "Undeliverable") return true;
      if (s.kind === "Failed") return false;
    }
    return false;
  })();
  caster.ref.send(cx, "Go", {});
  assert(await sawBounce, "the bounce reached the actor");
  for await (const s of caster.status.watch()) if (s.kind !== "Processing") break;
  assertEquals(caster.status.get().kind, "Idle", "MB-51: not failed");
});
