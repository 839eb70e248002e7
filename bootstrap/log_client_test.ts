import { assert, assertEquals, assertThrows } from "@std/assert";
import { Sink } from "./_log_test_util.ts";
import { Proc } from "../actor/proc.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { ActorRef } from "../actor/port.ts";
import type { OutputTarget } from "./stream_forwarder.ts";
import {
  LineAggregator,
  type LogBatch,
  LogClientActor,
  normalizedLevenshtein,
  SIMILARITY_THRESHOLD,
} from "./log_client.ts";

const FIXED = new Date(2026, 2, 28, 9, 5, 7);
const HEADER = "\x1b[36m>>> Aggregated Logs (2026-03-28 09:05:07) >>>\x1b[0m";
const FOOTER = "\x1b[36m<<< Aggregated Logs (2026-03-28 09:05:07) <<<\x1b[0m";
const entry = (n: number, line: string) => `\x1b[33m[${n} similar log lines]\x1b[0m ${line}`;

function batch(target: OutputTarget, ...payload: string[]): LogBatch {
  return { hostname: "h", procId: "p", outputTarget: target, payload };
}

async function withClient(
  options: ConstructorParameters<typeof LogClientActor>[0],
  fn: (ref: ActorRef<LogClientActor>, cx: ClientInstance, sink: Sink) => Promise<void>,
): Promise<Sink> {
  await using proc = Proc.local();
  const sink = new Sink();
  const client = proc.spawn("log_client", new LogClientActor({ ...options, writer: sink.write }));
  using cx = proc.instance("cx");
  try {
    await fn(client.ref, cx, sink);
  } finally {
    client.stop();
    await client.wait();
  }
  return sink;
}

Deno.test("normalizedLevenshtein() is the edit distance over the longer length, in code points", () => {
  assertEquals(normalizedLevenshtein("abc", "abc"), 0);
  assertEquals(normalizedLevenshtein("abc", ""), 1);
  assertEquals(normalizedLevenshtein("kitten", "sitting"), 3 / 7);
  assertEquals(normalizedLevenshtein("ééé", "éeé"), 1 / 3);
  assertEquals(
    normalizedLevenshtein("a".repeat(10), "b".repeat(10), { limit: 0.15 }),
    1,
    "early exit",
  );
});

Deno.test("LineAggregator joins the closest entry below the threshold, else adds one", () => {
  const agg = new LineAggregator();
  agg.add("[0] loss=0.51 at step 10");
  agg.add("[1] loss=0.52 at step 10");
  agg.add("completely different");
  agg.add("[2] loss=0.53 at step 10");
  assertEquals(agg.entries.map((e) => [e.line, e.count]), [
    ["[0] loss=0.51 at step 10", 3],
    ["completely different", 1],
  ]);
  assert(normalizedLevenshtein("abcdefghij", "abcdefghXY") >= SIMILARITY_THRESHOLD);
  agg.add("abcdefghij");
  agg.add("abcdefghXY"); // distance 0.2: a new entry
  assertEquals(agg.take().length, 4);
  assert(agg.isEmpty);
});

Deno.test("LogClientActor rejects a negative window", () => {
  assertThrows(() => new LogClientActor({ aggregateWindowMs: -1 }), RangeError, "-1");
});

Deno.test("BS-17: LogClientActor immediate mode prints [host proc] line by target", async () => {
  const sink = await withClient({ aggregateWindowMs: null }, async (ref, cx, sink) => {
    ref.send(cx, "Log", batch("stdout", "[0] one", "[0] two"));
    ref.send(cx, "Log", batch("stderr", "[0] oops"));
    await sink.atLeast(3);
  });
  assertEquals(sink.lines, [
    "stdout|[h p] [0] one",
    "stdout|[h p] [0] two",
    "stderr|[h p] [0] oops",
  ]);
});

Deno.test("BS-17: LogClientActor aggregation prints one block per target when the window ends", async () => {
  const sink = await withClient(
    { aggregateWindowMs: 10, now: () => FIXED },
    async (ref, cx, sink) => {
      ref.send(cx, "Log", batch("stdout", "[0] step 1 done", "[1] step 1 done", "other"));
      ref.send(cx, "Log", batch("stderr", "[1] warning: x"));
      await sink.atLeast(7);
    },
  );
  assertEquals(sink.lines, [
    `stdout|${HEADER}`,
    `stdout|${entry(2, "[0] step 1 done")}`,
    `stdout|${entry(1, "other")}`,
    `stdout|${FOOTER}`,
    `stderr|${HEADER}`,
    `stderr|${entry(1, "[1] warning: x")}`,
    `stderr|${FOOTER}`,
  ]);
});

Deno.test("BS-17: disabling aggregation prints the buffer first, then lines go out at once", async () => {
  const sink = await withClient(
    { aggregateWindowMs: 60_000, now: () => FIXED },
    async (ref, cx, sink) => {
      ref.send(cx, "Log", batch("stdout", "a line", "a line"));
      const { ref: done, receiver } = cx.openOncePort<null>();
      ref.send(cx, "SetAggregate", { aggregateWindowMs: null, reply: done.toJSON() });
      assertEquals(await receiver.recv({ timeoutMs: 2_000 }), null);
      assertEquals(sink.lines.length, 3, "BS-17: the buffered block is printed on disable");
      ref.send(cx, "Log", batch("stdout", "now"));
      await sink.atLeast(4);
    },
  );
  assertEquals(sink.lines, [
    `stdout|${HEADER}`,
    `stdout|${entry(2, "a line")}`,
    `stdout|${FOOTER}`,
    "stdout|[h p] now",
  ]);
});

Deno.test("BS-17: a stopping LogClientActor prints what is buffered (and its window timer dies)", async () => {
  const sink = await withClient(
    { aggregateWindowMs: 60_000, now: () => FIXED },
    (ref, cx) => {
      ref.send(cx, "Log", batch("stderr", "late line"));
      return Promise.resolve();
    },
  );
  assertEquals(sink.lines, [
    `stderr|${HEADER}`,
    `stderr|${entry(1, "late line")}`,
    `stderr|${FOOTER}`,
  ]);
});

Deno.test("BS-18: StartSyncFlush replies after every flush of the current version, stale ones ignored", async () => {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  try {
    await withClient({ aggregateWindowMs: 60_000, now: () => FIXED }, async (ref, cx, sink) => {
      ref.send(cx, "Log", batch("stdout", "buffered"));
      const version = cx.openOncePort<number>();
      const reply = cx.openOncePort<null>();
      ref.send(cx, "StartSyncFlush", {
        expectedProcs: 2,
        reply: reply.ref.toJSON(),
        version: version.ref.toJSON(),
      });
      const v = await version.receiver.recv({ timeoutMs: 2_000 });
      assertEquals(v, 1);
      ref.send(cx, "Flush", { syncVersion: v + 7 }); // stale / foreign: ignored
      ref.send(cx, "Flush", { syncVersion: null }); // periodic: ignored
      ref.send(cx, "Flush", { syncVersion: v });
      ref.send(cx, "Flush", { syncVersion: v });
      assertEquals(await reply.receiver.recv({ timeoutMs: 2_000 }), null);
      assertEquals(sink.lines.length, 3, "BS-18: the buffer is printed before the reply");
    });
  } finally {
    console.warn = warn;
  }
  assertEquals(warnings.length, 1);
  assert(warnings[0].includes("version 8"), warnings[0]);
});

Deno.test("BS-18: StartSyncFlush with no expected proc replies at once", async () => {
  await withClient({ aggregateWindowMs: null }, async (ref, cx) => {
    const version = cx.openOncePort<number>();
    const reply = cx.openOncePort<null>();
    ref.send(cx, "StartSyncFlush", {
      expectedProcs: 0,
      reply: reply.ref.toJSON(),
      version: version.ref.toJSON(),
    });
    assertEquals(await version.receiver.recv({ timeoutMs: 2_000 }), 1);
    assertEquals(await reply.receiver.recv({ timeoutMs: 2_000 }), null);
  });
});
