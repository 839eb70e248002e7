import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import type { Context } from "../../actor/types.ts";
import { ActorRef } from "../../actor/port.ts";
import { ProcId } from "../../actor/reference.ts";
import type { ActorSupervisionEvent } from "../../actor/supervision.ts";
import { bootstrapV0 } from "./v0.ts";
import type { GspawnResult, StopActorResult } from "./protocol.ts";
import { ECHO_TYPE, localProc, terminalStatus } from "./_test_util.ts";

let nextProc = 0;
function v0ProcId(): ProcId {
  return new ProcId(ChannelAddr.local(0), `v0_${nextProc++}`);
}

/** Records every `Note` it receives, in order; calls `onNote` after each. */
function recorder(seen: unknown[], onNote: () => void = () => {}) {
  return {
    handlers: {
      Note: (_cx: Context, n: number) => {
        seen.push(n);
        onNote();
      },
    },
  };
}

function configureMsg(
  configured: string,
  forwarder: string,
  extra: { supervisor?: string | null; recordSupervisionEvents?: boolean } = {},
) {
  return {
    rank: 3,
    forwarder,
    supervisor: extra.supervisor ?? null,
    addressBook: {},
    configured,
    recordSupervisionEvents: extra.recordSupervisionEvents ?? true,
  };
}

Deno.test("PA-8: the v0 proc queues outbound envelopes until Configure, then delivers them in order (seed queueing tests)", async () => {
  await using target = await localProc("target");
  const seen: unknown[] = [];
  const { promise: allFour, resolve } = Promise.withResolvers<void>();
  const sink = target.spawn("sink", recorder(seen, () => seen.length === 4 && resolve()));
  const { proc, agent, sender } = bootstrapV0(v0ProcId(), {
    onUnhandledSupervisionEvent: () => {},
  });
  await using _p = proc;
  using client = proc.instance("client");
  const note = ActorRef.attest<ReturnType<typeof recorder>>(sink.actorId.key);
  note.send(client, "Note", 1);
  note.send(client, "Note", 2);
  assertEquals(sender.queued, 2, "PA-8: queued before Configure");
  assertEquals(seen, []);

  const { ref, receiver } = client.openOncePort<number>();
  agent.ref.send(client, "Configure", configureMsg(ref.port, target.procId.addr.toString()));
  assertEquals(await receiver.recv({ timeoutMs: 5_000 }), 3, "Configure acks with the rank");
  note.send(client, "Note", 3);
  note.send(client, "Note", 4);
  await allFour;
  assertEquals(seen, [1, 2, 3, 4], "PA-8: queued first, in order, then direct");
});

Deno.test("PA-8: a second Configure fails the v0 agent", async () => {
  await using target = await localProc("target");
  const { proc, agent } = bootstrapV0(v0ProcId());
  await using _p = proc;
  using client = proc.instance("client");
  const { ref, receiver } = client.openOncePort<number>();
  agent.ref.send(client, "Configure", configureMsg(ref.port, target.procId.addr.toString()));
  await receiver.recv({ timeoutMs: 5_000 });
  const { ref: again } = client.openOncePort<number>();
  agent.ref.send(client, "Configure", configureMsg(again.port, target.procId.addr.toString()));
  const status = await agent.wait();
  assertEquals(status.kind, "Failed");
  assertStringIncludes(
    (status as { error: string }).error,
    "Cannot configure the mesh agent: it cannot be (re-)configured",
  );
});

Deno.test("PA-9: v0 Gspawn replies Success{rank, actorId}; Status; StopActor Success then NotFound", async () => {
  await using target = await localProc("target");
  const { proc, agent } = bootstrapV0(v0ProcId());
  await using _p = proc;
  using client = proc.instance("client");
  const { ref: configured, receiver: configuredRx } = client.openOncePort<number>();
  agent.ref.send(client, "Configure", configureMsg(configured.port, target.procId.addr.toString()));
  await configuredRx.recv({ timeoutMs: 5_000 });

  const { ref, receiver } = client.openOncePort<GspawnResult>();
  agent.ref.send(client, "Gspawn", {
    actorType: ECHO_TYPE,
    actorName: "worker",
    params: null,
    statusPort: ref.port,
  });
  const result = await receiver.recv({ timeoutMs: 5_000 });
  assertEquals(result, { kind: "Success", rank: 3, actorId: `${proc.procId.key},worker[0]` });

  const { ref: statusRef, receiver: statusRx } = client.openOncePort<[number, boolean]>();
  agent.ref.send(client, "Status", { status: statusRef.port });
  assertEquals(await statusRx.recv({ timeoutMs: 5_000 }), [3, true]);

  const stop = async () => {
    const { ref: stopped, receiver: stoppedRx } = client.openOncePort<StopActorResult>();
    agent.ref.send(client, "StopActor", {
      actorId: `${proc.procId.key},worker[0]`,
      timeoutMs: 5_000,
      reason: "test",
      stopped: stopped.port,
    });
    return await stoppedRx.recv({ timeoutMs: 5_000 });
  };
  assertEquals(await stop(), { kind: "Success" });
  assertEquals(await stop(), { kind: "NotFound" });
});

Deno.test("PA-9: v0 Gspawn of an unknown type replies Error and fails the agent (seed)", async () => {
  await using target = await localProc("target");
  const { proc, agent } = bootstrapV0(v0ProcId());
  await using _p = proc;
  using client = proc.instance("client");
  const { ref: configured, receiver: configuredRx } = client.openOncePort<number>();
  agent.ref.send(client, "Configure", configureMsg(configured.port, target.procId.addr.toString()));
  await configuredRx.recv({ timeoutMs: 5_000 });
  const { ref, receiver } = client.openOncePort<GspawnResult>();
  agent.ref.send(client, "Gspawn", {
    actorType: "pa_test::Nope",
    actorName: "x",
    params: null,
    statusPort: ref.port,
  });
  const result = await receiver.recv({ timeoutMs: 5_000 });
  assertEquals(result.kind, "Error");
  assertStringIncludes((result as { message: string }).message, "gspawn failed:");
  assertEquals((await agent.wait()).kind, "Failed");
});

Deno.test("v0 supervision events: forwarded to the supervisor, else the unhandled hook runs", async () => {
  await using target = await localProc("target");
  const forwarded: ActorSupervisionEvent[] = [];
  const { promise: gotEvent, resolve: eventArrived } = Promise.withResolvers<void>();
  const supervisor = target.spawn("supervisor", {
    handlers: {
      ActorSupervisionEvent: (_cx: Context, e: ActorSupervisionEvent) => {
        forwarded.push(e);
        eventArrived();
      },
    },
  });
  // With a supervisor.
  {
    const { proc, agent } = bootstrapV0(v0ProcId());
    await using _p = proc;
    using client = proc.instance("client");
    const { ref, receiver } = client.openOncePort<number>();
    agent.ref.send(
      client,
      "Configure",
      configureMsg(ref.port, target.procId.addr.toString(), {
        supervisor: supervisor.ref.port("ActorSupervisionEvent").port,
        recordSupervisionEvents: false,
      }),
    );
    await receiver.recv({ timeoutMs: 5_000 });
    const doomed = proc.spawn("doomed", { handlers: {} });
    doomed.ref.send(client, "Unknown" as never, null as never);
    await terminalStatus(proc, doomed.actorId.key);
    await gotEvent;
    assertEquals(forwarded.map((f) => f.actorId), [doomed.actorId.key]);
  }
  // Without supervisor and not recording: the hook runs (default: exit(1)).
  {
    const crashes: ActorSupervisionEvent[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const { proc } = bootstrapV0(v0ProcId(), {
      onUnhandledSupervisionEvent: (e) => {
        crashes.push(e);
        resolve();
      },
    });
    await using _p = proc;
    using client = proc.instance("client");
    const doomed = proc.spawn("doomed", { handlers: {} });
    doomed.ref.send(client, "Unknown" as never, null as never);
    await promise;
    assertEquals(crashes.map((c) => c.status.kind), ["Failed"]);
    assert(crashes[0].actorId === doomed.actorId.key);
  }
});
