/**
 * `ActorMesh#call`: ask every actor of a mesh and get the replies back as a
 * {@linkcode ValueMesh} keyed by rank, each entry the rank's reply or a
 * {@linkcode CallError}.
 *
 * Each rank gets the message as a request (`actor/request.ts`): its
 * handler's return value is its reply (RQ-1), a throwing handler is an
 * error entry (RQ-2), a bounce is an error entry (RQ-3).
 *
 * ```ts ignore
 * const replies = await greeters.call(cx, "Greet", { name: "mesh" }, { timeoutMs: 5_000 });
 * for (const [rank, reply] of replies.entries()) {
 *   if (reply instanceof CallError) console.error(rank, reply.message);
 *   else console.log(rank, reply);
 * }
 * ```
 *
 * ## Invariants (MC-*)
 * - **MC-1 (one entry per rank, never a hang).** `call` resolves with
 *   exactly one entry per rank of the mesh by `timeoutMs`: the reply, or a
 *   {@linkcode CallError} naming the rank and why — `timeout`, `failed`
 *   (the handler threw), `undeliverable` (bounced, the rank's failure is
 *   latched by supervision, or its host is lost, HW-4; answered at once).
 * - **MC-2 (abort ends the call).** When `signal` aborts, `call` rejects
 *   promptly with a `RequestError` of reason `aborted` (the signal's
 *   reason as `cause`) and every reply port is closed.
 *
 * @module
 */

import type { Actor } from "../actor/types.ts";
import { holdPosts } from "./cast_fanout.ts";
import type { MessagesOf, MessageTypeOf, RepliesOf } from "../actor/port.ts";
import type { ActorRef } from "../actor/port.ts";
import {
  request,
  type Requester,
  RequestError,
  type RequestFailure,
  type RequestOptions,
} from "../actor/request.ts";
import type { Region } from "../ndslice/region.ts";
import { ValueMesh } from "./resource/value_mesh.ts";
import { hostKey, type HostLike, hostLostError, onHostsLost } from "./supervision/host_lost.ts";

/** Options of {@linkcode callRanks} / `ActorMesh#call`. */
export interface CallOptions extends RequestOptions {
  /** Headers carried by every request. */
  headers?: Record<string, string | number | boolean>;
}

/** One rank of a `call` gave no reply (MC-1). */
export class CallError extends Error {
  /** The mesh name. */
  readonly meshName: string;
  /** The rank (region index). */
  readonly rank: number;
  /** Why there is no reply. */
  readonly reason: RequestFailure;
  /**
   * Creates a CallError.
   * @param meshName The mesh.
   * @param rank The rank.
   * @param reason Why there is no reply.
   * @param detail What happened.
   * @param options `cause`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { CallError } from "./call.ts";
   * const e = new CallError("greeter", 1, "timeout", "no reply within 50ms");
   * assertEquals(e.message, 'Cannot get the reply of rank 1 of mesh "greeter": no reply within 50ms');
   * ```
   */
  constructor(
    meshName: string,
    rank: number,
    reason: RequestFailure,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot get the reply of rank ${rank} of mesh "${meshName}": ${detail}`, options);
    this.name = "CallError";
    this.meshName = meshName;
    this.rank = rank;
    this.reason = reason;
  }
}

/** The replies of a `call`: per rank, the reply or a {@linkcode CallError}. */
export type CallReplies<R> = ValueMesh<R | CallError>;

/** A mesh as `call` sees it. */
export interface CallTarget<A extends Actor> {
  /** The mesh name. */
  readonly name: string;
  /** The ranks. */
  readonly region: Region;
  /** One reference per rank. */
  values(): ActorRef<A>[];
  /** A rank's latched failure reason, if any. */
  failureOf(rank: number): string | undefined;
  /** Send the requests through the host-side fan-out (FO-6); default false. */
  readonly fanout?: boolean;
}

let seq = 0;

/**
 * Asks every rank of `mesh` (MC-1, MC-2). Used by `ActorMesh#call`.
 * @param cx The caller.
 * @param mesh The mesh.
 * @param type The message type.
 * @param body The body (in process the same object goes to every rank).
 * @param options Deadline, cancellation, headers.
 * @returns One entry per rank.
 * @throws {RequestError} `aborted` when `signal` aborts (MC-2).
 */
export async function callRanks<A extends Actor, K extends MessageTypeOf<A>>(
  cx: Requester,
  mesh: CallTarget<A>,
  type: K,
  body: MessagesOf<A>[K],
  options: CallOptions = {},
): Promise<CallReplies<RepliesOf<A>[K]>> {
  const { signal } = options;
  const target = `"${type}" to mesh "${mesh.name}"`;
  const aborted = () => new RequestError(target, "aborted", "", { cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const refs = mesh.values();
  // One lost-host watch per host, not per rank (HW-4).
  const lost = new Map<string, { ctl: AbortController; signal: AbortSignal }>();
  for (const ref of refs) {
    const key = ref.actorId.procId.addr.key;
    if (lost.has(key)) continue;
    const ctl = new AbortController();
    lost.set(key, { ctl, signal: signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal });
  }
  const unsubscribe = onHostsLost(
    refs.map((r) => r.actorId.procId.addr),
    (error) => lost.get(hostKey(error.host))?.ctl.abort(error),
  );
  const rankByDest = new Map(refs.map((r, rank) => [r.port(type).port, rank]));
  const held = mesh.fanout
    ? holdPosts(cx, refs.map((r) => r.actorId.procId), (dest) => rankByDest.get(dest)!)
    : undefined;
  const via = held?.requester ?? cx; // FO-6: posts are held, then sent per host
  const pending = Promise.all(refs.map(async (ref, rank) => {
    const latched = mesh.failureOf(rank);
    if (latched !== undefined) { // MC-1: known dead, answered at once
      return new CallError(mesh.name, rank, "undeliverable", `the rank failed: ${latched}`);
    }
    const host = ref.actorId.procId.addr;
    const dead = hostLostError(host);
    if (dead !== undefined) return new CallError(mesh.name, rank, "undeliverable", dead.message); // HW-4
    const hostLost = lost.get(host.key)!;
    try {
      return await ref.ask(via, type, body, { ...options, signal: hostLost.signal });
    } catch (error) {
      if (!(error instanceof RequestError) || signal?.aborted) throw error;
      if (hostLost.ctl.signal.aborted) {
        const why = (hostLost.ctl.signal.reason as Error).message;
        return new CallError(mesh.name, rank, "undeliverable", why, { cause: error }); // HW-4
      }
      return new CallError(mesh.name, rank, error.reason, error.message, { cause: error });
    }
  }));
  held?.release(); // every rank's request was posted synchronously above
  const entries = await pending.catch((error) => {
    throw signal?.aborted ? aborted() : error; // MC-2
  }).finally(unsubscribe);
  const base = `${++seq}:`;
  type Entry = RepliesOf<A>[K] | CallError;
  return ValueMesh.fromValues<Entry>(mesh.region, entries as Entry[], {
    keyOf: (v) => v instanceof CallError ? `${base}E${v.rank}` : keyOfReply(v),
  });
}

function keyOfReply(value: unknown): string {
  try {
    return `V${JSON.stringify(value) ?? "undefined"}`;
  } catch {
    return `U${++seq}`; // not JSON data (in process): never coalesced
  }
}

/**
 * The mesh's own agent queries (host agent and proc agent round trips): a
 * {@linkcode request} to an agent on `host` that also ends as soon as the
 * host is lost (HW-4). Not a public API: the agents' messages carry their
 * reply port in the body, so `post` puts it there.
 * @param cx The caller.
 * @param host The host the agent lives on.
 * @param action What the caller does (names the errors).
 * @param post Sends the query; gets the reply port's id text.
 * @param options Deadline and cancellation.
 * @returns The reply.
 * @throws {import("./supervision/host_lost.ts").HostLostError} When `host`
 * is or becomes lost (HW-4).
 * @throws {RequestError} `timeout` (or `closed`) when no reply came.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 */
export async function requestOnHost<R>(
  cx: Requester,
  host: HostLike,
  action: string,
  post: (reply: string) => void,
  options: RequestOptions = {},
): Promise<R> {
  const dead = hostLostError(host, action);
  if (dead !== undefined) throw dead; // HW-4
  const { signal, timeoutMs } = options;
  const lost = new AbortController();
  const unsubscribe = onHostsLost([host], (error) => lost.abort(error.forAction(action)));
  try {
    const both = signal ? AbortSignal.any([signal, lost.signal]) : lost.signal;
    return await request<R>(cx, action, post, { timeoutMs, signal: both });
  } catch (error) {
    if (lost.signal.aborted) throw lost.signal.reason; // HW-4
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    unsubscribe();
  }
}
