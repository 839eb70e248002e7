import { assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import type { Context } from "../actor/types.ts";
import { ActorRef, type PortRefData } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";

type Ping = { n: number; reply: PortRefData<number> };

Deno.test("Proc.direct(): two unix procs talk through their dial routers, replies via PortRefs", async () => {
  // Disposed in reverse order: the server first, while its replies' link is alive.
  await using client = await Proc.direct(ChannelAddr.any("unix"), "client");
  await using server = await Proc.direct(ChannelAddr.any("unix"), "server");
  const echo = server.spawn("echo", {
    handlers: { Ping: (cx: Context, msg: Ping) => cx.send(msg.reply, msg.n * 2) },
  });
  using cx = client.instance("client");
  const remote = ActorRef.attest<typeof echo extends { ref: ActorRef<infer A> } ? A : never>(
    echo.actorId.key,
  );
  const { ref, receiver } = cx.openPort<number>();
  for (let n = 1; n <= 50; n++) remote.send(cx, "Ping", { n, reply: ref });
  const got: number[] = [];
  for (let i = 0; i < 50; i++) got.push(await receiver.recv({ timeoutMs: 10_000 }));
  assertEquals(got, Array.from({ length: 50 }, (_, i) => (i + 1) * 2));

  // A message to an actor that does not exist comes back across the channel.
  ActorRef.attest(server.procId.actor("ghost")).send(cx, "X", 1);
  const returned = await cx.undeliverables.recv({ timeoutMs: 10_000 });
  assertStringIncludes(JSON.stringify(returned.errors), "no mailbox for actor");
  // Flush while the server is up: a flush after the peer closed waits out
  // FORWARDER_FLUSH_TIMEOUT on unacked envelopes (reported to the lead).
  await client.flush();
});
