/**
 * Request/reply end to end (RQ-*): `ActorMesh#call` and `ActorRef.ask`
 * against actors on real proc processes — every rank's reply, a SIGKILLed
 * rank as an error entry within the deadline, a throwing handler as an error
 * entry, abort, and `ask` timeouts.
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { RequestError } from "../actor/request.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { clearHostLost, markHostLost } from "../mesh/supervision/host_lost.ts";
import { Extent } from "../ndslice/extent.ts";
import { REPLIER, type replier } from "./fixtures/call_worker.ts";
import { PERMISSIONS, ROOT } from "./_support.ts";

const WORKER = BootstrapCommand.fromPath(Deno.execPath(), [
  "run",
  "--config",
  `${ROOT}deno.json`,
  ...PERMISSIONS,
  `${ROOT}tests/fixtures/call_worker.ts`,
]);

type Repliers = ActorMesh<typeof replier>;

/** A process host with `n` real procs, a replier on each; mesh failures are silenced. */
async function withRepliers(
  n: number,
  fn: (cx: ClientInstance, repliers: Repliers) => Promise<void>,
): Promise<void> {
  const previous = setUnhandledMeshFailureHook(() => {});
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "rq", Extent.of({ procs: n }));
    await fn(cx, await procs.spawn<typeof replier>(cx, "replier", REPLIER));
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
    setUnhandledMeshFailureHook(previous);
  }
}

function replies<T>(mesh: { entries(): Iterable<[number, T | CallError]> }): (T | CallError)[] {
  return [...mesh.entries()].map(([, v]) => v);
}

Deno.test("MC-1: call() on a mesh of real procs returns every rank's reply, by rank", async () => {
  await withRepliers(3, async (cx, repliers) => {
    const got = await repliers.call(cx, "Pid", null, { timeoutMs: 20_000 });
    assertEquals(got.numRanks, 3);
    const pids = replies(got);
    assert(pids.every((p) => typeof p === "number" && p !== Deno.pid), `MC-1: ${got}`);
    assertEquals(new Set(pids).size, 3, "MC-1: one reply per rank, from its own process");
    for (const [rank, pid] of got.entries()) {
      assertEquals(await repliers.values()[rank].ask(cx, "Pid", null, { timeoutMs: 20_000 }), pid);
    }
  });
});

Deno.test("MC-1: a rank whose proc was SIGKILLed is an error entry within the timeout", async () => {
  await withRepliers(3, async (cx, repliers) => {
    const pids = replies(await repliers.call(cx, "Pid", null, { timeoutMs: 20_000 }));
    Deno.kill(pids[1] as number, "SIGKILL");
    const timeoutMs = 5_000;
    const t0 = performance.now();
    const got = await repliers.call(cx, "Pid", null, { timeoutMs });
    const elapsed = performance.now() - t0;
    assert(elapsed < 3 * timeoutMs, `MC-1: the call took ${elapsed} ms`);
    const dead = got.get(1);
    if (!(dead instanceof CallError)) throw new Error(`MC-1: rank 1 replied: ${dead}`);
    assertEquals([dead.rank, dead.meshName], [1, "replier"]);
    assertEquals([got.get(0), got.get(2)], [pids[0], pids[2]], "MC-1: the others reply");
  });
});

Deno.test("RQ-2, MC-1: a handler that throws is an error entry; the actors keep running", async () => {
  await withRepliers(2, async (cx, repliers) => {
    const got = await repliers.call(cx, "Throw", { why: "boom" }, { timeoutMs: 20_000 });
    for (const [rank, entry] of got.entries()) {
      if (!(entry instanceof CallError)) throw new Error(`RQ-2: rank ${rank} replied: ${entry}`);
      assertEquals(entry.reason, "failed", "RQ-2");
      assert(entry.message.includes("boom"), entry.message);
    }
    const statuses = await repliers.statuses(cx);
    assert(statuses.values().every((s) => s.kind === "Running"), `RQ-2: ${statuses}`);
    assert(
      replies(await repliers.call(cx, "Pid", null, { timeoutMs: 20_000 })).every(
        (p) => typeof p === "number",
      ),
    );
  });
});

Deno.test("MC-2: aborting a call rejects promptly with RequestError aborted", async () => {
  await withRepliers(2, async (cx, repliers) => {
    const ac = new AbortController();
    const pending = repliers.call(cx, "Hold", { ms: 3_000 }, { signal: ac.signal });
    const t0 = performance.now();
    ac.abort(new Error("enough"));
    const err = await assertRejects(() => pending, RequestError);
    assert(performance.now() - t0 < 1_000, "MC-2: prompt");
    assertEquals(err.reason, "aborted", "MC-2");
    assertEquals((err.cause as Error).message, "enough");
  });
});

Deno.test("RQ-4: ask() to an actor in a real proc replies, and times out with RequestError", async () => {
  await withRepliers(1, async (cx, repliers) => {
    const actor = repliers.values()[0];
    assertEquals(await actor.ask(cx, "Hold", { ms: 1 }, { timeoutMs: 20_000 }), 1);
    const t0 = performance.now();
    const err = await assertRejects(
      () => actor.ask(cx, "Hold", { ms: 2_000 }, { timeoutMs: 100 }),
      RequestError,
    );
    assertEquals(err.reason, "timeout", "RQ-4");
    assert(performance.now() - t0 < 1_500, "RQ-4: bounded by timeoutMs");
  });
});

Deno.test("MC-1, HW-4: a call pending when its host is declared lost ends at once with error entries", async () => {
  await withRepliers(2, async (cx, repliers) => {
    const host = repliers.values()[0].actorId.procId.addr;
    const pending = repliers.call(cx, "Hold", { ms: 2_000 }, { timeoutMs: 20_000 });
    const t0 = performance.now();
    markHostLost(host, "test says so");
    try {
      const got = await pending;
      assert(performance.now() - t0 < 1_000, "MC-1: at once, not after the handler or the timeout");
      for (const [rank, entry] of got.entries()) {
        if (!(entry instanceof CallError)) throw new Error(`HW-4: rank ${rank} replied: ${entry}`);
        assertEquals(entry.reason, "undeliverable", "HW-4");
        assert(entry.message.includes("test says so"), entry.message);
      }
    } finally {
      clearHostLost(host);
    }
  });
});
