/**
 * Actor throughput: messages through a proc to an actor, in-process and
 * across a unix channel (compare with the raw channel figure in
 * `bench/channel_bench.ts`). Each iteration sends N messages and waits for
 * the actor's count reply.
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import type { Context } from "../actor/instance.ts";
import { ActorRef, type PortRefData } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";

const N = 10_000;

class Counter {
  count = 0;
  readonly handlers = {
    Inc: (_cx: Context, _n: number) => {
      this.count++;
    },
    Sync: (cx: Context, reply: PortRefData<number>) => cx.send(reply, this.count),
  };
}

const local = Proc.local();
const localCounter = local.spawn("counter", new Counter());
const localClient = local.instance("client");

Deno.bench(`actor in-process: ${N} messages`, { group: "actor", baseline: true }, async () => {
  for (let i = 0; i < N; i++) localCounter.ref.send(localClient, "Inc", i);
  const { ref, receiver } = localClient.openOncePort<number>();
  localCounter.ref.send(localClient, "Sync", ref);
  await receiver.recv();
});

const server = await Proc.direct(ChannelAddr.any("unix"), "server");
const client = await Proc.direct(ChannelAddr.any("unix"), "client");
server.spawn("counter", new Counter());
const remoteCounter = ActorRef.attest<Counter>(server.procId.actor("counter"));
const remoteClient = client.instance("client");

Deno.bench(`actor across unix: ${N} messages`, { group: "actor" }, async () => {
  for (let i = 0; i < N; i++) remoteCounter.send(remoteClient, "Inc", i);
  const { ref, receiver } = remoteClient.openOncePort<number>();
  remoteCounter.send(remoteClient, "Sync", ref);
  await receiver.recv();
});

globalThis.addEventListener("unload", () => {
  // Best effort: the bench process exits right after.
  void local[Symbol.asyncDispose]();
  void server[Symbol.asyncDispose]();
  void client[Symbol.asyncDispose]();
});
