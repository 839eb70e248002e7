/**
 * Message envelopes and the mailbox sender contract.
 *
 * An envelope carries a plain-data body from a sender actor to a destination
 * port, with headers, a hop limit and the `returnUndeliverable` flag. Every
 * hop (router, client, proc, mailbox) forwards with {@linkcode postEnvelope},
 * which enforces the TTL. What cannot be delivered comes back through the
 * {@linkcode ReturnHandle} with a {@linkcode DeliveryError} appended — it
 * never vanishes, unless its sender asked for that (`returnUndeliverable:
 * false`).
 *
 * ## Invariants (MB-*)
 * - **MB-1 (ttl).** Each hop decrements `ttl`; an envelope posted with
 *   `ttl === 0` is returned with `TtlExpired` instead of forwarded.
 * - **MB-2 (return or silence).** {@linkcode bounce} appends the error and
 *   hands the envelope to the return handle iff `returnUndeliverable` is true.
 *
 * @module
 */

import { config } from "../config/config.ts";
import { MESSAGE_TTL_DEFAULT } from "../config/attrs.ts";

/** Why an envelope could not be delivered. */
export type DeliveryError =
  | { kind: "Unroutable"; message: string }
  | { kind: "BrokenLink"; message: string }
  | { kind: "Mailbox"; message: string }
  | { kind: "Multicast"; message: string }
  | { kind: "TtlExpired" };

/** Header values are plain scalars. */
export type HeaderValue = string | number | boolean;

/** A message in flight. Plain data only: it crosses process boundaries as JSON. */
export interface MessageEnvelope {
  /** Sender actor id (canonical text). */
  sender: string;
  /** Destination port id (canonical text). */
  dest: string;
  /** Message type name (selects the handler). */
  type: string;
  /** The serialized body: plain JSON data. */
  data: unknown;
  /** Typed key/value bag. */
  headers: Record<string, HeaderValue>;
  /** Remaining hops. */
  ttl: number;
  /** Whether a failed delivery is returned to the sender (default true). */
  returnUndeliverable: boolean;
  /** Empty unless bounced. */
  errors: DeliveryError[];
}

/** Receives envelopes that could not be delivered (with the error appended). */
export type ReturnHandle = (envelope: MessageEnvelope) => void;

/**
 * Anything that accepts envelopes: procs, routers, mailbox clients.
 */
export interface MailboxSender {
  /**
   * The raw transport hook; callers use {@linkcode postEnvelope} instead.
   * Must not throw: failures go to `returnHandle`.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void;
  /** Resolves once everything posted so far was delivered or returned. */
  flush?(): Promise<void>;
}

/** Fields of a new envelope; the rest take their defaults. */
export interface EnvelopeInit {
  /** Sender actor id text. */
  sender: string;
  /** Destination port id text. */
  dest: string;
  /** Message type name. */
  type: string;
  /** Body. */
  data: unknown;
  /** Headers (default none). */
  headers?: Record<string, HeaderValue>;
  /** Hop limit (default `HYPERACTOR_MESSAGE_TTL_DEFAULT`). */
  ttl?: number;
  /** Default true. */
  returnUndeliverable?: boolean;
}

/**
 * Builds an envelope with defaults.
 * @param init The envelope's fields.
 * @returns A fresh envelope.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope } from "./envelope.ts";
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:1,p,b[0][9]", type: "Ping", data: 1 });
 * assertEquals([e.ttl, e.returnUndeliverable, e.errors.length], [64, true, 0]);
 * ```
 */
export function createEnvelope(init: EnvelopeInit): MessageEnvelope {
  return {
    sender: init.sender,
    dest: init.dest,
    type: init.type,
    data: init.data,
    headers: init.headers ?? {},
    ttl: init.ttl ?? defaultTtl(),
    returnUndeliverable: init.returnUndeliverable ?? true,
    errors: [],
  };
}

let ttlGeneration = -1;
let ttlDefault = 0;

/**
 * `HYPERACTOR_MESSAGE_TTL_DEFAULT`, re-read only when the config changed
 * (it sits on every send).
 * @returns The default hop limit.
 * @throws {import("../config/attr.ts").AttrParseError} When its env value is malformed.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { config } from "../config/config.ts";
 * import { MESSAGE_TTL_DEFAULT } from "../config/attrs.ts";
 * import { defaultTtl } from "./envelope.ts";
 * {
 *   using _o = config.override(MESSAGE_TTL_DEFAULT, 3);
 *   assertEquals(defaultTtl(), 3);
 * }
 * assertEquals(defaultTtl(), config.get(MESSAGE_TTL_DEFAULT));
 * ```
 */
export function defaultTtl(): number {
  if (config.generation !== ttlGeneration) {
    ttlDefault = config.get(MESSAGE_TTL_DEFAULT);
    ttlGeneration = config.generation; // after get(): a lazy env load bumps it
  }
  return ttlDefault;
}

/**
 * Appends `error` and returns the envelope to `returnHandle` when its sender
 * wants bounces (MB-2). A throwing handle is contained.
 * @param envelope The undeliverable envelope.
 * @param error Why.
 * @param returnHandle Where bounces go.
 */
export function bounce(
  envelope: MessageEnvelope,
  error: DeliveryError,
  returnHandle: ReturnHandle,
): void {
  envelope.errors.push(error);
  if (!envelope.returnUndeliverable) return; // MB-2
  try {
    returnHandle(envelope);
  } catch (cause) {
    console.error(`hypermesh: dropping undeliverable ${describeEnvelope(envelope)}:`, cause);
  }
}

/**
 * Forwards an envelope one hop: decrements the TTL, or bounces with
 * `TtlExpired` when it is spent (MB-1).
 * @param sender The next hop.
 * @param envelope The envelope.
 * @param returnHandle Where bounces go.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, postEnvelope, type MessageEnvelope } from "./envelope.ts";
 * const returned: MessageEnvelope[] = [];
 * const e = createEnvelope({ sender: "local:1,p,a[0]", dest: "local:1,p,b[0][9]", type: "T", data: 0, ttl: 0 });
 * postEnvelope({ postUnchecked: () => {} }, e, (x) => returned.push(x));
 * assertEquals(returned[0].errors, [{ kind: "TtlExpired" }]);
 * ```
 */
export function postEnvelope(
  sender: MailboxSender,
  envelope: MessageEnvelope,
  returnHandle: ReturnHandle,
): void {
  if (envelope.ttl <= 0) {
    bounce(envelope, { kind: "TtlExpired" }, returnHandle); // MB-1
    return;
  }
  envelope.ttl -= 1;
  sender.postUnchecked(envelope, returnHandle);
}

/**
 * Display form: `SENDER > DEST: TYPE {HEADERS}` plus delivery errors.
 * @param envelope The envelope.
 * @returns One line of text.
 */
export function describeEnvelope(envelope: MessageEnvelope): string {
  const headers = Object.keys(envelope.headers).length
    ? ` ${JSON.stringify(envelope.headers)}`
    : "";
  const errors = envelope.errors.length
    ? `: delivery error: ${envelope.errors.map(describeDeliveryError).join("; ")}`
    : "";
  return `${envelope.sender} > ${envelope.dest}: ${envelope.type}${headers}${errors}`;
}

/**
 * Display form of a delivery error.
 * @param error A delivery error.
 * @returns e.g. `broken link: peer gone`.
 */
export function describeDeliveryError(error: DeliveryError): string {
  switch (error.kind) {
    case "TtlExpired":
      return "ttl expired";
    case "Unroutable":
      return `address not routable: ${error.message}`;
    case "BrokenLink":
      return `broken link: ${error.message}`;
    case "Mailbox":
      return `mailbox error: ${error.message}`;
    case "Multicast":
      return `multicast error: ${error.message}`;
  }
}

/**
 * Checks that a value received from the wire is an envelope (never throws).
 * @param value Anything.
 * @returns Whether it has the envelope's shape.
 */
export function isMessageEnvelope(value: unknown): value is MessageEnvelope {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.sender === "string" && typeof e.dest === "string" &&
    typeof e.type === "string" && typeof e.ttl === "number" &&
    typeof e.returnUndeliverable === "boolean" && Array.isArray(e.errors) &&
    typeof e.headers === "object" && e.headers !== null && "data" in e;
}
