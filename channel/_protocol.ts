/**
 * Folder-private wire protocol of net (unix/tcp) channels.
 *
 * Per connection the dialer first writes a 20-byte preamble: magic `HMC` +
 * version byte, the 8-byte session id, and the sequence number of the first
 * message frame that follows (u64 big-endian). Version 2 (the default) then
 * runs the authentication handshake of `_handshake.ts` before any frame:
 *
 * | dir | bytes |
 * |---|---|
 * | dialer → server | preamble (v2) · n (1..8) · n × key id (8) · dialer nonce (16) |
 * | server → dialer | status 0 · key index (1) · server nonce (16) · server MAC (32) |
 * | server → dialer | or status 1 (no common secret) / 2 (server is insecure), then close |
 * | dialer → server | dialer MAC (32), then frames |
 *
 * MACs are HMAC-SHA256 under the shared secret of `"S"` resp. `"D"` +
 * `hypermesh-auth-v2` + preamble + key id + both nonces. Version 1 (only with
 * `--insecure`) skips the handshake. Then both sides exchange frames
 * (see `framing.ts`); byte 0 of every body is a tag:
 *
 * | dir | tag | body after the tag |
 * |---|---|---|
 * | dialer → server | 0 `MSG_JSON` | UTF-8 JSON text of the message |
 * | dialer → server | 1 `MSG_BYTES` | raw bytes (a `Uint8Array` message) |
 * | dialer → server | 2 `BYE` | — (session finished; server forgets it) |
 * | dialer → server | 3 `ACK_REQ` | — (please ack now: a `send()`/`flush()` waits) |
 * | dialer → server | 4 `MSG_JSON_BATCH` | UTF-8 JSON array of k ≥ 1 messages (takes k seqs) |
 * | dialer → server | 5 `SKIP` | — (takes one seq, delivers nothing: an unserializable message) |
 * | server → dialer | 16 `ACK` | varint: highest contiguous seq received |
 * | server → dialer | 17 `REJECT` | UTF-8 reason; terminal |
 * | server → dialer | 18 `CLOSED` | — server stopped; terminal |
 * | server → dialer | 19 `AUTH_FAILED` | UTF-8 reason; terminal (bad dialer MAC, or a v1 dialer) |
 *
 * Message frames carry no explicit sequence number: messages on a connection
 * are numbered consecutively from `firstSeq` (from the preamble), so a
 * reconnect that resends unacked messages restates their original numbers.
 * Runs of JSON messages travel as one `MSG_JSON_BATCH` frame: one
 * `JSON.stringify` on the sender and one `JSON.parse` on the receiver per
 * batch is several times faster than per message.
 *
 * @module
 */

import { FrameError } from "./errors.ts";
import { OutBuffer, varintLength, writeVarint } from "./framing.ts";

export const TAG_MSG_JSON = 0;
export const TAG_MSG_BYTES = 1;
export const TAG_BYE = 2;
export const TAG_ACK_REQ = 3;
export const TAG_MSG_JSON_BATCH = 4;
export const TAG_SKIP = 5;
export const TAG_ACK = 16;
export const TAG_REJECT = 17;
export const TAG_CLOSED = 18;
export const TAG_AUTH_FAILED = 19;

export const PREAMBLE_LENGTH = 20;
const MAGIC = [0x48, 0x4d, 0x43]; // "HMC"
/** Preamble version without authentication (`--insecure` only). */
export const VERSION_PLAIN = 1;
/** Preamble version followed by the authentication handshake. */
export const VERSION_AUTH = 2;

const encoder = new TextEncoder();
// Lenient: a fatal TextDecoder is ~5x slower. Invalid UTF-8 becomes U+FFFD
// (inside strings) or fails JSON.parse; neither can do harm.
const decoder = new TextDecoder();

/** @returns A fresh random 8-byte session id. */
export function newSessionId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(8));
}

/**
 * @param session 8-byte session id.
 * @param firstSeq Sequence number of the first message frame that follows.
 * @param version {@linkcode VERSION_AUTH} or {@linkcode VERSION_PLAIN}.
 * @returns The 20-byte preamble.
 */
export function encodePreamble(
  session: Uint8Array,
  firstSeq: number,
  version: number = VERSION_AUTH,
): Uint8Array {
  const out = new Uint8Array(PREAMBLE_LENGTH);
  out.set(MAGIC, 0);
  out[3] = version;
  out.set(session, 4);
  const view = new DataView(out.buffer);
  view.setUint32(12, Math.floor(firstSeq / 2 ** 32));
  view.setUint32(16, firstSeq >>> 0);
  return out;
}

/**
 * @param bytes 20 bytes.
 * @returns Session key (hex), first sequence number and version.
 * @throws {FrameError} On a bad magic/version or an unsafe sequence number.
 */
export function decodePreamble(
  bytes: Uint8Array,
): { session: string; firstSeq: number; version: number } {
  for (let i = 0; i < 3; i++) {
    if (bytes[i] !== MAGIC[i]) throw new FrameError("bad preamble (not a hypermesh channel peer)");
  }
  const version = bytes[3];
  if (version !== VERSION_PLAIN && version !== VERSION_AUTH) {
    throw new FrameError(`bad preamble version ${version}`);
  }
  let session = "";
  for (let i = 4; i < 12; i++) session += bytes[i].toString(16).padStart(2, "0");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const firstSeq = view.getUint32(12) * 2 ** 32 + view.getUint32(16);
  if (!Number.isSafeInteger(firstSeq)) throw new FrameError("bad preamble sequence number");
  return { session, firstSeq, version };
}

/**
 * Appends one `MSG_BYTES` frame.
 * @param out Destination.
 * @param bytes The raw message.
 */
export function appendBytes(out: OutBuffer, bytes: Uint8Array): void {
  const n = bytes.length;
  const w = varintLength(n + 1);
  out.reserve(w + n + 1);
  const buf = out.buf;
  let p = writeVarint(buf, out.length, n + 1, w);
  buf[p++] = TAG_MSG_BYTES;
  if (n <= 64) {
    for (let i = 0; i < n; i++) buf[p + i] = bytes[i];
  } else {
    buf.set(bytes, p);
  }
  out.length = p + n;
}

/**
 * Appends a control frame with no argument.
 * @param out Destination.
 * @param tag One of the tags.
 */
export function appendControl(out: OutBuffer, tag: number): void {
  out.reserve(2);
  out.buf[out.length++] = 1;
  out.buf[out.length++] = tag;
}

/** The encoded goodbye frame a dialer sends before it hangs up (the server ends the session). */
export const BYE_FRAME: Uint8Array = (() => {
  const out = new OutBuffer(2);
  appendControl(out, TAG_BYE);
  return out.bytes().slice();
})();

/**
 * Appends an `ACK` frame.
 * @param out Destination.
 * @param seq Highest contiguous sequence number received.
 */
export function appendAck(out: OutBuffer, seq: number): void {
  const w = varintLength(seq);
  out.reserve(2 + w);
  out.buf[out.length++] = 1 + w;
  out.buf[out.length++] = TAG_ACK;
  out.length = writeVarint(out.buf, out.length, seq, w);
}

/**
 * Appends a `REJECT` frame.
 * @param out Destination.
 * @param reason Human-readable reason.
 */
export function appendReject(out: OutBuffer, reason: string): void {
  const text = encoder.encode(reason);
  const body = new Uint8Array(text.length + 1);
  body[0] = TAG_REJECT;
  body.set(text, 1);
  out.appendFrame(body);
}

/**
 * Decodes the varint argument of an `ACK` body.
 * @param body The frame body (tag at 0).
 * @returns The acked sequence number.
 * @throws {FrameError} If malformed.
 */
export function decodeAck(body: Uint8Array): number {
  let n = 0;
  let mul = 1;
  for (let i = 1; i < body.length && i <= 8; i++) {
    const b = body[i];
    n += (b & 0x7f) * mul;
    mul *= 0x80;
    if (b < 0x80) {
      if (i !== body.length - 1 || !Number.isSafeInteger(n)) break;
      return n;
    }
  }
  throw new FrameError("malformed ACK frame");
}

/**
 * @param body A `REJECT` body.
 * @returns The reason text.
 */
export function decodeText(body: Uint8Array): string {
  return new TextDecoder().decode(body.subarray(1));
}

/**
 * Decodes a message body. `JSON.parse` defines a `__proto__` key as an own
 * data property, so hostile input cannot reach `Object.prototype`.
 * @param body A `MSG_JSON` or `MSG_BYTES` body (tag at 0).
 * @returns The message; for bytes, a VIEW into `body`'s buffer (the caller
 * must keep that buffer from being reused, see `FrameDecoder.detach`).
 * @throws {FrameError} For invalid UTF-8 or JSON.
 */
export function decodeMessage(body: Uint8Array): unknown {
  if (body[0] === TAG_MSG_BYTES) return body.subarray(1);
  let text: string;
  try {
    text = decoder.decode(body.subarray(1));
    return JSON.parse(text);
  } catch (cause) {
    throw new FrameError("message body is not valid JSON", { cause });
  }
}

/**
 * Appends one frame whose body is `tag` + the UTF-8 of `text`.
 * @param out Destination.
 * @param tag `TAG_MSG_JSON` or `TAG_MSG_JSON_BATCH`.
 * @param text JSON text.
 * @returns The body length in bytes.
 */
export function appendText(out: OutBuffer, tag: number, text: string): number {
  const maxBody = text.length * 3 + 1;
  const w = varintLength(maxBody);
  out.reserve(w + maxBody);
  const buf = out.buf;
  const at = out.length;
  buf[at + w] = tag;
  const { written } = encoder.encodeInto(text, buf.subarray(at + w + 1));
  writeVarint(buf, at, written + 1, w); // padded: the prefix was reserved for maxBody
  out.length = at + w + 1 + written;
  return written + 1;
}

/**
 * Decodes a `MSG_JSON_BATCH` body.
 * @param body The body (tag at 0).
 * @returns The messages.
 * @throws {FrameError} Unless the body is a non-empty JSON array.
 */
export function decodeBatch(body: Uint8Array): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body.subarray(1)));
  } catch (cause) {
    throw new FrameError("batch body is not valid JSON", { cause });
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new FrameError("batch body is not a non-empty JSON array");
  }
  return value;
}
