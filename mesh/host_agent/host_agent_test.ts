import { assert, assertEquals } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import { Proc } from "../../actor/proc.ts";
import type { ClientInstance } from "../../actor/types.ts";
import { Extent } from "../../ndslice/extent.ts";
import { HostMesh } from "../host_mesh/host_mesh.ts";
import type { HostRef } from "../host_mesh/host_mesh_ref.ts";
import type { HostInfo, ProcState } from "./protocol.ts";
import type { State } from "../resource/protocol.ts";
import { StatusOverlay, type StatusOverlayJSON } from "../resource/overlay.ts";
import { Status } from "../resource/status.ts";
import { type AdminNode, spawnAdmin } from "../admin.ts";
import { attrs, config } from "../../config/mod.ts";

async function ask<T>(cx: ClientInstance, send: (reply: string) => void): Promise<T> {
  const { ref, receiver } = cx.openOncePort<T>();
  using _r = receiver;
  send(ref.port);
  return await receiver.recv({ timeoutMs: 5_000 });
}

function info(cx: ClientInstance, host: HostRef): Promise<HostInfo> {
  return ask<HostInfo>(cx, (reply) => host.agent.send(cx, "Introspect", { reply }));
}

Deno.test("HostAgent: create, rank status, state, stop, drain and shutdown in Local mode", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "client");
  using cx = proc.instance("c");
  await using hosts = await HostMesh.localInProcess({ hosts: 1, transport: "local" });
  const host = hosts.hosts[0];
  assertEquals((await info(cx, host)).state, "Detached");

  const spec = { clientConfigOverride: {} };
  host.agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name: "p-1", rank: 3, spec });
  host.agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name: "p-1", rank: 9, spec });
  const overlay = await ask<StatusOverlayJSON>(
    cx,
    (reply) => host.agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name: "p-1", reply }),
  );
  assertEquals(StatusOverlay.fromJSON(overlay).runs(), [
    { start: 3, end: 4, value: Status.Running },
  ], "HA-10: the second create is ignored");
  const state = await ask<State<ProcState>>(
    cx,
    (reply) => host.agent.send(cx, "GetState", { kind: "GetState", name: "p-1", reply }),
  );
  assertEquals(state.state?.createRank, 3);
  assertEquals(state.state?.procId, `${host},p-1`);
  assertEquals((await info(cx, host)).state, "Attached");

  const unknown = await ask<StatusOverlayJSON>(
    cx,
    (reply) => host.agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name: "nope", reply }),
  );
  assert(StatusOverlay.fromJSON(unknown).isEmpty);

  host.agent.send(cx, "Stop", { kind: "Stop", name: "p-1", reason: "test" });
  const stopped = await ask<StatusOverlayJSON>(
    cx,
    (reply) =>
      host.agent.send(cx, "WaitRankStatus", {
        kind: "WaitRankStatus",
        name: "p-1",
        minStatus: Status.Stopped,
        reply,
      }),
  );
  assertEquals(StatusOverlay.fromJSON(stopped).runs()[0].value.kind, "Stopped");

  await host.drain(cx);
  const drained = await info(cx, host);
  assertEquals([drained.state, drained.procs.length], ["Detached", 0], "HA-12");
  await hosts.shutdown(cx);
});

Deno.test("HostAgent: WaitRankStatus for an unknown name resolves after creation", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "client");
  using cx = proc.instance("c");
  await using hosts = await HostMesh.localInProcess({ transport: "local" });
  const host = hosts.hosts[0];
  const waiting = ask<StatusOverlayJSON>(cx, (reply) =>
    host.agent.send(cx, "WaitRankStatus", {
      kind: "WaitRankStatus",
      name: "later-0",
      minStatus: Status.Running,
      reply,
    }));
  host.agent.send(cx, "CreateOrUpdate", {
    kind: "CreateOrUpdate",
    name: "later-0",
    rank: 0,
    spec: { clientConfigOverride: {} },
  });
  assertEquals(StatusOverlay.fromJSON(await waiting).runs()[0].value.kind, "Running");
  await hosts.shutdown(cx);
});

Deno.test("HostMesh.localInProcess: spawn, proc states, stopProcMesh and the admin tree", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "client");
  using cx = proc.instance("c");
  await using hosts = await HostMesh.localInProcess({ hosts: 2, transport: "local" });
  const procs = await hosts.spawn(cx, "w", Extent.of({ gpus: 2 }));
  assertEquals(procs.region.toString(), "hosts=2/2,gpus=2/1");
  assert(procs.ranks()[0].procId.name.startsWith("w-0-"));
  const states = await hosts.ref.procStates(cx, procs);
  assertEquals(states.values().map((s) => s.state!.createRank), [0, 1, 2, 3]);
  const admin = await spawnAdmin([hosts.ref, hosts.ref], cx);
  const tree = await ask<AdminNode>(
    cx,
    (reply) => admin.send(cx, "GetTree", { reply: { port: reply, returnUndeliverable: false } }),
  );
  assertEquals(tree.children.length, 2, "SA-3");
  assertEquals(tree.children[0].children.length, 2);
  assert(tree.children[0].children[0].children.some((a) => a.identity.endsWith("proc_agent[0]")));
  const final = await hosts.ref.stopProcMesh(cx, procs);
  assertEquals(final.values().map((s) => s.kind), ["Stopped", "Stopped", "Stopped", "Stopped"]);
  await hosts.shutdown(cx);
});

Deno.test("HA-13: ShutdownHost acks only after every child proc was terminated", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "client");
  using cx = proc.instance("c");
  await using hosts = await HostMesh.localInProcess({ transport: "local" });
  const host = hosts.hosts[0];
  host.agent.send(cx, "CreateOrUpdate", {
    kind: "CreateOrUpdate",
    name: "p-1",
    rank: 0,
    spec: { clientConfigOverride: {} },
  });
  const { ref: statusPort, receiver: statuses } = cx.openPort<StatusOverlayJSON>();
  using _s = statuses;
  host.agent.send(cx, "WaitRankStatus", {
    kind: "WaitRankStatus",
    name: "p-1",
    minStatus: Status.Running,
    reply: statusPort.port,
  });
  await statuses.recv({ timeoutMs: 5_000 });
  host.agent.send(cx, "WaitRankStatus", {
    kind: "WaitRankStatus",
    name: "p-1",
    minStatus: Status.Stopped,
    reply: statusPort.port,
  });
  await ask<null>(
    cx,
    (ack) => host.agent.send(cx, "ShutdownHost", { timeoutMs: 1_000, maxInFlight: 4, ack }),
  );
  const seen = statuses.tryRecv();
  assert(seen !== undefined, "HA-13: the child's terminal status was published before the ack");
  const status = StatusOverlay.fromJSON(seen).runs()[0].value;
  assert(["Stopped", "Failed", "Killed"].includes(status.kind), `HA-13: ${status.kind}`);
  // The host released itself: the mesh's own teardown has nobody to ask.
  const gone = new AbortController();
  gone.abort(new Error("host already shut down"));
  await hosts.shutdown(cx, { signal: gone.signal });
});

Deno.test("HA-14: a host keeps the records of the newest terminated procs only; a forgotten one answers as unknown", async () => {
  using _keep = config.override(attrs.HOST_RETAINED_EXITED_PROCS, 2);
  await using proc = await Proc.direct(ChannelAddr.any("local"), "client");
  using cx = proc.instance("c");
  await using hosts = await HostMesh.localInProcess({ transport: "local" });
  const host = hosts.hosts[0];
  const spec = { clientConfigOverride: {} };
  const names = ["q-1", "q-2", "q-3", "q-4", "q-5"];
  for (const name of names) {
    host.agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name, rank: 0, spec });
    host.agent.send(cx, "Stop", { kind: "Stop", name, reason: "test" });
    await ask<StatusOverlayJSON>(cx, (reply) =>
      host.agent.send(cx, "WaitRankStatus", {
        kind: "WaitRankStatus",
        name,
        minStatus: Status.Stopped,
        reply,
      }));
  }
  host.agent.send(cx, "CreateOrUpdate", { kind: "CreateOrUpdate", name: "live", rank: 0, spec });
  await ask<StatusOverlayJSON>(cx, (reply) =>
    host.agent.send(cx, "WaitRankStatus", {
      kind: "WaitRankStatus",
      name: "live",
      minStatus: Status.Running,
      reply,
    }));
  const listed = (await info(cx, host)).procs.map((p) => p.name);
  assertEquals(listed, ["q-4", "q-5", "live"], "HA-14: the two newest terminated and the live one");
  const forgotten = await ask<StatusOverlayJSON>(
    cx,
    (reply) => host.agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name: "q-1", reply }),
  );
  assert(StatusOverlay.fromJSON(forgotten).isEmpty, "HA-14: a forgotten proc is unknown");
  await hosts.shutdown(cx);
});
