import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { attrs, config } from "../config/mod.ts";
import {
  decodeLine,
  MAX_LINE_BYTES,
  StreamForwarder,
  type StreamForwarderOptions,
  TRUNCATED_SUFFIX,
} from "./stream_forwarder.ts";

const enc = new TextEncoder();

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => (typeof c === "string" ? enc.encode(c) : c)));
}

/** Runs a forwarder to EOF, collecting batches and mirrored bytes. */
async function forward(
  stream: ReadableStream<Uint8Array>,
  options: Partial<StreamForwarderOptions> = {},
) {
  const batches: string[][] = [];
  const mirrored: Uint8Array[] = [];
  const fwd = StreamForwarder.start(stream, {
    target: "stderr",
    tailLines: 10,
    mirror: (chunk) => void mirrored.push(chunk.slice()),
    onLines: (lines) => void batches.push(lines),
    ...options,
  });
  const result = await fwd.done;
  return { batches, mirrored, result, fwd };
}

Deno.test("StreamForwarder splits chunks into lines and batches per chunk", async () => {
  const { batches, result } = await forward(streamOf("a\nb\n", "c\n"));
  assertEquals(batches, [["a", "b"], ["c"]]);
  assertEquals(result, { tail: ["a", "b", "c"] });
});

Deno.test("StreamForwarder reassembles lines across chunks, bytes included", async () => {
  const euro = enc.encode("€"); // 3 bytes, split across reads
  const { batches } = await forward(
    streamOf("he", "llo wor", new Uint8Array([...enc.encode("ld "), euro[0]]), euro.slice(1), "\n"),
  );
  assertEquals(batches, [["hello world €"]]);
});

Deno.test("BS-4: StreamForwarder emits a trailing partial line at EOF", async () => {
  const { batches, result } = await forward(streamOf("one\ntwo"));
  assertEquals(batches, [["one"], ["two"]], "BS-4: the unterminated last line is delivered");
  assertEquals(result.tail, ["one", "two"]);
});

Deno.test("BS-4: StreamForwarder mirrors every chunk unchanged", async () => {
  const chunks = ["x\n", "partial", "\xff\n".repeat(3)];
  const { mirrored } = await forward(streamOf(...chunks));
  assertEquals(mirrored, chunks.map((c) => enc.encode(c)));
});

Deno.test("BS-4: StreamForwarder loses no line of a large output", async () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
  const text = enc.encode(lines.join("\n")); // no final newline
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < text.length; at += 777) chunks.push(text.subarray(at, at + 777));
  const { batches, result } = await forward(streamOf(...chunks), { tailLines: 3 });
  assertEquals(batches.flat(), lines, "BS-4");
  assertEquals(result.tail, ["line 4997", "line 4998", "line 4999"]);
});

Deno.test("StreamForwarder truncates long lines on a char boundary", async () => {
  const long = "a".repeat(MAX_LINE_BYTES - 1) + "é" + "tail"; // é straddles the cut
  const { batches } = await forward(streamOf(long + "\n", "short\n"));
  assertEquals(batches, [["a".repeat(MAX_LINE_BYTES - 1) + TRUNCATED_SUFFIX], ["short"]]);
  assertEquals(decodeLine(enc.encode("b".repeat(MAX_LINE_BYTES))), "b".repeat(MAX_LINE_BYTES));
  assertEquals(
    decodeLine(enc.encode("b".repeat(MAX_LINE_BYTES + 1))),
    "b".repeat(MAX_LINE_BYTES) + TRUNCATED_SUFFIX,
  );
});

Deno.test("StreamForwarder decodes invalid UTF-8 lossily", async () => {
  const { batches } = await forward(streamOf(new Uint8Array([0x61, 0xff, 0x62, 0x0a])));
  assertEquals(batches, [["a\ufffdb"]]);
});

Deno.test("StreamForwarder keeps a ring of the last non-empty unprefixed lines", async () => {
  const { batches, result } = await forward(streamOf("1\n\n2\n3\n\n4\n"), {
    tailLines: 2,
    prefixRank: 7,
    prefixWithRank: true,
  });
  assertEquals(batches, [["[7] 1", "[7] ", "[7] 2", "[7] 3", "[7] ", "[7] 4"]]);
  assertEquals(result.tail, ["3", "4"]);
});

Deno.test("StreamForwarder keeps no tail when tailLines is 0", async () => {
  const { result } = await forward(streamOf("1\n2\n"), { tailLines: 0 });
  assertEquals(result.tail, []);
});

Deno.test("StreamForwarder prefixes ranks per PREFIX_WITH_RANK", async () => {
  {
    using _o = config.override(attrs.PREFIX_WITH_RANK, false);
    const { batches } = await forward(streamOf("x\n"), { prefixRank: 1 });
    assertEquals(batches, [["x"]]);
  }
  {
    using _o = config.override(attrs.PREFIX_WITH_RANK, true);
    const { batches } = await forward(streamOf("x\n"), { prefixRank: 1 });
    assertEquals(batches, [["[1] x"]]);
    const unranked = await forward(streamOf("x\n"));
    assertEquals(unranked.batches, [["x"]], "no rank, no prefix");
  }
});

Deno.test("StreamForwarder.peek() shows the tail while running", async () => {
  let push!: (chunk: Uint8Array) => void;
  let end!: () => void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (c) => controller.enqueue(c);
      end = () => controller.close();
    },
  });
  const seen: string[][] = [];
  let wake: () => void = () => {};
  const fwd = StreamForwarder.start(stream, {
    target: "stdout",
    tailLines: 5,
    mirror: false,
    onLines: (lines) => {
      seen.push(lines);
      wake();
    },
  });
  const delivered = new Promise<void>((r) => (wake = r));
  push(enc.encode("first\nsecond\n"));
  await delivered;
  assertEquals(fwd.peek(), ["first", "second"]);
  end();
  assertEquals((await fwd.done).tail, ["first", "second"]);
});

Deno.test("BS-4: StreamForwarder.abort() delivers what was read, partial line included", async () => {
  let push!: (chunk: Uint8Array) => void;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (c) => controller.enqueue(c);
    },
    cancel() {
      cancelled = true;
    },
  });
  const batches: string[][] = [];
  let wake: () => void = () => {};
  const delivered = new Promise<void>((r) => (wake = r));
  const fwd = StreamForwarder.start(stream, {
    target: "stdout",
    tailLines: 5,
    mirror: false,
    onLines: (lines) => {
      batches.push(lines);
      wake();
    },
  });
  push(enc.encode("done\nhalf"));
  await delivered;
  const result = await fwd.abort();
  assertEquals(batches, [["done"], ["half"]]);
  assertEquals(result, { tail: ["done", "half"] });
  assertEquals(cancelled, true);
  assertEquals(await fwd.abort(), result, "idempotent");
});

Deno.test("StreamForwarder stops on an aborted signal", async () => {
  const controller = new AbortController();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("x\n"));
    },
  });
  const batches: string[][] = [];
  let wake: () => void = () => {};
  const delivered = new Promise<void>((r) => (wake = r));
  const fwd = StreamForwarder.start(stream, {
    target: "stdout",
    tailLines: 1,
    mirror: false,
    signal: controller.signal,
    onLines: (lines) => {
      batches.push(lines);
      wake();
    },
  });
  await delivered;
  controller.abort();
  assertEquals(await fwd.done, { tail: ["x"] });
});

Deno.test("StreamForwarder reports sink and reader errors without losing lines", async () => {
  const { batches, result } = await forward(streamOf("a\n", "b\n"), {
    mirror: () => {
      throw new Error("mirror broke");
    },
  });
  assertEquals(batches, [["a"], ["b"]]);
  assertInstanceOf(result.error, Error);
  let pulls = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulls++ === 0) c.enqueue(enc.encode("before"));
      else c.error(new Error("pipe broke"));
    },
  });
  const broken = await forward(failing);
  assertEquals((broken.result.error as Error).message, "pipe broke");
  assertEquals(broken.batches, [["before"]], "BS-4: the partial line still arrives");
});

Deno.test("StreamForwarder.start() rejects a bad tailLines", () => {
  assertThrows(
    () => StreamForwarder.start(streamOf(), { target: "stdout", tailLines: -1 }),
    RangeError,
    "-1",
  );
});
