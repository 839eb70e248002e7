/**
 * The host's cast relay: the host side of a mesh cast's fan-out (the seed's
 * comm actor, reference §12.4, one level deep). A client casting to an
 * actor mesh sends ONE {@linkcode CastForward} per host, addressed to the
 * host's relay port ({@linkcode castRelayPort}); the host's router expands
 * it into one copy per destination the moment the frame is read, before it
 * reads the next frame from the same link, and routes each copy exactly as
 * a direct send to that destination would be routed. The client's cost
 * grows with hosts, not ranks.
 *
 * The relay is not an actor: an actor's mailbox would queue the forward
 * while a later direct send from the same client (a `Stop`, a `call` to one
 * rank) overtook it. Expanding inside the router keeps one order for
 * everything a sender sends through a host (CR-2).
 *
 * ## Invariants (CR-*)
 * - **CR-1 (same copy).** Each copy carries the forward's type, body and
 *   headers (with its per-destination headers laid over them, FO-6), the
 *   forward envelope's own sender (never a sender named in the body), its
 *   remaining hop limit and its `returnUndeliverable`: replies and bounces
 *   go where a direct send's would.
 * - **CR-2 (order).** Copies are routed synchronously while the forward is
 *   handled, in `dests` order, on the routes a direct send uses; so a
 *   sender's casts, calls and plain sends through one host reach each actor
 *   in the order they were sent.
 * - **CR-3 (undeliverable per rank).** A copy that cannot be delivered
 *   (proc gone, actor stopped) comes back to the sender as that
 *   destination's own undeliverable (dest = the rank's port), as a direct
 *   send's would.
 * - **CR-4 (this host only, bad input contained).** A destination that is
 *   not on this host (another address) is not relayed: its copy comes back
 *   undeliverable, so a relay never carries traffic to a third party. A
 *   forward that is not a well-formed `CastForward` is logged once per
 *   host and returned to its sender undeliverable; the router goes on.
 *
 * @module
 */

import {
  bounce,
  createEnvelope,
  type HeaderValue,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
  type ReturnHandle,
} from "../actor/envelope.ts";
import { ActorRef } from "../actor/port.ts";
import { ActorId, type ProcId, procKeyOf } from "../actor/reference.ts";

/** The relay's actor name under a host's service proc (it has no actor: the router answers). */
export const CAST_RELAY_NAME = "cast_relay";

/** The message type of a relayed cast. */
export const CAST_FORWARD_TYPE = "CastForward";

/** One cast to the destinations of one host (the body of a relay message). */
export interface CastForward {
  /** Discriminant. */
  kind: "CastForward";
  /** The message type of each copy. */
  type: string;
  /** The body of each copy. */
  data: unknown;
  /** The headers of each copy. */
  headers: Record<string, HeaderValue>;
  /** Destination port ids on this host, in order. */
  dests: string[];
  /**
   * Per-destination headers laid over `headers` (same order as `dests`):
   * `ActorMesh#call`'s per-rank reply ports (FO-6).
   */
  destHeaders?: Record<string, HeaderValue>[];
}

/**
 * The relay port of the host whose service proc is `serviceProc`.
 * @param serviceProc The host's service proc id (`ADDR,service`).
 * @returns The port id a {@linkcode CastForward} is sent to.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ProcId } from "../actor/reference.ts";
 * import { castRelayPort } from "./cast_relay.ts";
 * assert(castRelayPort(ProcId.parse("tcp:127.0.0.1:2001,service")).startsWith(
 *   "tcp:127.0.0.1:2001,service,cast_relay[0]",
 * ));
 * ```
 */
export function castRelayPort(serviceProc: ProcId): string {
  return new ActorRef(new ActorId(serviceProc, CAST_RELAY_NAME, 0)).port(CAST_FORWARD_TYPE as never)
    .port;
}

function isHeaders(value: unknown): value is Record<string, HeaderValue> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Why `value` is not a well-formed {@linkcode CastForward}, if it is not.
 * @param value A received body.
 * @returns A short reason, or `undefined` when it is well-formed.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { castForwardProblem } from "./cast_relay.ts";
 * assertEquals(castForwardProblem({ kind: "CastForward", type: "T", data: 1, headers: {}, dests: ["a"] }), undefined);
 * assertEquals(castForwardProblem({ kind: "CastForward", type: "T", headers: {}, dests: [1] }), "dests must be port ids");
 * ```
 */
export function castForwardProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return "not an object";
  const f = value as Partial<CastForward>;
  if (f.kind !== "CastForward") return "kind must be CastForward";
  if (typeof f.type !== "string" || f.type === "") return "type must be a message type";
  if (!isHeaders(f.headers)) return "headers must be an object";
  if (!Array.isArray(f.dests) || f.dests.some((d) => typeof d !== "string")) {
    return "dests must be port ids";
  }
  if (f.destHeaders !== undefined) {
    if (!Array.isArray(f.destHeaders) || f.destHeaders.length !== f.dests.length) {
      return "destHeaders must match dests";
    }
    if (!f.destHeaders.every(isHeaders)) return "destHeaders must be objects";
  }
  return undefined;
}

/**
 * A router stage that expands relay messages (CR-1..CR-4) and passes
 * everything else on unchanged.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope, postEnvelope } from "../actor/envelope.ts";
 * import { ProcId } from "../actor/reference.ts";
 * import { CastRelaySender, castRelayPort } from "./cast_relay.ts";
 * const got: MessageEnvelope[] = [];
 * const service = ProcId.parse("unix:/tmp/h.sock,service");
 * const relay = new CastRelaySender({ postUnchecked: (e) => got.push(e) }, service);
 * const dests = ["unix:/tmp/h.sock,p0,a[0][1]", "unix:/tmp/h.sock,p1,a[0][1]"];
 * postEnvelope(relay, createEnvelope({
 *   sender: "unix:/tmp/c.sock,client,c[0]",
 *   dest: castRelayPort(service),
 *   type: "CastForward",
 *   data: { kind: "CastForward", type: "Hi", data: 1, headers: {}, dests },
 * }), () => {});
 * assertEquals(got.map((e) => [e.dest, e.type, e.sender]), [
 *   [dests[0], "Hi", "unix:/tmp/c.sock,client,c[0]"],
 *   [dests[1], "Hi", "unix:/tmp/c.sock,client,c[0]"],
 * ]);
 * ```
 */
export class CastRelaySender implements MailboxSender {
  readonly #inner: MailboxSender;
  readonly #port: string;
  readonly #hostPrefix: string;
  #warned = false;

  /**
   * Creates the stage.
   * @param inner Where copies and all other envelopes go (the host's router).
   * @param serviceProc The host's service proc id: its address is the
   * host's, and the relay port hangs under it.
   */
  constructor(inner: MailboxSender, serviceProc: ProcId) {
    this.#inner = inner;
    this.#port = castRelayPort(serviceProc);
    this.#hostPrefix = `${serviceProc.addr.toString()},`;
  }

  /** The relay port this stage answers. */
  get port(): string {
    return this.#port;
  }

  /**
   * Expands a relay message into its copies; passes anything else on.
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    if (envelope.dest !== this.#port) return this.#inner.postUnchecked(envelope, returnHandle);
    const problem = castForwardProblem(envelope.data);
    if (problem !== undefined) {
      if (!this.#warned) {
        this.#warned = true; // CR-4: once per host, never a crash
        console.error(
          `hypermesh: cast relay on ${this.#hostPrefix.slice(0, -1)} dropped a malformed ` +
            `forward from ${envelope.sender}: ${problem}`,
        );
      }
      bounce(
        envelope,
        { kind: "Multicast", message: `malformed cast forward: ${problem}` },
        returnHandle,
      );
      return;
    }
    const forward = envelope.data as CastForward;
    for (let i = 0; i < forward.dests.length; i++) {
      const extra = forward.destHeaders?.[i];
      const copy = createEnvelope({
        sender: envelope.sender, // CR-1: the forward's own sender
        dest: forward.dests[i],
        type: forward.type,
        data: forward.data,
        headers: extra === undefined ? forward.headers : { ...forward.headers, ...extra },
        ttl: envelope.ttl,
        returnUndeliverable: envelope.returnUndeliverable,
      });
      if (!this.#onThisHost(copy.dest)) {
        const message = `cast relay of ${this.#hostPrefix.slice(0, -1)}: not on this host`;
        bounce(copy, { kind: "Multicast", message }, returnHandle); // CR-4
        continue;
      }
      try {
        postEnvelope(this.#inner, copy, returnHandle); // CR-2, CR-3
      } catch (error) {
        // A router broke its contract (it must not throw): this copy is
        // returned, and the copies after it still go (CR-3).
        const message = `cast relay: ${error instanceof Error ? error.message : String(error)}`;
        try {
          bounce(copy, { kind: "Multicast", message }, returnHandle);
        } catch { /* bounce contains a throwing handle itself */ }
      }
    }
  }

  /**
   * Flushes the inner router.
   * @returns Resolves when it flushed.
   */
  async flush(): Promise<void> {
    await this.#inner.flush?.();
  }

  #onThisHost(dest: string): boolean {
    try {
      return procKeyOf(dest).startsWith(this.#hostPrefix);
    } catch {
      return false;
    }
  }
}
