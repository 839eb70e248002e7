/**
 * Actor throughput: messages through a proc to an actor, in-process and
 * across a unix channel (compare with the raw channel figure in
 * `bench/channel_bench.ts`). Each iteration sends N messages and waits for
 * the actor's count reply.
 *
 * - `deno bench --allow-all bench/actor_bench.ts` registers both cases.
 * - `deno run --allow-all bench/actor_bench.ts [rounds]` prints msg/s
 *   (median and best of `rounds` iterations after a warm-up; this machine is
 *   shared and noisy, so compare figures measured in the same run), next to
 *   the bound of the unix case: a raw unix channel, also in this process,
 *   carrying the same envelopes (same JSON) one way.
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/channel.ts";
import { createEnvelope, type MessageEnvelope } from "../actor/envelope.ts";
import type { ClientInstance, Context } from "../actor/types.ts";
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

async function burst(counter: ActorRef<Counter>, client: ClientInstance): Promise<void> {
  for (let i = 0; i < N; i++) counter.send(client, "Inc", i);
  const { ref, receiver } = client.openOncePort<number>();
  counter.send(client, "Sync", ref);
  await receiver.recv();
}

const local = Proc.local();
const localCounter = local.spawn("counter", new Counter()).ref;
const localClient = local.instance("client");

const server = await Proc.direct(ChannelAddr.any("unix"), "server");
const client = await Proc.direct(ChannelAddr.any("unix"), "client");
server.spawn("counter", new Counter());
const remoteCounter = ActorRef.attest<Counter>(server.procId.actor("counter"));
const remoteClient = client.instance("client");

async function rates(
  counter: ActorRef<Counter>,
  cx: ClientInstance,
  rounds: number,
): Promise<{ median: number; best: number }> {
  for (let i = 0; i < 5; i++) await burst(counter, cx); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await burst(counter, cx);
    xs.push(N / ((performance.now() - t0) / 1000));
  }
  xs.sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)], best: xs[xs.length - 1] };
}

/** One-way raw channel throughput with the unix case's envelopes, in this process. */
async function channelRates(rounds: number): Promise<{ median: number; best: number }> {
  const rx = await serve<MessageEnvelope>(ChannelAddr.any("unix"));
  const tx = dial<MessageEnvelope>(rx.addr);
  const dest = `${remoteCounter.actorId.key}[${remoteCounter.port("Inc").portId.index}<Inc>]`;
  const sender = remoteClient.self.key;
  const once = async () => {
    for (let i = 0; i < N; i++) {
      tx.post(createEnvelope({ sender, dest, type: "Inc", data: i }));
    }
    for (let i = 0; i < N; i++) await rx.recv();
  };
  try {
    for (let i = 0; i < 5; i++) await once();
    const xs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await once();
      xs.push(N / ((performance.now() - t0) / 1000));
    }
    xs.sort((a, b) => a - b);
    return { median: xs[Math.floor(xs.length / 2)], best: xs[xs.length - 1] };
  } finally {
    await tx.close();
    await rx.close();
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 30);
  try {
    const fmt = (x: number) => `${(x / 1000).toFixed(0).padStart(6)}k`;
    const inProc = await rates(localCounter, localClient, rounds);
    const unix = await rates(remoteCounter, remoteClient, rounds);
    const raw = await channelRates(rounds);
    console.log(`case                  median msg/s   best msg/s  (N=${N}, ${rounds} rounds)`);
    console.log(`in-process            ${fmt(inProc.median)}      ${fmt(inProc.best)}`);
    console.log(`across unix           ${fmt(unix.median)}      ${fmt(unix.best)}`);
    console.log(`raw unix channel      ${fmt(raw.median)}      ${fmt(raw.best)}`);
    console.log(`unix / raw channel    ${(unix.median / raw.median).toFixed(2).padStart(7)}`);
  } finally {
    localClient[Symbol.dispose]();
    remoteClient[Symbol.dispose]();
    await local[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
    await client[Symbol.asyncDispose]();
  }
} else {
  Deno.bench(
    `actor in-process: ${N} messages`,
    { group: "actor", baseline: true },
    () => burst(localCounter, localClient),
  );
  Deno.bench(
    `actor across unix: ${N} messages`,
    { group: "actor" },
    () => burst(remoteCounter, remoteClient),
  );
  globalThis.addEventListener("unload", () => {
    // Best effort: the bench process exits right after.
    void local[Symbol.asyncDispose]();
    void server[Symbol.asyncDispose]();
    void client[Symbol.asyncDispose]();
  });
}
