/**
 * Folder-private authentication handshake of net (unix/tcp) links: a mutual
 * challenge–response over the shared channel secret (`secret.ts`), run right
 * after the 20-byte preamble and before any frame (wire layout in
 * `_protocol.ts`).
 *
 * ## Invariants (AU-*)
 * - **AU-1 (authenticate before acting).** The server reads the preamble,
 *   the hello and the dialer's MAC into buffers of exactly the size still
 *   expected (at most 133 bytes in all), and only after the MAC verifies does it
 *   allocate a frame decoder or look at a session; a peer that fails costs
 *   it nothing more and is dropped.
 * - **AU-2 (mutual, secret never on the wire).** Each side proves the secret
 *   with an HMAC-SHA256 over both nonces and the preamble; only 8-byte key
 *   ids (fingerprints) cross the wire. The dialer verifies the server's MAC
 *   before it sends a message.
 * - **AU-3 (no replay).** Both sides contribute a fresh 16-byte random nonce,
 *   so the recorded bytes of a past handshake never verify again.
 * - **AU-4 (typed, terminal failure).** A refused dialer gets an
 *   {@linkcode AuthenticationError} naming the address (terminal, not
 *   retried); a connection that merely breaks is retried as before. A peer
 *   whose first answer is no handshake status at all speaks another
 *   protocol: a {@linkcode ForeignPeerError} quoting what it sent (CH-12).
 *
 * @module
 */

import { AuthenticationError, ForeignPeerError } from "./errors.ts";
import {
  decodePreamble,
  encodePreamble,
  PREAMBLE_LENGTH,
  TAG_AUTH_FAILED,
  VERSION_AUTH,
  VERSION_PLAIN,
} from "./_protocol.ts";
import type { ChannelSecret } from "./secret.ts";
import { writeAll } from "./_net_io.ts";
import { type LightTimer, startLightTimer } from "../internal/light_timer.ts";

/** Most key ids a dialer offers. */
export const MAX_OFFERED_KEYS = 8;
const NONCE = 16;
const MAC = 32;
const STATUS_OK = 0;
const STATUS_NO_COMMON_SECRET = 1;
const STATUS_SERVER_INSECURE = 2;
const LABEL = new TextEncoder().encode("hypermesh-auth-v2");
const ROLE_SERVER = 0x53; // "S"
const ROLE_DIALER = 0x44; // "D"

/** A server-side handshake failure: logged once, the connection dropped. */
export class HandshakeRefused extends Error {
  /**
   * @param reason Why the peer was refused.
   */
  constructor(readonly reason: string) {
    super(`Cannot authenticate peer: ${reason}`);
    this.name = "HandshakeRefused";
  }
}

/** A server-side handshake that got through. */
export interface Accepted {
  /** Session key (hex). */
  session: string;
  /** Sequence number of the first frame. */
  firstSeq: number;
}

/**
 * Reads exactly `buf.length` bytes (never more: nothing past the handshake
 * is consumed).
 * @throws {HandshakeRefused} On EOF first.
 */
async function readExact(conn: Deno.Conn, buf: Uint8Array, what: string): Promise<void> {
  let have = 0;
  while (have < buf.length) {
    const n = await conn.read(have === 0 ? buf : buf.subarray(have));
    if (n === null) throw new HandshakeRefused(`connection closed inside the ${what} (truncated)`);
    have += n;
  }
}

function transcript(
  role: number,
  preamble: Uint8Array,
  keyId: Uint8Array,
  nonceD: Uint8Array,
  nonceS: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(1 + LABEL.length + PREAMBLE_LENGTH + 8 + 2 * NONCE);
  let p = 0;
  out[p++] = role;
  out.set(LABEL, p);
  p += LABEL.length;
  out.set(preamble, p);
  p += PREAMBLE_LENGTH;
  out.set(keyId, p);
  p += 8;
  out.set(nonceD, p);
  out.set(nonceS, p + NONCE);
  return out;
}

async function sign(secret: ChannelSecret, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await secret.hmacKey(), data));
}

async function verify(
  secret: ChannelSecret,
  mac: Uint8Array,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  // crypto.subtle.verify compares in constant time.
  return await crypto.subtle.verify(
    "HMAC",
    await secret.hmacKey(),
    mac as Uint8Array<ArrayBuffer>,
    data,
  );
}

function sameId(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[at + i]) return false;
  return true;
}

/**
 * The server side (AU-1..AU-3): reads the preamble and, unless insecure, the
 * handshake, on a fresh connection.
 * @param conn The accepted connection.
 * @param keys The accepted secrets; `null` when running insecure.
 * @returns The session, or `undefined` when the peer hung up before a byte.
 * @throws {HandshakeRefused} When the peer fails; the caller logs and closes.
 * @throws {import("./errors.ts").FrameError} For a bad preamble.
 */
export async function acceptHandshake(
  conn: Deno.Conn,
  keys: readonly ChannelSecret[] | null,
): Promise<Accepted | undefined> {
  const preamble = new Uint8Array(PREAMBLE_LENGTH);
  const first = await conn.read(preamble);
  if (first === null) return undefined;
  if (first < PREAMBLE_LENGTH) await readExact(conn, preamble.subarray(first), "preamble");
  const { session, firstSeq, version } = decodePreamble(preamble);
  if (keys === null) {
    if (version === VERSION_PLAIN) return { session, firstSeq };
    await writeAll(conn, new Uint8Array([STATUS_SERVER_INSECURE]));
    throw new HandshakeRefused("dialer authenticates, but this server runs insecure");
  }
  if (version !== VERSION_AUTH) {
    await writeAll(conn, authFailedFrame("authentication required"));
    throw new HandshakeRefused("peer did not authenticate (no handshake)");
  }
  const count = new Uint8Array(1);
  await readExact(conn, count, "handshake");
  const n = count[0];
  if (n < 1 || n > MAX_OFFERED_KEYS) throw new HandshakeRefused(`bad key count ${n}`);
  const hello = new Uint8Array(n * 8 + NONCE);
  await readExact(conn, hello, "handshake");
  let index = -1;
  let secret: ChannelSecret | undefined;
  for (let i = 0; i < n && secret === undefined; i++) {
    secret = keys.find((k) => sameId(k.keyId, hello, i * 8));
    if (secret !== undefined) index = i;
  }
  if (secret === undefined) {
    await writeAll(conn, new Uint8Array([STATUS_NO_COMMON_SECRET]));
    throw new HandshakeRefused("no common secret (wrong or missing secret)");
  }
  const nonceD = hello.subarray(n * 8);
  const nonceS = crypto.getRandomValues(new Uint8Array(NONCE));
  const macS = await sign(secret, transcript(ROLE_SERVER, preamble, secret.keyId, nonceD, nonceS));
  const reply = new Uint8Array(2 + NONCE + MAC);
  reply[0] = STATUS_OK;
  reply[1] = index;
  reply.set(nonceS, 2);
  reply.set(macS, 2 + NONCE);
  await writeAll(conn, reply);
  const macD = new Uint8Array(MAC);
  await readExact(conn, macD, "handshake");
  const data = transcript(ROLE_DIALER, preamble, secret.keyId, nonceD, nonceS);
  if (!(await verify(secret, macD, data))) {
    await writeAll(conn, authFailedFrame("bad proof of the secret")).catch(() => {});
    throw new HandshakeRefused("bad proof of the secret (wrong secret or replayed handshake)");
  }
  return { session, firstSeq };
}

function authFailedFrame(reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = 1 + text.length; // reasons are short: a one-byte varint
  out[1] = TAG_AUTH_FAILED;
  out.set(text, 2);
  return out;
}

/**
 * The dialer side (AU-2..AU-4). Writes the preamble and hello, verifies the
 * server's proof, and returns the dialer's proof: the first bytes to write
 * (with the first frames behind them). Insecure: returns the v1 preamble.
 * @param conn A fresh connection.
 * @param addr The server's address (for errors).
 * @param session 8-byte session id.
 * @param firstSeq Sequence number of the first frame.
 * @param keys The secrets to offer, primary first; `null` when insecure.
 * @returns Bytes to write before the first frame.
 * @throws {AuthenticationError} When the server refuses or fails its proof.
 * @throws {Error} I/O errors (the caller reconnects).
 */
export async function dialHandshake(
  conn: Deno.Conn,
  addr: string,
  session: Uint8Array,
  firstSeq: number,
  keys: readonly ChannelSecret[] | null,
): Promise<Uint8Array> {
  if (keys === null) return encodePreamble(session, firstSeq, VERSION_PLAIN);
  const preamble = encodePreamble(session, firstSeq, VERSION_AUTH);
  const offered = keys.slice(0, MAX_OFFERED_KEYS);
  const hello = new Uint8Array(PREAMBLE_LENGTH + 1 + offered.length * 8 + NONCE);
  hello.set(preamble, 0);
  hello[PREAMBLE_LENGTH] = offered.length;
  offered.forEach((k, i) => hello.set(k.keyId, PREAMBLE_LENGTH + 1 + i * 8));
  const nonceD = crypto.getRandomValues(new Uint8Array(NONCE));
  hello.set(nonceD, hello.length - NONCE);
  await writeAll(conn, hello);
  const reply = new Uint8Array(2 + NONCE + MAC);
  const n = await conn.read(reply.subarray(0, 1));
  if (n === null) throw new Deno.errors.UnexpectedEof("server hung up during the handshake");
  if (reply[0] === STATUS_NO_COMMON_SECRET) {
    throw new AuthenticationError(addr, "the server does not know our secret (wrong secret)");
  }
  if (reply[0] === STATUS_SERVER_INSECURE) {
    throw new AuthenticationError(addr, "the server runs without authentication (--insecure)");
  }
  if (reply[0] !== STATUS_OK) {
    // CH-12: not a hypermesh server (an HTTP server answers "HTTP/1.1 400…").
    throw new ForeignPeerError(addr, await excerpt(conn, reply[0]));
  }
  try {
    await readExact(conn, reply.subarray(1), "handshake");
  } catch (error) {
    if (!(error instanceof HandshakeRefused)) throw error;
    throw new Deno.errors.UnexpectedEof("server hung up during the handshake");
  }
  const index = reply[1];
  const secret = offered[index];
  if (secret === undefined) throw new AuthenticationError(addr, `bad key index ${index}`);
  const nonceS = reply.subarray(2, 2 + NONCE);
  const macS = reply.subarray(2 + NONCE);
  if (
    !(await verify(secret, macS, transcript(ROLE_SERVER, preamble, secret.keyId, nonceD, nonceS)))
  ) {
    throw new AuthenticationError(addr, "the server failed to prove the secret");
  }
  return await sign(secret, transcript(ROLE_DIALER, preamble, secret.keyId, nonceD, nonceS));
}

/** How long the dialer waits for more of a foreign peer's answer to quote it. */
const EXCERPT_WAIT_MS = 100;
/** Most characters of a foreign peer's answer quoted. */
const EXCERPT_CHARS = 48;

/**
 * The start of a foreign peer's answer, for its error: the byte already
 * read and whatever else arrives within {@linkcode EXCERPT_WAIT_MS}, the
 * first line only, non-printable bytes as `.`.
 */
async function excerpt(conn: Deno.Conn, first: number): Promise<string> {
  const more = new Uint8Array(EXCERPT_CHARS);
  let n = 0;
  let timer: LightTimer | undefined;
  try {
    n = await Promise.race([
      conn.read(more).then((got) => got ?? 0, () => 0),
      new Promise<number>((
        resolve,
      ) => (timer = startLightTimer(EXCERPT_WAIT_MS, () => resolve(0)))),
    ]);
  } finally {
    timer?.cancel();
  }
  const bytes = [first, ...more.subarray(0, n)];
  const text = bytes.map((b) =>
    (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d ? String.fromCharCode(b) : "."
  )
    .join("");
  return text.split(/\r?\n/)[0].slice(0, EXCERPT_CHARS);
}
