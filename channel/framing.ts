/**
 * Length-prefixed framing for byte streams.
 *
 * A frame is an unsigned LEB128 varint body length — the encoding of
 * `@std/encoding/varint` — followed by the body. The hot path uses the inlined
 * equivalents below because `encodeVarint` from std goes through `BigInt` and
 * allocates; `framing_test.ts` cross-checks both directions against std. A
 * length prefix may be padded with `0x80` continuation bytes (still valid
 * LEB128, and decoded by std too), which lets the encoder reserve the prefix
 * before it knows the exact body length. Length prefixes are at most
 * {@linkcode MAX_PREFIX_BYTES} bytes.
 *
 * ## Invariants (CH-*)
 * - **CH-7 (total decoder).** {@linkcode FrameDecoder.next} on any byte
 *   sequence either returns a complete frame body, returns `undefined` ("need
 *   more bytes"), or throws {@linkcode FrameError}; it never throws anything
 *   else, never returns a body longer than its limit, and never buffers more
 *   than one frame beyond its limit.
 *
 * @module
 */

import { FrameError } from "./errors.ts";

export { FrameError };

/** Longest accepted length prefix in bytes (enough for any safe integer). */
export const MAX_PREFIX_BYTES = 8;

/**
 * Bytes needed for the canonical varint of `n`.
 * @param n A non-negative safe integer.
 * @returns 1..8.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { varintLength } from "./framing.ts";
 * assertEquals([varintLength(0), varintLength(127), varintLength(128)], [1, 1, 2]);
 * ```
 */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

/**
 * Writes `n` as a varint of exactly `width` bytes (padded with continuation
 * bytes when the canonical form is shorter).
 * @param buf Destination.
 * @param offset Where to write.
 * @param n A non-negative safe integer.
 * @param width Bytes to use; at least `varintLength(n)`.
 * @returns `offset + width`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeVarint } from "./framing.ts";
 * const buf = new Uint8Array(2);
 * assertEquals(writeVarint(buf, 0, 5, 2), 2);
 * assertEquals([...buf], [0x85, 0x00]);
 * ```
 */
export function writeVarint(buf: Uint8Array, offset: number, n: number, width: number): number {
  const last = offset + width - 1;
  for (let i = offset; i < last; i++) {
    buf[i] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[last] = n;
  return last + 1;
}

/**
 * A growable output buffer that frames are appended to before one write.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FrameDecoder, OutBuffer } from "./framing.ts";
 * const out = new OutBuffer();
 * out.appendFrame(new Uint8Array([1, 2, 3]));
 * const dec = new FrameDecoder();
 * dec.push(out.bytes());
 * assertEquals([...dec.next()!], [1, 2, 3]);
 * ```
 */
export class OutBuffer {
  /** The storage; valid bytes are `[0, length)`. */
  buf: Uint8Array;
  /** Bytes used. */
  length = 0;

  /**
   * Creates an empty buffer.
   * @param capacity Initial capacity in bytes.
   */
  constructor(capacity = 64 * 1024) {
    this.buf = new Uint8Array(capacity);
  }

  /**
   * Makes room for `n` more bytes.
   * @param n Bytes needed after `length`.
   */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /**
   * Appends raw bytes.
   * @param bytes Appended verbatim (no prefix).
   */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /**
   * Appends one frame.
   * @param body Appended as one frame (prefix + body).
   */
  appendFrame(body: Uint8Array): void {
    const w = varintLength(body.length);
    this.reserve(w + body.length);
    this.length = writeVarint(this.buf, this.length, body.length, w);
    this.buf.set(body, this.length);
    this.length += body.length;
  }

  /**
   * The content.
   * @returns A view of the used bytes (valid until the next append).
   */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Forgets the content; shrinks storage that grew past 4 MiB. */
  clear(): void {
    this.length = 0;
    if (this.buf.length > 4 * 1024 * 1024) this.buf = new Uint8Array(64 * 1024);
  }
}

/**
 * Encodes one frame.
 * @param body The frame body.
 * @returns Length prefix + body, in a new array.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeFrame } from "./framing.ts";
 * assertEquals([...encodeFrame(new Uint8Array([9]))], [1, 9]);
 * ```
 */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = new OutBuffer(body.length + MAX_PREFIX_BYTES);
  out.appendFrame(body);
  return out.bytes();
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest accepted body in bytes (default 1 GiB). */
  maxFrameLength?: number;
  /** Initial buffer size in bytes (default 64 KiB). */
  initialCapacity?: number;
  /**
   * Bytes allocated up front (default `initialCapacity`). When smaller, the
   * buffer grows (×4, up to `initialCapacity`) only after a read fills it,
   * so an idle stream costs `startCapacity` bytes and a busy one gets the
   * large reads.
   */
  startCapacity?: number;
}

/**
 * Incremental frame decoder: feed bytes, take complete frame bodies out.
 *
 * For zero-copy reads call {@linkcode FrameDecoder.writable}, read into the
 * returned view, then {@linkcode FrameDecoder.commit}. Returned bodies are
 * views into the internal buffer, valid until the next `writable()`/`push()`
 * unless {@linkcode FrameDecoder.detach} is called.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { encodeFrame, FrameDecoder, FrameError } from "./framing.ts";
 * const dec = new FrameDecoder({ maxFrameLength: 4 });
 * const frame = encodeFrame(new Uint8Array([1, 2]));
 * dec.push(frame.subarray(0, 2));
 * assertEquals(dec.next(), undefined); // need more
 * dec.push(frame.subarray(2));
 * assertEquals([...dec.next()!], [1, 2]);
 * dec.push(encodeFrame(new Uint8Array(5)));
 * assertThrows(() => dec.next(), FrameError); // CH-7: oversize
 * ```
 */
export class FrameDecoder {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #max: number;
  #need = 0; // bytes the frame at #start needs in total, once its prefix is known
  #detached = false;
  #lastRead = 0;
  #full = false; // the last read filled the buffer
  #initialCapacity: number;

  /**
   * Creates a decoder.
   * @param options Limits.
   */
  constructor(options: FrameDecoderOptions = {}) {
    this.#max = options.maxFrameLength ?? 1 << 30;
    this.#initialCapacity = options.initialCapacity ?? 64 * 1024;
    this.#buf = new Uint8Array(Math.min(options.startCapacity ?? Infinity, this.#initialCapacity));
  }

  /** Bytes buffered but not yet returned. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Free space to read into; at least `min` bytes (or the rest of the current
   * frame, whichever is larger).
   * @param min Minimum free bytes wanted.
   * @returns A view to fill, then call {@linkcode FrameDecoder.commit}.
   */
  writable(min = 16 * 1024): Uint8Array {
    const pending = this.#end - this.#start;
    let want = Math.max(min, this.#need - pending);
    if (this.#full) {
      this.#full = false;
      const grown = Math.min(this.#buf.length * 4, this.#initialCapacity);
      if (!this.#detached && grown > this.#buf.length) want = Math.max(want, grown - pending);
    }
    if (this.#detached) {
      // Bodies handed out before detach() keep their bytes: never overwrite them.
      this.#detached = false;
      // Adaptive size: small reads (request/response traffic) get small fresh buffers.
      let cap = 4096;
      while (cap < this.#lastRead * 2 && cap < this.#initialCapacity) cap *= 2;
      while (cap - pending < want) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = pending;
      return next.subarray(pending);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buf.length - this.#end < want) {
      if (this.#buf.length - pending >= want && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let cap = this.#buf.length * 2;
        while (cap - pending < want) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = pending;
    } else if (pending === 0 && this.#buf.length > 4 * 1024 * 1024) {
      this.#buf = new Uint8Array(this.#initialCapacity); // shrink after a huge frame
    }
    return this.#buf.subarray(this.#end);
  }

  /**
   * Keeps every body returned so far valid for good: the next
   * {@linkcode FrameDecoder.writable} moves to a fresh buffer instead of
   * reusing this one. Lets callers hand out body views without copying each.
   */
  detach(): void {
    this.#detached = true;
  }

  /**
   * Marks bytes as read into the view from `writable()`.
   * @param n Byte count.
   */
  commit(n: number): void {
    this.#end += n;
    this.#lastRead = n;
    this.#full = n > 0 && this.#end === this.#buf.length;
  }

  /**
   * Feeds bytes (copied).
   * @param bytes Input.
   */
  push(bytes: Uint8Array): void {
    this.writable(bytes.length).set(bytes);
    this.commit(bytes.length);
  }

  /**
   * Takes `n` raw bytes (e.g. a preamble), unframed.
   * @param n Byte count.
   * @returns A copy, or `undefined` if fewer are buffered.
   */
  take(n: number): Uint8Array | undefined {
    if (this.#end - this.#start < n) return undefined;
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /**
   * The next complete frame body (CH-7).
   * @returns The body (a view), or `undefined` when more bytes are needed.
   * @throws {FrameError} On a malformed or oversize length prefix.
   */
  next(): Uint8Array | undefined {
    const buf = this.#buf;
    const start = this.#start;
    const avail = this.#end - start;
    if (avail === 0) return undefined;
    // Fast path: one-byte prefix.
    let len = buf[start];
    let p = start + 1;
    if (len >= 0x80) {
      len &= 0x7f;
      let mul = 0x80;
      for (let i = 1;; i++) {
        if (i === avail) return undefined;
        if (i === MAX_PREFIX_BYTES) throw new FrameError("length prefix longer than 8 bytes");
        const b = buf[start + i];
        len += (b & 0x7f) * mul;
        mul *= 0x80;
        if (b < 0x80) {
          p = start + i + 1;
          break;
        }
      }
    }
    if (len > this.#max) {
      throw new FrameError(`frame of ${len} bytes exceeds the limit of ${this.#max}`);
    }
    const end = p + len;
    if (end > this.#end) {
      this.#need = end - start;
      return undefined;
    }
    this.#need = 0;
    this.#start = end;
    return buf.subarray(p, end);
  }

  /**
   * Checks the stream ended on a frame boundary.
   * @throws {FrameError} If a partial frame is buffered (mid-frame EOF).
   */
  finish(): void {
    const pending = this.#end - this.#start;
    if (pending > 0) throw new FrameError(`EOF inside a frame (${pending} bytes buffered)`);
  }
}
