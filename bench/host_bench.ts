/**
 * Host message path vs the raw floor, measured in the same run:
 *
 * - **host path**: a client proc sends `Greet` to an actor in a bootstrap
 *   child proc through the host's front-end (client → host router → child's
 *   unix socket → actor) and awaits the reply (child → host back-end →
 *   client), one message at a time;
 * - **raw floor**: the same round trip over one bare channel to an echo peer
 *   (`bench/_channel_peer.ts chan-echo`), and over a bare Deno unix socket.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi bench/host_bench.ts [rounds]
 * ```
 * @module
 */

import { ChannelAddr, dial, serve } from "../channel/mod.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { ActorRef } from "../actor/port.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { workerCommand } from "../cli/worker.ts";

const ROUNDS = Number(Deno.args[0] ?? 2_000);
const PEER = new URL("./_channel_peer.ts", import.meta.url).pathname;

function stats(samples: number[]): { median: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.floor(s.length * 0.9)] };
}

async function spawnPeer(role: string): Promise<{ child: Deno.ChildProcess; addr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      PEER,
      role,
      "unix",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("peer exited before printing its address");
    text += value;
  }
  reader.releaseLock();
  return { child, addr: text.trim() };
}

async function rawChannelRoundTrips(): Promise<number[]> {
  const { child, addr } = await spawnPeer("chan-echo");
  const server = await serve<string>(ChannelAddr.any("unix"));
  const tx = dial<string>(addr);
  tx.post(server.addr.key);
  const samples: number[] = [];
  try {
    for (let i = 0; i < ROUNDS + 100; i++) {
      const t0 = performance.now();
      tx.post("ping-0123456789-0123456789-0123456789-0123456789");
      await server.recv();
      if (i >= 100) samples.push((performance.now() - t0) * 1000);
    }
  } finally {
    await tx.close();
    await server.close();
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
  return samples;
}

async function bareSocketRoundTrips(): Promise<number[]> {
  const { child, addr } = await spawnPeer("bare-echo");
  const conn = await Deno.connect({ transport: "unix", path: addr.slice("unix:".length) }); // a socket file (AU-8)
  const msg = new Uint8Array(64);
  const buf = new Uint8Array(64);
  const samples: number[] = [];
  try {
    for (let i = 0; i < ROUNDS + 100; i++) {
      const t0 = performance.now();
      await conn.write(msg);
      let got = 0;
      while (got < msg.length) got += (await conn.read(buf.subarray(got))) ?? msg.length;
      if (i >= 100) samples.push((performance.now() - t0) * 1000);
    }
  } finally {
    conn.close();
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
  return samples;
}

async function hostRoundTrips(): Promise<number[]> {
  const cx = await context();
  await using hosts = await HostMesh.process(Extent.of({ hosts: 1 }), workerCommand());
  const procs = await hosts.ref.spawn(cx, "bench", Extent.of({ procs: 1 }));
  const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
  const greeter = actors.values()[0] as ActorRef;
  const { ref, receiver } = cx.openPort<Greeting>();
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS + 100; i++) {
    const t0 = performance.now();
    greeter.send(cx, "Greet", { text: "ping", reply: ref });
    await receiver.recv({ timeoutMs: 10_000 });
    if (i >= 100) samples.push((performance.now() - t0) * 1000);
  }
  receiver.close();
  return samples;
}

if (import.meta.main) {
  const bare = stats(await bareSocketRoundTrips());
  const raw = stats(await rawChannelRoundTrips());
  const host = stats(await hostRoundTrips());
  await shutdownContext();
  const row = (name: string, s: { median: number; p90: number }) =>
    `| ${name} | ${s.median.toFixed(1)} µs | ${s.p90.toFixed(1)} µs | ${
      (s.median / bare.median).toFixed(2)
    }x |`;
  console.log(`round trips: ${ROUNDS} each, after 100 warm-up rounds`);
  console.log("| path | median | p90 | vs bare socket |");
  console.log("| --- | --- | --- | --- |");
  console.log(row("bare Deno unix socket echo", bare));
  console.log(row("one hypermesh unix channel, echo peer", raw));
  console.log(row("client → host → child proc actor → client", host));
  console.log(`host path / raw channel: ${(host.median / raw.median).toFixed(2)}x`);
}
