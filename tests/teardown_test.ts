/**
 * Teardown regressions: closing servers, procs and hosts never returns a
 * delivered message, never leaves a link (or its reconnect timer) behind, and
 * never waits out a timeout for a peer that is already gone.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import { breakConnections } from "../testing.ts";
import { attrs, config } from "../config/mod.ts";
import type { Context } from "../actor/types.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { ActorRef, type PortRefData } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";
import { Host } from "../host/host.ts";
import { LocalProcManager } from "../host/local_proc_manager.ts";

for (const transport of ["unix", "tcp"] as const) {
  Deno.test(`CH-4/CH-8 (${transport}): a server closing mid-stream never has a delivered message returned`, async () => {
    // Acks only when asked or on close: everything delivered is unacked until then.
    using _i = config.override(attrs.MESSAGE_ACK_TIME_INTERVAL, 60_000);
    using _n = config.override(attrs.MESSAGE_ACK_EVERY_N_MESSAGES, 1_000_000);
    const server = await serve<number>(ChannelAddr.any(transport));
    const tx = dial<number>(server.addr);
    const returned = new Set<number>();
    let posted = 0;
    const post = () => {
      const i = posted++;
      tx.post(i, (e) => {
        assert(!returned.has(e.payload), `CH-4: ${e.payload} returned twice`);
        returned.add(e.payload);
      });
    };
    for (let k = 0; k < 200; k++) post();
    const delivered: number[] = [];
    while (delivered.length < 100) delivered.push((await server.recv())!);
    // Keep the dialer writing while the server closes (a reset would eat the final ack).
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        for (let k = 0; k < 50; k++) post();
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    await server.close();
    streaming = false;
    await stream;
    for await (const m of server) delivered.push(m); // CH-8: received stays readable
    await tx.flush();
    await tx.close();
    for (const m of delivered) assert(!returned.has(m), `CH-4: delivered ${m} was also returned`);
    assertEquals(delivered.length + returned.size, posted, "CH-4: delivered xor returned");
    assertEquals(delivered, delivered.toSorted((a, b) => a - b), "CH-3: in order");
  });
}

Deno.test("CH-9: a refused reconnect to a gone peer returns everything at once", async () => {
  using _t = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 20_000);
  const server = await serve<number>(ChannelAddr.any("unix"));
  const tx = dial<number>(server.addr, { refusedIsTerminal: true });
  await tx.send(0);
  breakConnections(tx); // the sender never sees the server's Closed
  await server.close();
  const reasons: string[] = [];
  tx.post(1, (e) => reasons.push(e.reason));
  await tx.flush(); // settles now, not after the delivery timeout
  assertEquals(reasons.length, 1);
  assertStringIncludes(reasons[0], "peer gone");
  assertEquals(tx.status.get().kind, "Closed");
  await tx.close();
});

Deno.test("CH-9: a sender that never connected keeps retrying refusals", async () => {
  const tx = dial<number>(ChannelAddr.any("unix"), { refusedIsTerminal: true });
  tx.post(1);
  await new Promise((r) => setTimeout(r, 50)); // a few refused attempts
  assertEquals(tx.status.get().kind, "Active", "CH-9: a peer that was never there may be starting");
  await tx.close();
});

Deno.test("CH-10: connect() dials before the first message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypermesh-ch10-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
  try {
    const tx = dial<number>(ChannelAddr.parse(`unix:${dir}/s.sock`));
    tx.connect!();
    const conn = await listener.accept(); // nothing was posted: only connect() dials
    conn.close();
    await tx.close();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Echo that records every Undeliverable it is handed (the default handler would fail it). */
class RecordingEcho {
  readonly undeliverable: MessageEnvelope[] = [];
  readonly handlers = {
    Echo: (cx: Context, reply: PortRefData<string>): void => {
      cx.send(reply, cx.self.toString());
    },
  };
  handleUndeliverable(_cx: Context, envelope: MessageEnvelope): void {
    this.undeliverable.push(envelope);
  }
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test(`MB-13/MB-36 (${transport}): disposing a client proc and its host leaves no link behind and bounces nothing delivered`, async () => {
    const echoes: RecordingEcho[] = [];
    const manager = new LocalProcManager((proc) => {
      const echo = new RecordingEcho();
      echoes.push(echo);
      return proc.spawn("echo", echo);
    });
    const { host } = await Host.serve(manager, ChannelAddr.any(transport));
    try {
      const { agentRef } = await host.spawn("worker");
      const echo = ActorRef.attest<RecordingEcho>(agentRef.actorId);
      const client = await Proc.direct(ChannelAddr.any(transport), "client");
      try {
        using cx = client.instance("probe");
        for (let round = 0; round < 3; round++) {
          const { ref, receiver } = cx.openOncePort<string>();
          echo.send(cx, "Echo", ref.toJSON());
          assertEquals(await receiver.recv({ timeoutMs: 5_000 }), echo.actorId.toString());
        }
        // An envelope for a proc nobody serves, from a client actor: its
        // Undeliverable travels back to the client while everything shuts down.
        const { ref } = cx.openOncePort<string>();
        ActorRef.attest<RecordingEcho>(`${host.addr},no_such_proc,a[0]`).send(
          cx,
          "Echo",
          ref.toJSON(),
        );
      } finally {
        await client[Symbol.asyncDispose]();
      }
    } finally {
      await host[Symbol.asyncDispose](); // sanitizers: no link, socket or timer survives
    }
    assertEquals(
      echoes.flatMap((e) => e.undeliverable.map((u) => u.type)),
      [],
      "MB-13: replies that were delivered never come back to the echo actor",
    );
  });
}
