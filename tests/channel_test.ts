// Integration: unix and tcp channels between two real Deno processes.
import { assert, assertEquals } from "@std/assert";
import { attrs, config } from "../config/mod.ts";
import { dial, type SendError, type Transport } from "../channel/mod.ts";
import { breakConnections } from "../testing.ts";

const FIXTURE = new URL("./fixtures/channel_receiver.ts", import.meta.url).pathname;

interface Receiver {
  child: Deno.ChildProcess;
  addr: string;
  nextLine(): Promise<string>;
  stop(): Promise<void>;
  stderr(): string;
}

async function spawnReceiver(transport: Transport): Promise<Receiver> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      FIXTURE,
      transport,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let errText = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (errText += s) }),
  );
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`receiver exited; stderr:\n${errText}`);
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await lines.cancel();
    await errDone;
  };
  try {
    const { addr } = JSON.parse(await nextLine());
    return { child, addr, nextLine, stop, stderr: () => errText };
  } catch (error) {
    await stop();
    throw error;
  }
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test(`CH-3: ${transport}: cut connections mid-stream lose, duplicate and reorder nothing`, async () => {
    const rx = await spawnReceiver(transport);
    const tx = dial<{ i: number } | { report: true }>(rx.addr);
    try {
      const N = 20_000;
      let breaks = 0;
      for (let i = 0; i < N; i++) {
        tx.post({ i });
        if (i % 4000 === 2000) {
          // Let frames hit the wire, then cut the live socket (both processes stay alive).
          // Backoff doubles per short-lived connection: 4 cuts cost ~150 ms.
          await new Promise((r) => setTimeout(r, 2));
          while (breakConnections(tx) === 0) await new Promise((r) => setTimeout(r, 2));
          breaks++;
        }
      }
      await tx.flush();
      assertEquals(breaks, 5);
      await tx.send({ report: true });
      const report = JSON.parse(await rx.nextLine());
      assertEquals(report, { count: N, ok: true, firstBad: null }, "CH-3: exactly once, in order");
      assertEquals(tx.status.get().kind, "Active");
    } catch (error) {
      console.error(rx.stderr());
      throw error;
    } finally {
      await tx.close();
      await rx.stop();
    }
  });

  Deno.test(`CH-4: ${transport}: after SIGKILL of the receiver every unacked message comes back`, async () => {
    using _t = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 300);
    const rx = await spawnReceiver(transport);
    const tx = dial<{ i: number }>(rx.addr);
    try {
      const acked = new Set<number>();
      const returned = new Set<number>();
      const track = (i: number) =>
        tx.send({ i }).then(
          () => void acked.add(i),
          (e: SendError<{ i: number }>) => {
            assertEquals(e.payload.i, i);
            assert(!returned.has(i), "CH-4: returned at most once");
            returned.add(i);
          },
        );
      const first = Array.from({ length: 100 }, (_, i) => track(i));
      await Promise.all(first);
      assertEquals(acked.size, 100);
      const racing = Array.from({ length: 100 }, (_, i) => track(100 + i));
      rx.child.kill("SIGKILL");
      await rx.child.status;
      const after = Array.from({ length: 100 }, (_, i) => track(200 + i));
      await Promise.all([...racing, ...after]);
      for (let i = 0; i < 300; i++) {
        assert(acked.has(i) !== returned.has(i), `CH-4: message ${i} acked xor returned`);
      }
      for (let i = 200; i < 300; i++) assert(returned.has(i), `CH-4: ${i} posted after the kill`);
      const status = tx.status.get();
      assert(
        status.kind === "Closed" && status.reason.includes("delivery timeout"),
        JSON.stringify(status),
      );
    } finally {
      await tx.close();
      await rx.stop();
    }
  });
}
