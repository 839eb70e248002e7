/**
 * Request/reply: one call with a deadline and a signal instead of an opened
 * port, a reply field and a counted `recv` loop.
 *
 * **The convention.** A handler answers a request by *returning* its reply
 * (or a promise of it); nothing else changes for the actor author:
 *
 * ```ts ignore
 * registerActorType("example::Greeter", () => ({
 *   handlers: { Greet: (cx: Context, msg: { name: string }) => `hello ${msg.name}` },
 * }));
 * const text = await greeter.ask(cx, "Greet", { name: "mesh" }, { timeoutMs: 5_000 });
 * ```
 *
 * The caller ({@linkcode ActorRef.ask}, `ActorMesh#call`) opens a once port
 * and sends the message with the header {@linkcode REQUEST_HEADER} naming
 * it; the callee's message loop sends the handler's outcome there as a
 * {@linkcode ReplyBody} (`{ ok: value }` or `{ error: text }`). The same
 * handler also serves plain `send`/`cast` (its return value is then
 * dropped). {@linkcode request} is the shared primitive underneath (open a
 * once port, send, await with deadline and signal, close); the mesh's own
 * agent queries, whose messages carry their reply port in the body, use it
 * directly.
 *
 * ## Invariants (RQ-*)
 * - **RQ-1 (reply is the return value).** A handler that receives a message
 *   carrying `hypermesh.request` sends exactly one reply to that port: its
 *   (awaited) return value as `{ ok }`.
 * - **RQ-2 (a failed request is the caller's error).** A request whose
 *   handler throws or rejects, or whose type the actor does not handle,
 *   is answered `{ error }` and the actor keeps running: MB-4 (failure is
 *   supervision) applies to messages sent without a reply port.
 * - **RQ-3 (bounces answer the request).** A request that comes back
 *   undeliverable is answered `{ error, undeliverable: true }` on its reply
 *   port at the caller; it does not reach the caller's `undeliverables` or
 *   `handleUndeliverable`, so it never fails the caller (nor reports GC-1).
 * - **RQ-4 (bounded wait).** {@linkcode request} settles by `timeoutMs`
 *   (a {@linkcode RequestError} `timeout`) or as soon as `signal` aborts
 *   (`aborted`, the signal's reason as `cause`), and closes its port on
 *   every exit path: a late reply bounces nowhere and is dropped.
 *
 * @module
 */

/** The header naming the reply port of a request (its value: the port id text). */
export const REQUEST_HEADER = "hypermesh.request";

/** The message type of a reply. */
export const REPLY_TYPE = "Reply";

/** The body a callee sends to a request's reply port (RQ-1..RQ-3). */
export type ReplyBody<R = unknown> =
  | { ok: R }
  | { error: string; undeliverable?: boolean };

/** Why a request did not produce a reply. */
export type RequestFailure = "timeout" | "aborted" | "undeliverable" | "failed" | "closed";

/** A request got no reply: it timed out, was aborted, bounced or failed. */
export class RequestError extends Error {
  /** What was asked (destination and message type, e.g. `Greet to …`). */
  readonly target: string;
  /** Why there is no reply. */
  readonly reason: RequestFailure;
  /**
   * Creates a RequestError.
   * @param target What was asked.
   * @param reason Why there is no reply.
   * @param detail Extra text (the callee's error, the bounce reason).
   * @param options `cause`.
   */
  constructor(target: string, reason: RequestFailure, detail = "", options?: ErrorOptions) {
    super(
      `Cannot get a reply to ${target}: ${describe(reason)}${detail ? `: ${detail}` : ""}`,
      options,
    );
    this.name = "RequestError";
    this.target = target;
    this.reason = reason;
  }
}

function describe(reason: RequestFailure): string {
  switch (reason) {
    case "timeout":
      return "timed out";
    case "aborted":
      return "aborted";
    case "undeliverable":
      return "the request was undeliverable";
    case "failed":
      return "the handler failed";
    case "closed":
      return "the reply port was closed";
  }
}

/** Options of a request. */
export interface RequestOptions {
  /** Give up after this many ms (default: wait until `signal` aborts). */
  timeoutMs?: number;
  /** Cancellation. */
  signal?: AbortSignal;
}

/** What a request needs from its caller: a context that sends and opens once ports. */
export interface Requester {
  /**
   * Posts one message (see `MessageSender.postMessage`).
   * @param dest Destination port id text.
   * @param type Message type name.
   * @param data Body.
   * @param returnUndeliverable Whether a failed delivery is returned.
   * @param options Headers.
   */
  postMessage(
    dest: string,
    type: string,
    data: unknown,
    returnUndeliverable: boolean,
    options?: { headers?: Record<string, string | number | boolean> },
  ): void;
  /**
   * A new once port and its receiver.
   * @returns The port and its receiver.
   */
  openOncePort<M>(): {
    ref: { readonly port: string };
    receiver: {
      recv(options: { timeoutMs?: number; signal?: AbortSignal }): Promise<M>;
      close(): void;
    };
  };
}

/**
 * The shared request primitive (RQ-4): opens a once port, lets `post` send
 * the request naming it, waits for the one reply with the deadline and the
 * signal, and closes the port.
 * @param cx The caller.
 * @param target What is asked (for error messages).
 * @param post Sends the request; gets the reply port's id text.
 * @param options Deadline and cancellation.
 * @returns The reply.
 * @throws {RequestError} `timeout`, `aborted` (cause: the signal's reason)
 * or `closed` (the caller's mailbox closed).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "./proc.ts";
 * import { request } from "./request.ts";
 * await using proc = Proc.local();
 * using cx = proc.instance("c");
 * const got = await request<string>(cx, "echo", (reply) => {
 *   cx.send({ port: reply, returnUndeliverable: false }, "pong");
 * }, { timeoutMs: 5_000 });
 * assertEquals(got, "pong");
 * ```
 */
export async function request<R>(
  cx: Requester,
  target: string,
  post: (reply: string) => void,
  options: RequestOptions = {},
): Promise<R> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw new RequestError(target, "aborted", "", { cause: signal.reason });
  const { ref, receiver } = cx.openOncePort<R>();
  try {
    post(ref.port);
    return await receiver.recv({ timeoutMs, signal });
  } catch (error) {
    if (signal?.aborted) throw new RequestError(target, "aborted", "", { cause: signal.reason });
    if ((error as DOMException)?.name === "TimeoutError") {
      throw new RequestError(target, "timeout", `no reply within ${timeoutMs}ms`, { cause: error });
    }
    if ((error as Error)?.name === "PortClosedError") {
      throw new RequestError(target, "closed", (error as Error).message, { cause: error });
    }
    throw error;
  } finally {
    receiver.close(); // RQ-4
  }
}

/**
 * Sends `type`/`body` to the handler port `dest` as a request (RQ-1) and
 * unwraps the {@linkcode ReplyBody}.
 * @param cx The caller.
 * @param dest The handler port id text.
 * @param type The message type.
 * @param body The message body.
 * @param options Deadline, cancellation and extra headers.
 * @returns The handler's return value.
 * @throws {RequestError} On timeout, abort, bounce (`undeliverable`) or a
 * failed handler (`failed`).
 */
export async function ask<R>(
  cx: Requester,
  dest: string,
  type: string,
  body: unknown,
  options: RequestOptions & { headers?: Record<string, string | number | boolean> } = {},
): Promise<R> {
  const target = `"${type}" to ${dest.slice(0, dest.lastIndexOf("["))}`;
  const reply = await request<ReplyBody<R>>(cx, target, (port) => {
    cx.postMessage(dest, type, body, true, {
      headers: { ...options.headers, [REQUEST_HEADER]: port },
    });
  }, options);
  const r = reply as { ok?: R; error?: unknown; undeliverable?: boolean };
  if (typeof r.error === "string") {
    throw new RequestError(target, r.undeliverable ? "undeliverable" : "failed", r.error);
  }
  return r.ok as R; // `{ ok: undefined }` travels as `{}`
}

/**
 * The reply port of a request message, if it is one.
 * @param headers The message's headers.
 * @returns The reply port id text, or `undefined`.
 */
export function replyPortOf(
  headers: Readonly<Record<string, string | number | boolean>> | undefined,
): string | undefined {
  const port = headers?.[REQUEST_HEADER];
  return typeof port === "string" ? port : undefined;
}

/**
 * Sends a reply body (used by the callee's message loop, RQ-1/RQ-2).
 * @param cx The callee.
 * @param port The reply port id text.
 * @param body The reply.
 */
export function sendReply(cx: Requester, port: string, body: ReplyBody): void {
  cx.postMessage(port, REPLY_TYPE, body, false);
}

/**
 * Answers a returned request on its reply port (RQ-3); `false` for any
 * other returned message.
 * @param cx The caller the message came back to.
 * @param returned The returned envelope.
 * @param why The delivery errors, described.
 * @returns Whether `returned` was a request (and is now answered).
 */
export function answerBounce(
  cx: Requester,
  returned: { dest?: unknown; headers?: Readonly<Record<string, string | number | boolean>> },
  why: string,
): boolean {
  const port = replyPortOf(returned?.headers);
  if (port === undefined) return false;
  sendReply(cx, port, {
    error: `delivery to ${String(returned.dest)} failed${why ? `: ${why}` : ""}`,
    undeliverable: true,
  });
  return true;
}
