import { assert, assertEquals, assertThrows } from "@std/assert";
import { decodeVarint, encodeVarint } from "@std/encoding/varint";
import {
  encodeFrame,
  FrameDecoder,
  FrameError,
  OutBuffer,
  varintLength,
  writeVarint,
} from "./framing.ts";
import {
  appendAck,
  appendBytes,
  appendText,
  decodeAck,
  decodeBatch,
  decodeMessage,
  decodePreamble,
  encodePreamble,
  TAG_MSG_JSON,
  TAG_MSG_JSON_BATCH,
} from "./_protocol.ts";

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("writeVarint() matches @std/encoding/varint both ways", () => {
  const values = [
    0,
    1,
    127,
    128,
    300,
    16383,
    16384,
    2 ** 21,
    2 ** 31 + 5,
    2 ** 40 + 3,
    2 ** 53 - 1,
  ];
  for (const n of values) {
    const w = varintLength(n);
    const buf = new Uint8Array(w);
    writeVarint(buf, 0, n, w);
    const [std] = encodeVarint(n);
    assertEquals([...buf], [...std], `canonical encoding of ${n}`);
    assertEquals(Number(decodeVarint(buf)[0]), n);
    // Padded prefixes decode to the same value with std too.
    const padded = new Uint8Array(8);
    writeVarint(padded, 0, n, 8);
    assertEquals(Number(decodeVarint(padded)[0]), n);
  }
});

Deno.test("CH-7: FrameDecoder round-trips frames split at every byte", () => {
  const bodies = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(200).fill(7)];
  const out = new OutBuffer(4);
  for (const b of bodies) out.appendFrame(b);
  const stream = out.bytes().slice();
  for (let cut = 0; cut <= stream.length; cut++) {
    const dec = new FrameDecoder({ initialCapacity: 8 });
    const got: number[][] = [];
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) {
      dec.push(part);
      for (let b = dec.next(); b !== undefined; b = dec.next()) got.push([...b]);
    }
    assertEquals(got, bodies.map((b) => [...b]), `CH-7: split at ${cut}`);
    dec.finish();
  }
});

Deno.test("CH-7: FrameDecoder rejects oversize and overlong prefixes with FrameError", () => {
  const dec = new FrameDecoder({ maxFrameLength: 100 });
  dec.push(encodeFrame(new Uint8Array(101)).subarray(0, 2)); // prefix only: rejected early
  assertThrows(() => dec.next(), FrameError, "exceeds the limit");
  const dec2 = new FrameDecoder();
  dec2.push(new Uint8Array(9).fill(0x80));
  assertThrows(() => dec2.next(), FrameError, "longer than 8 bytes");
});

Deno.test("CH-7: FrameDecoder.finish() reports EOF inside a frame", () => {
  const dec = new FrameDecoder();
  dec.push(encodeFrame(new Uint8Array(10)).subarray(0, 5));
  assertEquals(dec.next(), undefined);
  assertThrows(() => dec.finish(), FrameError, "EOF inside a frame");
});

Deno.test("CH-7: fuzz: random bytes only yield frames, need-more, or FrameError", () => {
  const rand = rng(42);
  const max = 4096;
  for (let round = 0; round < 2000; round++) {
    const dec = new FrameDecoder({ maxFrameLength: max, initialCapacity: 16 });
    const len = Math.floor(rand() * 300);
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
    let off = 0;
    try {
      while (off < len) {
        const step = 1 + Math.floor(rand() * 40);
        dec.push(bytes.subarray(off, off + step));
        off += step;
        for (let b = dec.next(); b !== undefined; b = dec.next()) assert(b.length <= max);
      }
    } catch (error) {
      assert(error instanceof FrameError, `CH-7: round ${round} threw ${error}`);
    }
  }
});

Deno.test("CH-7: fuzz: truncated valid streams never yield a wrong frame", () => {
  const rand = rng(7);
  for (let round = 0; round < 500; round++) {
    const out = new OutBuffer(16);
    const bodies: number[][] = [];
    for (let k = 0; k < 5; k++) {
      const b = new Uint8Array(Math.floor(rand() * 300));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      bodies.push([...b]);
      out.appendFrame(b);
    }
    const stream = out.bytes();
    const cut = Math.floor(rand() * stream.length);
    const dec = new FrameDecoder({ initialCapacity: 16 });
    dec.push(stream.subarray(0, cut));
    const got: number[][] = [];
    for (let b = dec.next(); b !== undefined; b = dec.next()) got.push([...b]);
    assertEquals(got, bodies.slice(0, got.length), "CH-7: a prefix of the frames, in order");
    if (dec.buffered > 0) assertThrows(() => dec.finish(), FrameError);
    else dec.finish();
  }
});

Deno.test("appendText()/appendBytes() round-trip JSON, unicode, batches and bytes", () => {
  const messages: unknown[] = [
    null,
    0,
    "",
    "ascii",
    "héllo ✓ 𝄞",
    { a: [1, 2, { b: "x".repeat(1000) }], c: true },
    "é".repeat(300),
  ];
  for (const m of messages) {
    const out = new OutBuffer(4);
    appendText(out, TAG_MSG_JSON, JSON.stringify(m));
    const dec = new FrameDecoder();
    dec.push(out.bytes());
    assertEquals(decodeMessage(dec.next()!), m);
  }
  const out = new OutBuffer(4);
  appendBytes(out, new Uint8Array([1, 2, 3]));
  appendBytes(out, new Uint8Array(100).fill(9));
  appendText(out, TAG_MSG_JSON_BATCH, JSON.stringify(messages));
  const dec = new FrameDecoder();
  dec.push(out.bytes());
  assertEquals(decodeMessage(dec.next()!), new Uint8Array([1, 2, 3]));
  assertEquals(decodeMessage(dec.next()!), new Uint8Array(100).fill(9));
  assertEquals(decodeBatch(dec.next()!), messages);
  assertThrows(() => decodeBatch(new Uint8Array([TAG_MSG_JSON_BATCH, 0x7b, 0x7d])), FrameError);
});

Deno.test("decodeMessage() keeps __proto__ an own property (no prototype pollution)", () => {
  const out = new OutBuffer();
  appendText(out, TAG_MSG_JSON, '{"__proto__":{"polluted":true},"a":1}');
  const dec = new FrameDecoder();
  dec.push(out.bytes());
  const m = decodeMessage(dec.next()!) as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(m), Object.prototype);
  assert(Object.hasOwn(m, "__proto__"));
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("decodeMessage() rejects invalid JSON and UTF-8 with FrameError", () => {
  assertThrows(() => decodeMessage(new Uint8Array([0, 0x7b])), FrameError);
  assertThrows(
    () => decodeMessage(new Uint8Array([0, 0xff, 0xfe, ...new Array(80).fill(32)])),
    FrameError,
  );
});

Deno.test("preamble and ACK encodings round-trip", () => {
  const session = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 255]);
  assertEquals(decodePreamble(encodePreamble(session, 2 ** 40 + 9)), {
    session: "01020304050607ff",
    firstSeq: 2 ** 40 + 9,
    version: 2,
  });
  assertThrows(() => decodePreamble(new Uint8Array(20)), FrameError);
  const out = new OutBuffer();
  appendAck(out, 123456);
  const dec = new FrameDecoder();
  dec.push(out.bytes());
  assertEquals(decodeAck(dec.next()!), 123456);
  assertThrows(() => decodeAck(new Uint8Array([16, 0x80])), FrameError);
});
