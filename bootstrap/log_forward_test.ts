import { assert, assertEquals } from "@std/assert";
import { Sink } from "./_log_test_util.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { dial } from "../channel/mod.ts";
import { Proc } from "../actor/proc.ts";
import type { OutputTarget } from "./stream_forwarder.ts";
import { LogClientActor } from "./log_client.ts";
import { LogForwardActor, type LogMessage, spawnLogForwarder, syncFlush } from "./log_forward.ts";

function log(procId: string, target: OutputTarget, ...payload: string[]): LogMessage {
  return { kind: "Log", hostname: "h", procId, outputTarget: target, payload };
}

/** An unused in-process address (the local transport allocates on `local:0`). */
function localAddr(): ChannelAddr {
  return ChannelAddr.any("local");
}

Deno.test("BS-15: LogForwardActor forwards Log messages in order while streaming, none after SetMode off", async () => {
  await using proc = Proc.local();
  const sink = new Sink();
  const client = proc.spawn(
    "log_client",
    new LogClientActor({ aggregateWindowMs: null, writer: sink.write }),
  );
  const { handle, addr } = await spawnLogForwarder(proc, { client: client.ref, addr: localAddr() });
  using cx = proc.instance("cx");
  const tx = dial<LogMessage>(addr);
  try {
    for (let i = 0; i < 20; i++) tx.post(log("p[0]", i % 2 ? "stderr" : "stdout", `[0] line ${i}`));
    await sink.atLeast(20);
    assertEquals(
      sink.lines,
      Array.from(
        { length: 20 },
        (_, i) => `${i % 2 ? "stderr" : "stdout"}|[h p[0]] [0] line ${i}`,
      ),
      "BS-15: in order",
    );
    handle.ref.send(cx, "SetMode", { streamToClient: false });
    tx.post(log("p[0]", "stdout", "dropped"));
    // A versioned flush is forwarded whatever the mode: use it as the barrier.
    const v = await syncFlush(cx, client.ref, [handle.ref], { timeoutMs: 5_000 });
    assertEquals(v, 1);
    assertEquals(sink.lines.length, 20, "BS-15: no Log forwarded with streaming off");
  } finally {
    await tx.close();
    handle.stop();
    await handle.wait();
    client.stop();
    await client.wait();
  }
});

Deno.test("BS-16: Flush{null} arms one keepalive; stopping clears it and closes the channel", async () => {
  await using proc = Proc.local();
  const client = proc.spawn("log_client", new LogClientActor({ aggregateWindowMs: null }));
  const actor = await LogForwardActor.create({ client: client.ref, addr: localAddr() });
  const handle = proc.spawn("log_forwarder", actor);
  using cx = proc.instance("cx");
  const tx = dial<LogMessage>(actor.addr);
  try {
    for (let i = 0; i < 5; i++) tx.post({ kind: "Flush", syncVersion: null });
    // The barrier's own flush travels the same channel behind the five.
    await syncFlush(cx, client.ref, [handle.ref], { timeoutMs: 5_000 });
    assert(actor.keepalivePending, "BS-16: a keepalive is scheduled");
  } finally {
    await tx.close();
    handle.stop();
    await handle.wait(); // the op sanitizer fails the test if the 1 s timer survived
  }
  const after = dial<LogMessage>(actor.addr);
  assertEquals(after.status.get().kind, "Closed", "BS-16: the channel is closed on stop");
  await after.close();
  client.stop();
  await client.wait();
});

Deno.test("syncFlush() waits for every forwarder and prints the aggregated buffer first", async () => {
  await using proc = Proc.local();
  const sink = new Sink();
  const client = proc.spawn(
    "log_client",
    new LogClientActor({ aggregateWindowMs: 60_000, writer: sink.write }),
  );
  const a = await spawnLogForwarder(proc, { client: client.ref, addr: localAddr(), name: "fa" });
  const b = await spawnLogForwarder(proc, { client: client.ref, addr: localAddr(), name: "fb" });
  using cx = proc.instance("cx");
  const txs = [dial<LogMessage>(a.addr), dial<LogMessage>(b.addr)];
  try {
    txs[0].post(log("p[0]", "stdout", "[0] epoch 1 finished"));
    txs[1].post(log("p[1]", "stdout", "[1] epoch 1 finished"));
    await syncFlush(cx, client.ref, [a.handle.ref, b.handle.ref], { timeoutMs: 5_000 });
    assertEquals(sink.lines.length, 3, "header, one entry, footer");
    assert(sink.lines[1].includes("[2 similar log lines]"), sink.lines[1]);
    assert(sink.lines[1].endsWith("[0] epoch 1 finished"), sink.lines[1]);
  } finally {
    for (const tx of txs) await tx.close();
    for (const { handle } of [a, b]) {
      handle.stop();
      await handle.wait();
    }
    client.stop();
    await client.wait();
  }
});

Deno.test("LogForwardActor.create() serves BOOTSTRAP_LOG_CHANNEL (seed: test_v1_child_logging)", async () => {
  await using proc = Proc.local();
  const sink = new Sink();
  const client = proc.spawn(
    "log_client",
    new LogClientActor({ aggregateWindowMs: null, writer: sink.write }),
  );
  // The local transport allocates ids, so the env names `local:0`; the
  // default (no env) would be a fresh unix address.
  const actor = await LogForwardActor.create({
    client: client.ref.toString(),
    env: { get: (key) => (key === "BOOTSTRAP_LOG_CHANNEL" ? "local:0" : undefined) },
  });
  assertEquals(actor.addr.transport, "local");
  const handle = proc.spawn("log_forwarder", actor);
  const tx = dial<LogMessage>(actor.addr);
  try {
    tx.post(log("testproc[0]", "stdout", "hello from child"));
    await sink.atLeast(1);
    assert(sink.lines[0].includes("hello from child"), sink.lines[0]);
    assertEquals(sink.lines[0], "stdout|[h testproc[0]] hello from child");
  } finally {
    await tx.close();
    handle.stop();
    await handle.wait();
    client.stop();
    await client.wait();
  }
});
