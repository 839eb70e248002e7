import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ChannelAddr, serve } from "../channel/mod.ts";
import { ProcId } from "../actor/reference.ts";
import { ActorRef } from "../actor/port.ts";
import { MailboxClient } from "../actor/transport/mailbox_client.ts";
import { Proc } from "../actor/proc.ts";
import { type ProcCallback, readSpawnProcParams, spawnProc } from "./fixtures/boot_proc.ts";
import { HostError } from "../host/errors.ts";
import { EchoActor } from "../host/testing.ts";

Deno.test("spawnProc() calls back with a served address and a live agent", async () => {
  await using backend = await serve(ChannelAddr.any("local"));
  await using callback = await serve<ProcCallback>(ChannelAddr.any("local"));
  const procId = new ProcId(ChannelAddr.local(1), "child");
  await using _proc = await spawnProc(
    { procId, backendAddr: backend.addr, callbackAddr: callback.addr },
    (p) => p.spawn("echo", new EchoActor()),
  );
  const reply = (await callback.recv())!;
  assertEquals(reply.agent, `${procId},echo[0]`);
  // Serving before callback: the reported address is already served: reach the agent through it.
  const link = MailboxClient.dial(reply.addr);
  await using client = new Proc(new ProcId(ChannelAddr.local(2), "client"), link);
  client.addDisposer(() => link.close());
  using inst = client.instance("c");
  const { ref, receiver } = inst.openOncePort<string>();
  ActorRef.attest<EchoActor>(reply.agent).send(inst, "Echo", ref);
  // The reply goes to the child's forwarder (the fake back-end), which we relay by hand.
  const forwarded = await backend.recv();
  client.postUnchecked(forwarded as never, () => {});
  assertEquals(await receiver.recv(), reply.agent);
});

Deno.test("HostError AgentSpawnFailure: spawnProc() reports a failing agent", async () => {
  await using backend = await serve(ChannelAddr.any("local"));
  await using callback = await serve<ProcCallback>(ChannelAddr.any("local"));
  const err = await assertRejects(
    () =>
      spawnProc(
        {
          procId: new ProcId(ChannelAddr.local(1), "c"),
          backendAddr: backend.addr,
          callbackAddr: callback.addr,
        },
        () => {
          throw new Error("no agent");
        },
      ),
    HostError,
  );
  assertEquals(err.kind, "AgentSpawnFailure");
});

Deno.test("HostError MissingParameter / InvalidParameter name the variable", () => {
  const env: Record<string, string> = {
    HYPERACTOR_HOST_PROC_ID: "unix:@h,p",
    HYPERACTOR_HOST_CALLBACK_ADDR: "unix:@cb",
  };
  const missing = assertThrows(() => readSpawnProcParams((k) => env[k]), HostError);
  assertEquals([missing.kind, missing.parameter], [
    "MissingParameter",
    "HYPERACTOR_HOST_BACKEND_ADDR",
  ]);
  env.HYPERACTOR_HOST_BACKEND_ADDR = "bogus";
  const invalid = assertThrows(() => readSpawnProcParams((k) => env[k]), HostError);
  assertEquals([invalid.kind, invalid.parameter], [
    "InvalidParameter",
    "HYPERACTOR_HOST_BACKEND_ADDR",
  ]);
  env.HYPERACTOR_HOST_BACKEND_ADDR = "unix:@b";
  const params = readSpawnProcParams((k) => env[k]);
  assertEquals(params.procId.name, "p");
});
