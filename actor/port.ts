/**
 * Typed references to ports and actors: {@linkcode PortRef},
 * {@linkcode OncePortRef} and {@linkcode ActorRef}.
 *
 * A reference is a value: a port id plus the `returnUndeliverable` flag. It
 * serializes to plain data (`{port: "<PortId text>", returnUndeliverable}`,
 * see {@linkcode PortRefData}) so it can travel inside a message to another
 * process; the receiver passes that data straight to `cx.send(data, msg)` or
 * revives it with {@linkcode PortRef.from}. Sending needs a context (an actor
 * or client instance), which stamps itself as the sender and receives bounces.
 *
 * ## Invariants (MB-*)
 * - **MB-5 (refs travel).** `PortRef.from(JSON.parse(JSON.stringify(ref)))`
 *   addresses the same port with the same `returnUndeliverable` flag.
 * - **MB-6 (handler ports).** `ActorRef.port(type)` is the port with index
 *   `handlerPortIndex(type)`, the same on every actor and in every process.
 *
 * @module
 */

import type { HeaderValue } from "./envelope.ts";
import { ActorId, PortId } from "./reference.ts";
import { handlerIndex } from "./_handler_index.ts";
import { ask, type Requester, type RequestOptions } from "./request.ts";

/** What a handler may return. */
export type HandlerResult = void | Promise<void>;

/**
 * What a typed reference knows of an actor: its handler map. Every
 * `Actor` (`types.ts`) is one; references are typed by this shape so that
 * this module does not import the actor model (no import cycle).
 */
export interface HandlerOwner {
  /** Message type name → handler. */
  // deno-lint-ignore no-explicit-any
  readonly handlers: Readonly<Record<string, (cx: any, msg: any) => unknown>>;
}

/** Maps each message type an actor handles to its body type. */
export type MessagesOf<A extends HandlerOwner> = {
  [K in keyof A["handlers"] & string]: A["handlers"][K] extends // deno-lint-ignore no-explicit-any
  (cx: any, msg: infer P) => unknown ? P
    : never;
};

/** Maps each message type an actor handles to its reply type (RQ-1: the awaited return value). */
export type RepliesOf<A extends HandlerOwner> = {
  [K in keyof A["handlers"] & string]: A["handlers"][K] extends // deno-lint-ignore no-explicit-any
  (cx: any, msg: any) => infer R ? Awaited<R>
    : never;
};

/** The message type names an actor handles. */
export type MessageTypeOf<A extends HandlerOwner> = keyof MessagesOf<A> & string;

/** Per-message send options. */
export interface SendOptions {
  /** Headers carried by the envelope. */
  headers?: Record<string, HeaderValue>;
}

/**
 * Anything that can post messages as a sender: actor contexts and client
 * instances implement it.
 */
export interface MessageSender {
  /** The sending actor's id. */
  readonly self: ActorId;
  /**
   * Posts one message (infallible: failures come back as undeliverables).
   * @param dest Destination port id text.
   * @param type Message type name.
   * @param data Plain-data body.
   * @param returnUndeliverable Whether a failed delivery is returned.
   * @param options Headers.
   */
  postMessage(
    dest: string,
    type: string,
    data: unknown,
    returnUndeliverable: boolean,
    options?: SendOptions,
  ): void;
}

/**
 * The serialized form of a port reference. `__message` is a compile-time
 * marker of the message type; it is never present at runtime.
 */
export interface PortRefData<M> {
  /** The port id text. */
  readonly port: string;
  /** Whether failed deliveries are returned to the sender. */
  readonly returnUndeliverable: boolean;
  /** Phantom message type (never set). */
  readonly __message?: M;
}

function typeOfPort(portId: PortId): string {
  return portId.typeName ?? "Port";
}

/**
 * A reference to a port accepting messages of type `M`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PortRef } from "./port.ts";
 * const ref = PortRef.attest<number>("local:1,p,a[0][1024]");
 * const copy = PortRef.from<number>(JSON.parse(JSON.stringify(ref)));
 * assertEquals(copy.port, "local:1,p,a[0][1024]");
 * assertEquals(copy.returnUndeliverable, true);
 * ```
 */
export class PortRef<M> implements PortRefData<M> {
  /** The port's id. */
  readonly portId: PortId;
  /** Whether failed deliveries are returned to the sender (default true). */
  readonly returnUndeliverable: boolean;
  /** The port id text. */
  readonly port: string;
  /** Phantom message type (never set). */
  declare readonly __message?: M;

  /**
   * Creates a PortRef.
   * @param portId The port.
   * @param returnUndeliverable Default true.
   */
  constructor(portId: PortId, returnUndeliverable = true) {
    this.portId = portId;
    this.returnUndeliverable = returnUndeliverable;
    this.port = portId.toString();
  }

  /**
   * Trusts that `port` accepts `M` (no check, no I/O).
   * @param port A port id or its text.
   * @returns The reference.
   * @throws {ReferenceParseError} For malformed text.
   */
  static attest<M>(port: PortId | string): PortRef<M> {
    return new PortRef<M>(typeof port === "string" ? PortId.parse(port) : port);
  }

  /**
   * Revives a reference from its serialized form (or returns a live one as is).
   * @param data A `PortRef`, `OncePortRef` or its JSON data.
   * @returns A `PortRef`.
   * @throws {TypeError} When `data` is not a port reference.
   */
  static from<M>(data: PortRefData<M>): PortRef<M> {
    if (data instanceof PortRef) return data;
    if (data instanceof OncePortRef) return new PortRef(data.portId, data.returnUndeliverable);
    checkData(data);
    return new PortRef<M>(PortId.parse(data.port), data.returnUndeliverable);
  }

  /**
   * A copy with `returnUndeliverable` set to `flag`.
   * @param flag The new flag.
   * @returns A copy with `returnUndeliverable` set to `flag`.
   */
  withReturnUndeliverable(flag: boolean): PortRef<M> {
    return new PortRef<M>(this.portId, flag);
  }

  /**
   * Sends `msg` from `cx` (never throws for delivery problems: they come back
   * to `cx` as undeliverables).
   * @param cx The sending context.
   * @param msg The plain-data body.
   * @param options Headers.
   */
  send(cx: MessageSender, msg: M, options?: SendOptions): void {
    cx.postMessage(this.port, typeOfPort(this.portId), msg, this.returnUndeliverable, options);
  }

  /**
   * Same as {@linkcode PortRef.send} (the infallible post of Monarch's newer API).
   * @param cx The sending context.
   * @param msg The body.
   * @param options Headers.
   */
  post(cx: MessageSender, msg: M, options?: SendOptions): void {
    this.send(cx, msg, options);
  }

  /**
   * The serialized form (MB-5).
   * @returns The serialized form (MB-5).
   */
  toJSON(): PortRefData<M> {
    return { port: this.port, returnUndeliverable: this.returnUndeliverable };
  }

  /**
   * The port id text.
   * @returns The port id text.
   */
  toString(): string {
    return this.port;
  }
}

/**
 * A single-use reply port reference. A second `send` through the same object
 * throws; a second delivery from a copy bounces (`port not bound`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { OncePortRef } from "./port.ts";
 * const ref = OncePortRef.attest<string>("local:1,p,a[0][1025]");
 * assertEquals(OncePortRef.from(JSON.parse(JSON.stringify(ref))).port, ref.port);
 * ```
 */
export class OncePortRef<M> implements PortRefData<M> {
  /** The port's id. */
  readonly portId: PortId;
  /** Whether failed deliveries are returned to the sender (default true). */
  readonly returnUndeliverable: boolean;
  /** The port id text. */
  readonly port: string;
  /** Phantom message type (never set). */
  declare readonly __message?: M;
  #used = false;

  /**
   * Creates a OncePortRef.
   * @param portId The port.
   * @param returnUndeliverable Default true.
   */
  constructor(portId: PortId, returnUndeliverable = true) {
    this.portId = portId;
    this.returnUndeliverable = returnUndeliverable;
    this.port = portId.toString();
  }

  /**
   * Trusts that `port` is a once port accepting `M`.
   * @param port A port id or its text.
   * @returns The reference.
   * @throws {ReferenceParseError} For malformed text.
   */
  static attest<M>(port: PortId | string): OncePortRef<M> {
    return new OncePortRef<M>(typeof port === "string" ? PortId.parse(port) : port);
  }

  /**
   * Revives a reference from its serialized form.
   * @param data JSON data or a live reference.
   * @returns A fresh (unused) `OncePortRef`.
   * @throws {TypeError} When `data` is not a port reference.
   */
  static from<M>(data: PortRefData<M>): OncePortRef<M> {
    if (data instanceof OncePortRef) return data;
    if (data instanceof PortRef) return new OncePortRef(data.portId, data.returnUndeliverable);
    checkData(data);
    return new OncePortRef<M>(PortId.parse(data.port), data.returnUndeliverable);
  }

  /**
   * A copy with `returnUndeliverable` set to `flag`.
   * @param flag The new flag.
   * @returns A copy with `returnUndeliverable` set to `flag`.
   */
  withReturnUndeliverable(flag: boolean): OncePortRef<M> {
    return new OncePortRef<M>(this.portId, flag);
  }

  /**
   * Sends the single reply.
   * @param cx The sending context.
   * @param msg The body.
   * @param options Headers.
   * @throws {Error} When this reference was already used.
   */
  send(cx: MessageSender, msg: M, options?: SendOptions): void {
    if (this.#used) throw new Error(`Cannot send to once port ${this.port}: already used`);
    this.#used = true;
    cx.postMessage(this.port, typeOfPort(this.portId), msg, this.returnUndeliverable, options);
  }

  /**
   * The serialized form (MB-5).
   * @returns The serialized form (MB-5).
   */
  toJSON(): PortRefData<M> {
    return { port: this.port, returnUndeliverable: this.returnUndeliverable };
  }

  /**
   * The port id text.
   * @returns The port id text.
   */
  toString(): string {
    return this.port;
  }
}

function checkData(data: unknown): asserts data is { port: string; returnUndeliverable: boolean } {
  const d = data as { port?: unknown; returnUndeliverable?: unknown } | null;
  if (
    typeof d !== "object" || d === null || typeof d.port !== "string" ||
    typeof d.returnUndeliverable !== "boolean"
  ) {
    throw new TypeError(`Invalid port reference: ${JSON.stringify(data)}`);
  }
}

/**
 * A reference to an actor of type `A`: its id plus the message types it
 * handles (compile-time only). Serializes to the actor id text.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ActorRef } from "./port.ts";
 * import { handlerPortIndex } from "./reference.ts";
 * const ref = ActorRef.attest("local:1,p,echo[0]");
 * assertEquals(ref.port("Ping").portId.index, handlerPortIndex("Ping"));
 * assertEquals(JSON.stringify(ref), '"local:1,p,echo[0]"');
 * ```
 */
export class ActorRef<A extends HandlerOwner = HandlerOwner> {
  /** The actor's id. */
  readonly actorId: ActorId;
  #dests: Map<string, string> | undefined;

  /**
   * Creates a ActorRef.
   * @param actorId The actor.
   */
  constructor(actorId: ActorId) {
    this.actorId = actorId;
  }

  /**
   * Trusts that `id` names an actor of type `A` (no check, no I/O).
   * @param id An actor id or its text (e.g. from JSON).
   * @returns The reference.
   * @throws {ReferenceParseError} For malformed text.
   */
  static attest<A extends HandlerOwner = HandlerOwner>(id: ActorId | string): ActorRef<A> {
    return new ActorRef<A>(typeof id === "string" ? ActorId.parse(id) : id);
  }

  /**
   * The well-known handler port for messages of `type` (MB-6).
   * @param type Message type name.
   * @returns The port reference.
   */
  port<K extends MessageTypeOf<A>>(type: K): PortRef<MessagesOf<A>[K]> {
    return new PortRef(new PortId(this.actorId, handlerIndex(type), type));
  }

  /**
   * Sends a message to the actor's handler for `type`.
   * @param cx The sending context.
   * @param type Message type name.
   * @param msg The body.
   * @param options Headers.
   */
  send<K extends MessageTypeOf<A>>(
    cx: MessageSender,
    type: K,
    msg: MessagesOf<A>[K],
    options?: SendOptions,
  ): void {
    this.#dests ??= new Map();
    let dest = this.#dests.get(type);
    if (dest === undefined) {
      dest = `${this.actorId.key}[${handlerIndex(type)}<${type}>]`;
      this.#dests.set(type, dest);
    }
    cx.postMessage(dest, type, msg, true, options);
  }

  /**
   * Sends a request to the actor's handler for `type` and waits for its
   * reply: the handler's return value (RQ-1).
   * @param cx The caller (an actor context or client instance).
   * @param type Message type name.
   * @param msg The body.
   * @param options Deadline (`timeoutMs`), cancellation (`signal`), headers.
   * @returns The reply.
   * @throws {import("./request.ts").RequestError} `timeout`, `aborted`,
   * `undeliverable` (RQ-3) or `failed` (the handler threw, RQ-2).
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Proc } from "./proc.ts";
   * await using proc = Proc.local();
   * const greeter = proc.spawn("greeter", {
   *   handlers: { Greet: (_cx: unknown, msg: { name: string }) => `hello ${msg.name}` },
   * });
   * using cx = proc.instance("client");
   * assertEquals(await greeter.ref.ask(cx, "Greet", { name: "mesh" }, { timeoutMs: 5_000 }), "hello mesh");
   * ```
   */
  ask<K extends MessageTypeOf<A>>(
    cx: Requester,
    type: K,
    msg: MessagesOf<A>[K],
    options: RequestOptions & SendOptions = {},
  ): Promise<RepliesOf<A>[K]> {
    return ask<RepliesOf<A>[K]>(cx, this.port(type).port, type, msg, options);
  }

  /**
   * The actor id text.
   * @returns The actor id text.
   */
  toJSON(): string {
    return this.actorId.key;
  }

  /**
   * The actor id text.
   * @returns The actor id text.
   */
  toString(): string {
    return this.actorId.key;
  }
}
