/**
 * Host-side cast fan-out end to end (FO-*): casts to actors on real proc
 * processes go as one `CastForward` per host and arrive once each, in
 * order, marked as mesh casts, from the client; a copy the host cannot
 * deliver and a dead rank's copy come back per rank.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { ActorRef } from "../actor/port.ts";
import { MESH_CAST_HEADER } from "../actor/supervision.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CAST_FORWARD_TYPE, type CastForward, planCast, relayPortOf } from "../mesh/cast_fanout.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { Extent } from "../ndslice/extent.ts";
import { RECORDER, type recorder } from "./fixtures/fanout_worker.ts";
import { PERMISSIONS, ROOT } from "./_support.ts";

const WORKER = BootstrapCommand.fromPath(Deno.execPath(), [
  "run",
  "--config",
  `${ROOT}deno.json`,
  ...PERMISSIONS,
  `${ROOT}tests/fixtures/fanout_worker.ts`,
]);
const WAIT_MS = 20_000;

type Recorders = ActorMesh<ReturnType<typeof recorder>>;

/** A process host with `n` real procs, a recorder on each; mesh failures are silenced. */
async function withRecorders(
  n: number,
  fn: (cx: ClientInstance, recorders: Recorders) => Promise<void>,
): Promise<void> {
  const previous = setUnhandledMeshFailureHook(() => {});
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs = await hosts.ref.spawn(cx, "fo", Extent.of({ procs: n }));
    await fn(cx, await procs.spawn<ReturnType<typeof recorder>>(cx, "recorder", RECORDER));
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
    setUnhandledMeshFailureHook(previous);
  }
}

function procsOf(mesh: Recorders) {
  return mesh.values().map((r) => r.actorId.procId);
}

Deno.test("FO-1, CR-1, CR-2: casts through the host arrive once each, in order, marked, from the client", async () => {
  await withRecorders(6, async (cx, recorders) => {
    const plan = planCast(procsOf(recorders), () => true);
    assertEquals(plan.forwards.size, 1, "FO-1: one forward for the host");
    assertEquals(plan.direct, []);
    const from = cx.self.toString();
    for (let seq = 0; seq < 40; seq++) recorders.cast(cx, "Note", { seq, from });
    const logs = await recorders.call(cx, "Log", null, { timeoutMs: WAIT_MS });
    const want = Array.from({ length: 40 }, (_, i) => i);
    for (const [rank, log] of logs.entries()) {
      if (log instanceof Error) throw log;
      assertEquals(log.seqs, want, `CR-2: rank ${rank} got every cast once, in order`);
      assertEquals(log.marked, 40, `SV-23: rank ${rank}'s copies carry ${MESH_CAST_HEADER}`);
    }
    assertEquals(cx.undeliverables.tryRecv(), undefined, "CR-1: nothing bounced");
  });
});

Deno.test("CR-3: a copy the host cannot deliver comes back as that destination's own undeliverable", async () => {
  await withRecorders(2, async (cx, recorders) => {
    const [r0] = recorders.values();
    const missing = new ActorRef(r0.actorId.procId.actor("nobody")).port("Note").port;
    const headers = { [MESH_CAST_HEADER]: "recorder" };
    const forward: CastForward = {
      kind: "CastForward",
      type: "Note",
      data: { seq: 7, from: "direct" },
      headers,
      dests: [missing, r0.port("Note").port],
    };
    cx.postMessage(relayPortOf(r0.actorId.procId), CAST_FORWARD_TYPE, forward, true, { headers });
    const bounced: MessageEnvelope = await cx.undeliverables.recv({ timeoutMs: WAIT_MS });
    assertEquals(bounced.dest, missing, "CR-3: the missing destination's own envelope");
    assertEquals(bounced.type, "Note");
    assertEquals(bounced.sender, cx.self.toString(), "CR-1: the client is the sender");
    assertEquals(bounced.headers[MESH_CAST_HEADER], "recorder");
    const log = await r0.ask(cx, "Log", null, { timeoutMs: WAIT_MS });
    assertEquals(log.seqs, [7], "CR-3: the reachable destination got its copy");
    assertEquals(cx.status.get().kind, "Client", "the caller is unaffected");
  });
});

Deno.test("CR-2: plain sends after casts never overtake them (one order per sender through a host)", async () => {
  await withRecorders(3, async (cx, recorders) => {
    const from = cx.self.toString();
    const refs = recorders.values();
    for (let seq = 0; seq < 60; seq++) {
      if (seq % 3 === 2) { for (const ref of refs) ref.send(cx, "Note", { seq, from }); // direct
       } else recorders.cast(cx, "Note", { seq, from }); // one forward for the host
    }
    const want = Array.from({ length: 60 }, (_, i) => i);
    for (const ref of refs) {
      const log = await ref.ask(cx, "Log", null, { timeoutMs: WAIT_MS }); // a plain send too
      assertEquals(log.seqs, want, `CR-2: ${ref.actorId} saw every message in send order`);
    }
  });
});

Deno.test("CR-4: a relay forwards only to its own host and drops a malformed forward; the host goes on", async () => {
  await withRecorders(2, async (cx, recorders) => {
    const [r0, r1] = recorders.values();
    const relay = relayPortOf(r0.actorId.procId);
    const elsewhere = "tcp:127.0.0.1:9,p0,recorder[0][1]";
    const forward: CastForward = {
      kind: "CastForward",
      type: "Note",
      data: { seq: 1, from: "relay" },
      headers: {},
      dests: [elsewhere, r1.port("Note").port],
    };
    cx.postMessage(relay, CAST_FORWARD_TYPE, forward, true);
    const foreign: MessageEnvelope = await cx.undeliverables.recv({ timeoutMs: WAIT_MS });
    assertEquals(foreign.dest, elsewhere, "CR-4: the foreign copy bounced");
    assertEquals(foreign.errors[0]?.kind, "Multicast");
    for (const bad of [null, { kind: "CastForward", type: "Note", headers: {}, dests: "x" }]) {
      cx.postMessage(relay, CAST_FORWARD_TYPE, bad, true);
      const bounced: MessageEnvelope = await cx.undeliverables.recv({ timeoutMs: WAIT_MS });
      assertEquals([bounced.dest, bounced.errors[0]?.kind], [relay, "Multicast"], "CR-4");
    }
    assertEquals((await r1.ask(cx, "Log", null, { timeoutMs: WAIT_MS })).seqs, [1], "CR-4");
    assertEquals((await r0.ask(cx, "Log", null, { timeoutMs: WAIT_MS })).seqs, [], "CR-4");
  });
});

Deno.test("SV-23, CR-3: a dead rank's copy comes back at once; the host's other ranks get theirs", async () => {
  await withRecorders(4, async (cx, recorders) => {
    const pids = (await recorders.call(cx, "Pid", null, { timeoutMs: WAIT_MS })).values();
    const failures = recorders.failures();
    Deno.kill(pids[1] as number, "SIGKILL");
    const failure = await failures.next();
    await failures.return?.();
    assertEquals(failure.value?.rank, 1, "the owner latched rank 1's failure");
    recorders.cast(cx, "Note", { seq: 1, from: cx.self.toString() });
    let bounced: MessageEnvelope;
    do bounced = await cx.undeliverables.recv({ timeoutMs: WAIT_MS }); while (
      bounced.errors[0]?.kind !== "Unroutable"
    );
    assertEquals(bounced.dest, recorders.values()[1].port("Note").port, "SV-23: rank 1's copy");
    for (const rank of [0, 2, 3]) {
      const log = await recorders.values()[rank].ask(cx, "Log", null, { timeoutMs: WAIT_MS });
      assertEquals(log.seqs, [1], `CR-3: rank ${rank} got the cast`);
    }
    assertEquals(cx.status.get().kind, "Client", "SV-23: the caller is unaffected");
  });
});

Deno.test("FO-1, CR-2: many ranks per host over two hosts: one forward per host, every rank in order", async () => {
  const cx = await context();
  try {
    await using hosts = await HostMesh.localInProcess({ hosts: 2 });
    const procs = await hosts.spawn(cx, "fo", Extent.of({ procs: 8 }));
    const recorders = await procs.spawn<ReturnType<typeof recorder>>(cx, "recorder", RECORDER);
    assertEquals(recorders.region.numRanks, 16);
    const plan = planCast(procsOf(recorders), () => true);
    assertEquals(plan.forwards.size, 2, "FO-1: one forward per host");
    assertEquals([...plan.forwards.values()].map((r) => r.length), [8, 8]);
    const from = cx.self.toString();
    for (let seq = 0; seq < 20; seq++) recorders.cast(cx, "Note", { seq, from });
    const logs = await recorders.call(cx, "Log", null, { timeoutMs: WAIT_MS });
    const want = Array.from({ length: 20 }, (_, i) => i);
    for (const [rank, log] of logs.entries()) {
      if (log instanceof Error) throw log;
      assertEquals(log.seqs, want, `CR-2: rank ${rank}`);
      assertEquals(log.senders, [from], "CR-1");
    }
    assert(cx.undeliverables.tryRecv() === undefined, "nothing bounced");
  } finally {
    await shutdownContext();
  }
});

Deno.test("FO-6, MC-1: call over the fan-out: every rank's reply; a SIGKILLed rank is an error entry", async () => {
  await withRecorders(4, async (cx, recorders) => {
    const pids = (await recorders.call(cx, "Pid", null, { timeoutMs: WAIT_MS })).values();
    assertEquals(new Set(pids).size, 4, "FO-6: one reply per rank, from its own process");
    Deno.kill(pids[2] as number, "SIGKILL");
    const got = await recorders.call(cx, "Pid", null, { timeoutMs: 5_000 });
    const dead = got.get(2);
    assert(dead instanceof Error, `MC-1: rank 2 replied ${dead}`);
    assertEquals([got.get(0), got.get(1), got.get(3)], [pids[0], pids[1], pids[3]]);
  });
});
