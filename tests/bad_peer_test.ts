/**
 * A bad peer never crashes a host: garbage bytes, truncated and oversize
 * frames, non-envelope messages and envelopes with nonsense addresses sent to a
 * host's front-end are dropped (or bounced), and the host keeps serving real
 * clients.
 */
import { assertEquals } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { dial, setChannelLogger } from "../channel/mod.ts";
import { config } from "../config/config.ts";
import { CODEC_MAX_FRAME_LENGTH } from "../config/attrs.ts";
import { Proc } from "../actor/proc.ts";
import { createEnvelope } from "../actor/envelope.ts";
import { ActorRef } from "../actor/port.ts";
import { Host } from "../host/host.ts";
import { LocalProcManager } from "../host/local_proc_manager.ts";
import { EchoActor } from "../host/testing.ts";

async function echoRoundTrip(client: Proc, echo: ActorRef<EchoActor>): Promise<string> {
  using cx = client.instance(`probe${crypto.randomUUID().slice(0, 8)}`);
  const { ref, receiver } = cx.openOncePort<string>();
  echo.send(cx, "Echo", ref.toJSON());
  return await receiver.recv({ timeoutMs: 5_000 });
}

async function rawSend(addr: ChannelAddr, bytes: Uint8Array, closeAfter = true): Promise<void> {
  const conn = addr.transport === "tcp"
    ? await Deno.connect({ hostname: addr.host!, port: addr.port! })
    : await Deno.connect({
      transport: "unix",
      path: addr.abstract ? `\0${addr.path}` : addr.path!,
    });
  try {
    await conn.write(bytes);
    if (!closeAfter) return;
    // Wait until the server has dropped us (or a short while passed).
    const buf = new Uint8Array(64);
    await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise((r) => setTimeout(r, 200)),
    ]);
  } finally {
    conn.close();
  }
}

for (const transport of ["tcp", "unix"] as const) {
  Deno.test(`HO-9 (${transport}): garbage, broken frames and bad envelopes never crash a host`, async () => {
    const logged: string[] = [];
    const previousLogger = setChannelLogger((...args: unknown[]) => logged.push(args.join(" ")));
    using _frame = config.override(CODEC_MAX_FRAME_LENGTH, 64 * 1024);
    try {
      const manager = new LocalProcManager((proc) => proc.spawn("echo", new EchoActor()));
      const { host } = await Host.serve(manager, ChannelAddr.any(transport));
      await using _host = host;
      const { agentRef } = await host.spawn("worker");
      const echo = ActorRef.attest<EchoActor>(agentRef.actorId);
      await using client = await Proc.direct(ChannelAddr.any(transport), "client");
      assertEquals(await echoRoundTrip(client, echo), echo.actorId.toString(), "baseline");

      // 1. Random garbage instead of a preamble.
      const garbage = new Uint8Array(4096);
      crypto.getRandomValues(garbage);
      await rawSend(host.addr, garbage);
      // 2. A preamble-looking prefix and then a truncated frame.
      await rawSend(
        host.addr,
        new Uint8Array([0x4c, 0x4e, 0x4b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff]),
      );
      // 3. Nothing at all (connect and hang up).
      await rawSend(host.addr, new Uint8Array());
      // 4. Well-framed messages that are not envelopes, and envelopes with nonsense routes.
      const tx = dial<unknown>(host.addr);
      for (const junk of [1, "x", null, [1, 2], { dest: 3 }, { __proto__: { polluted: true } }]) {
        tx.post(junk);
      }
      tx.post(createEnvelope({ sender: "garbage", dest: "also garbage", type: "Echo", data: 1 }));
      tx.post(
        createEnvelope({
          sender: `${client.procId.key},nobody[0]`,
          dest: `${host.addr},no_such_proc,a[0][5]`,
          type: "Echo",
          data: 1,
        }),
      );
      // 5. An oversize frame on a live session.
      tx.post("y".repeat(128 * 1024));
      await tx.flush().catch(() => {});
      await tx.close();

      assertEquals(
        ({} as Record<string, unknown>).polluted,
        undefined,
        "no prototype pollution",
      );
      assertEquals(
        await echoRoundTrip(client, echo),
        echo.actorId.toString(),
        "HO-9: the host still serves real clients after every bad peer",
      );
    } finally {
      setChannelLogger(previousLogger);
    }
  });
}
