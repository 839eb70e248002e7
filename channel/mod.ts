/**
 * Channels: ordered, acknowledged message links between (and within)
 * processes, plus addresses and watch cells.
 *
 * - {@linkcode ChannelAddr}: `local:N`, `unix:/path`, `unix:@abstract`,
 *   `tcp:HOST:PORT`; {@linkcode ChannelAddr.any} gives a fresh bindable one.
 * - {@linkcode serve} → {@linkcode ChannelServer} (async iterable of messages);
 *   {@linkcode dial} → {@linkcode ChannelTx} (`post`, `send`, `flush`,
 *   `status`).
 * - Messages are plain JSON data or a top-level `Uint8Array` (raw bytes,
 *   the fast path). Net links serialize with `JSON.stringify` when the
 *   message is written (runs of messages as one JSON array frame), so `NaN`
 *   becomes `null` and `undefined` fields vanish; a message that cannot be
 *   serialized (cycle, `BigInt`) or exceeds `CODEC_MAX_FRAME_LENGTH` is
 *   returned through `onReturn` and the link carries on. Receivers use
 *   `JSON.parse`, which makes a `__proto__` key an own property: no prototype
 *   pollution; invalid UTF-8 turns into U+FFFD. A received `Uint8Array` is a
 *   view into a shared read buffer (copy it with `slice()` to keep a small
 *   one for long). Local links pass the object itself (zero copy). On every
 *   transport: do not mutate a message after posting it.
 * - `send()` and `flush()` ask the server for an immediate ack; plain
 *   `post()` traffic is acked every `MESSAGE_ACK_EVERY_N_MESSAGES` messages
 *   or `MESSAGE_ACK_TIME_INTERVAL`. Senders have no bound on queued messages
 *   (the delivery timeout bounds their age); servers stop reading a
 *   connection while 16 Ki received messages wait for `recv()`.
 * - Net links: each `dial()` is a session; messages are numbered, kept until
 *   acknowledged, resent on reconnect (backoff 10 ms ×2 ±10 % up to 5 s,
 *   reset after a connection that lived > 1 s) and deduplicated by the
 *   server. Framing: varint length + body (`framing.ts`); wire protocol in
 *   `_protocol.ts`. Bad peers are logged (see {@linkcode setChannelLogger})
 *   and dropped.
 *
 * ## Invariants (CH-*, AU-*)
 * - CH-1, CH-2 (addresses) are defined in `addr.ts`, AD-1..AD-3 (advertised
 *   names, separate bind addresses) in `advertise.ts`, CH-7 (the decoder) in
 *   `framing.ts`, TL-1..TL-4 (TLS links) in `addr.ts` and `_tls.ts`,
 *   RB-1..RB-4 (server resource bounds) in `net_server.ts`, AU-1..AU-4
 *   (authenticated links) in `_handshake.ts`, AU-5, AU-6 in `secret.ts`.
 * - **CH-3 (exactly once, in order).** A server delivers the messages of one
 *   sender session in post order, each at most once, across any number of
 *   reconnects; a message is acknowledged only after it was delivered.
 * - **CH-4 (nothing vanishes).** Every posted message is either
 *   acknowledged (net) / enqueued (local), or handed back exactly once to its
 *   `onReturn` (and `send()` rejects): on `close()`, on a server `Closed` or
 *   `Reject`, or when the oldest pending message is older than
 *   `MESSAGE_DELIVERY_TIMEOUT`. The sender is then `Closed` (terminal).
 * - **CH-5 (bad peer isolation).** Garbage, an oversize frame
 *   (`CODEC_MAX_FRAME_LENGTH`), a bad preamble, a sequence gap or EOF inside a
 *   frame closes only that connection, with a logged reason; the server and
 *   its other connections keep working.
 * - **CH-6 (lazy dial).** `dial()` does no I/O; unix/tcp senders connect on
 *   the first post. Dialing an unserved `local:N` gives a `Closed` sender.
 * - **CH-8 (server close).** `close()` on a server acknowledges what it
 *   received, tells live sessions `Closed` (terminal for them), keeps received
 *   messages readable, removes its unix socket file, and is idempotent.
 *   Its final ack and `Closed` are never destroyed by a reset: over tcp a
 *   closing server half-closes and reads until the dialer hangs up; over unix
 *   it closes once those writes completed (a completed unix write is already
 *   in the peer's receive queue, and unread input does not discard it). A
 *   dialer whose write fails still reads what the server sent before dropping
 *   the socket.
 * - **CH-9 (gone peer).** A sender dialed with `refusedIsTerminal` that was
 *   connected once turns `Closed` when a reconnect is refused and returns
 *   every pending message at once (see {@linkcode DialOptions}).
 * - **CH-10 (connect ahead).** A sender connects at its first message, or
 *   earlier when asked (`ChannelTx.connect()`; a host primes the link to
 *   every proc it spawns, so the first cast or `StopAll` does not pay for
 *   the dial and the handshake). A link that breaks later reconnects lazily.
 * - **CH-12 (foreign peer).** A peer whose first answer to a dial is no
 *   handshake status speaks another protocol (an HTTP or ssh server on the
 *   port): the sender turns `Closed` at once with a
 *   {@linkcode ForeignPeerError} quoting what the peer sent, and returns
 *   every pending message with it as the cause (not retried).
 * - **CH-15 (a close before exit).** `close({ beforeExit: true })` on a
 *   server resolves once its peers have all they will get: final acks and
 *   `Closed` written (CH-8), every connection and the listener closed, the
 *   received queue closed. It waits neither for the accept loop nor for the
 *   connection handlers to unwind (their pending accept and reads ending on
 *   the closed sockets), and it leaves a unix socket's file to the owner of
 *   its directory: the runtime removes the file only once the pending accept
 *   has settled (SK-2), and removing it from an exiting process costs it
 *   more than the owner's removal (a proc's host removes it, BS-11). A proc
 *   exiting this way spends ~0.2–0.25 ms less CPU per stop (measured); it
 *   loses nothing. A later `close()` without the option still waits for
 *   everything.
 * - Retired: CH-13 (a close before exit that still awaited the accept loop,
 *   where the cost was: measured no different and reverted; CH-15 replaces it).
 * - CH-11: {@linkcode probeChannel} checks that a server is there and
 *   speaks hypermesh, and says precisely why not (`probe.ts`).
 * - Every unix/tcp link proves the shared channel secret both ways before
 *   any frame is acted on (AU-1..AU-4); a failed dialer gets an
 *   {@linkcode AuthenticationError}.
 * - **AU-7 (insecure only on loopback).** Without a secret (`--insecure`,
 *   `HYPERMESH_INSECURE=1`) a server refuses non-loopback tcp addresses and
 *   says so on stderr.
 * - **AU-8 (no abstract sockets).** `ChannelAddr.any("unix")` is a socket file
 *   in a 0700 directory of the user; serving `unix:@name` is refused.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr, dial, serve } from "./mod.ts";
 *
 * await using server = await serve<string>(ChannelAddr.any("tcp"));
 * await using tx = dial<string>(server.addr);
 * await tx.send("hello");
 * assertEquals(await server.recv(), "hello");
 * ```
 * @module
 */

export * from "./addr.ts";
export { checkAdvertisable, isUnspecifiedAddr, UnadvertisableAddrError } from "./advertise.ts";
export * from "./watch_cell.ts";
export * from "./errors.ts";
export {
  ChannelProbeError,
  type ChannelProbeFailure,
  probeChannel,
  type ProbeOptions,
} from "./probe.ts";
export * from "./types.ts";
export {
  addChannelSecret,
  CHANNEL_SECRET_ENV,
  ChannelSecret,
  channelSecrets,
  defaultSecretFile,
  INSECURE_ENV,
  loadDefaultSecret,
  loadSecretFile,
  SECRET_FILE_ENV,
  SecretFileError,
  setChannelSecret,
  type UserSecretOptions,
  useUserSecret,
} from "./secret.ts";
export { dial, serve } from "./channel.ts";
export { type ChannelLogger, setChannelLogger } from "./logger.ts";
export {
  encodeFrame,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_PREFIX_BYTES,
  OutBuffer,
  varintLength,
  writeVarint,
} from "./framing.ts";
