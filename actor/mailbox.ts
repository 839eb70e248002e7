/**
 * The per-actor mailbox: a port registry that turns envelopes into handler
 * work, port-receiver messages or bounces.
 *
 * Ports come in two ranges: well-known handler ports (index
 * `handlerPortIndex(type)` ≥ 2^52, one per message type) and dynamic ports
 * opened with {@linkcode Mailbox.openPort} / {@linkcode Mailbox.openOncePort}
 * from 1024 upwards. Receivers are async iterables with `recv()`.
 *
 * ## Invariants (MB-*)
 * - **MB-7 (unbound port).** An envelope for a port that is not bound is
 *   returned with `Unroutable("port not bound in mailbox …")`.
 * - **MB-8 (closed owner).** Once the owner is stopped or failed, every
 *   envelope is returned with `Mailbox("mailbox owner … is stopped|failed")`
 *   and every receiver ends (pending `recv()` rejects with
 *   {@linkcode PortClosedError}).
 * - **MB-9 (once).** A once port accepts one message, then unbinds itself.
 *
 * @module
 */

import { bounce, type MessageEnvelope, type ReturnHandle } from "./envelope.ts";
import { type ActorId, PortId } from "./reference.ts";
import { OncePortRef, PortRef } from "./port.ts";
import { destParts, HANDLER_PORT_BASE } from "./_handler_index.ts";
import { RecvSlot } from "./_recv_slot.ts";

/** First index of dynamically opened ports. */
export const FIRST_DYNAMIC_PORT = 1024;

/** A receiver was closed (its port unbound or its owner stopped). */
export class PortClosedError extends Error {
  /** The port id text. */
  readonly port: string;
  /**
   * Creates a PortClosedError.
   * @param port The port id text.
   * @param why What closed it.
   */
  constructor(port: string, why: string) {
    super(`Cannot receive on port ${port}: ${why}`);
    this.name = "PortClosedError";
    this.port = port;
  }
}

/** Options of `recv()`. */
export interface RecvOptions {
  /** Ends the wait with `signal.reason`. */
  signal?: AbortSignal;
  /** Ends the wait with a `TimeoutError` DOMException after this many ms. */
  timeoutMs?: number;
}

/** Where a bound port puts what it receives (with the port index). */
export type PortSink = (envelope: MessageEnvelope, index: number) => void;

/**
 * The receiving end of a dynamic port: messages in arrival order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "./proc.ts";
 * await using proc = Proc.local();
 * using client = proc.instance("client");
 * const { ref, receiver } = client.openPort<string>();
 * client.send(ref, "hello");
 * assertEquals(await receiver.recv(), "hello");
 * ```
 */
export class PortReceiver<M> implements AsyncIterable<M>, Disposable {
  /** The port this receiver drains. */
  readonly ref: PortRef<M>;
  #queue: M[] = [];
  #head = 0;
  readonly #slot: RecvSlot<M>;

  /**
   * Use {@linkcode Mailbox.openPort} instead.
   * @param ref The port reference.
   * @param onClose Unbinds the port.
   */
  constructor(ref: PortRef<M>, onClose: () => void) {
    this.ref = ref;
    this.#slot = new RecvSlot(ref.port, (why) => new PortClosedError(ref.port, why), onClose);
  }

  /** Whether the receiver was closed. */
  get closed(): boolean {
    return this.#slot.closedWhy !== undefined;
  }

  /** Number of queued messages. */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Delivers a message (called by the mailbox).
   * @param msg The body.
   */
  push(msg: M): void {
    if (this.#slot.closedWhy !== undefined) return;
    if (!this.#slot.handOff(msg)) this.#queue.push(msg);
  }

  /**
   * The next queued message, or `undefined` when none.
   * @returns The next queued message, or `undefined` when none.
   */
  tryRecv(): M | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const msg = this.#queue[this.#head];
    this.#queue[this.#head++] = undefined as M;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return msg;
  }

  /**
   * Waits for the next message.
   * @param options Cancellation and timeout.
   * @returns The message.
   * @throws {PortClosedError} When closed and drained.
   * @throws The signal's reason, or a `TimeoutError` DOMException.
   */
  recv(options: RecvOptions = {}): Promise<M> {
    if (this.#head < this.#queue.length) return Promise.resolve(this.tryRecv()!);
    return this.#slot.park(options);
  }

  /**
   * Closes the receiver: unbinds the port, ends iteration, rejects a pending
   * `recv()`. Idempotent.
   * @param why Reason shown in {@linkcode PortClosedError}.
   */
  close(why = "the receiver was closed"): void {
    this.#slot.close(why);
  }

  /** Closes the receiver. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Messages until the receiver is closed.
   * @returns Messages until the receiver is closed.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<M, void, undefined> {
    while (true) {
      try {
        yield await this.recv();
      } catch (error) {
        if (error instanceof PortClosedError) return;
        throw error;
      }
    }
  }
}

/**
 * The receiving end of a once port: a single reply.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "./proc.ts";
 * await using proc = Proc.local();
 * using client = proc.instance("client");
 * const { ref, receiver } = client.openOncePort<number>();
 * client.send(ref, 42);
 * assertEquals(await receiver.recv({ timeoutMs: 1000 }), 42);
 * ```
 */
export class OncePortReceiver<M> implements Disposable {
  /** The port this receiver waits on. */
  readonly ref: OncePortRef<M>;
  #state: { kind: "empty" } | { kind: "value"; value: M } | { kind: "taken" } = { kind: "empty" };
  readonly #slot: RecvSlot<M>;

  /**
   * Use {@linkcode Mailbox.openOncePort} instead.
   * @param ref The port reference.
   * @param onClose Unbinds the port.
   */
  constructor(ref: OncePortRef<M>, onClose: () => void) {
    this.ref = ref;
    this.#slot = new RecvSlot(ref.port, (why) => new PortClosedError(ref.port, why), onClose);
  }

  /**
   * Delivers the reply (called by the mailbox).
   * @param msg The body.
   */
  push(msg: M): void {
    if (this.#slot.closedWhy !== undefined || this.#state.kind !== "empty") return;
    this.#state = { kind: "taken" };
    if (!this.#slot.handOff(msg)) this.#state = { kind: "value", value: msg };
  }

  /**
   * Waits for the reply.
   * @param options Cancellation and timeout.
   * @returns The reply.
   * @throws {PortClosedError} When closed before a reply, or already received.
   * @throws The signal's reason, or a `TimeoutError` DOMException.
   */
  recv(options: RecvOptions = {}): Promise<M> {
    const state = this.#state;
    if (state.kind === "value") {
      this.#state = { kind: "taken" };
      return Promise.resolve(state.value);
    }
    if (state.kind === "taken") {
      return Promise.reject(new PortClosedError(this.ref.port, "the reply was already received"));
    }
    return this.#slot.park(options);
  }

  /**
   * Unbinds the port and rejects a pending `recv()`. Idempotent.
   * @param why Reason shown in {@linkcode PortClosedError}.
   */
  close(why = "the receiver was closed"): void {
    this.#slot.close(why);
  }

  /** Closes the receiver. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * An actor's port registry.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope } from "./envelope.ts";
 * import { Mailbox } from "./mailbox.ts";
 * import { ActorId } from "./reference.ts";
 * const mbox = new Mailbox(ActorId.parse("local:1,p,a[0]"));
 * const { ref, receiver } = mbox.openPort<number>();
 * mbox.deliver(createEnvelope({ sender: "local:1,p,b[0]", dest: ref.port, type: "Port", data: 7 }), () => {});
 * assertEquals(receiver.tryRecv(), 7);
 * const bounced: MessageEnvelope[] = [];
 * mbox.deliver(createEnvelope({ sender: "local:1,p,b[0]", dest: "local:1,p,a[0][9]", type: "T", data: 0 }), (e) => bounced.push(e));
 * assertEquals(bounced[0].errors[0].kind, "Unroutable");
 * ```
 */
export class Mailbox {
  /** The owner. */
  readonly actorId: ActorId;
  readonly #ports = new Map<number, PortSink>();
  #handlerFallback: PortSink | undefined;
  #nextPort = FIRST_DYNAMIC_PORT;
  #closed: { kind: "stopped" | "failed" } | undefined;
  readonly #receivers = new Set<{ close(why: string): void }>();

  /**
   * Creates a Mailbox.
   * @param actorId The owner.
   * @param handlerFallback Receives envelopes for handler-range ports that are
   * not explicitly bound (actors: the message loop decides); without it they
   * bounce as unbound.
   */
  constructor(actorId: ActorId, handlerFallback?: PortSink) {
    this.actorId = actorId;
    this.#handlerFallback = handlerFallback;
  }

  /** Whether the owner is stopped or failed. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Binds a port index to a sink (replacing any previous binding).
   * @param index Port index.
   * @param sink Receives its envelopes.
   */
  bind(index: number, sink: PortSink): void {
    this.#ports.set(index, sink);
  }

  /**
   * Removes the binding of a port index.
   * @param index Port index.
   */
  unbind(index: number): void {
    this.#ports.delete(index);
  }

  /**
   * Delivers an envelope addressed to this mailbox's owner (MB-7, MB-8).
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   * @param index The destination's port index when the caller already parsed
   * it (default: parsed from `envelope.dest`).
   */
  deliver(
    envelope: MessageEnvelope,
    returnHandle: ReturnHandle,
    index: number = destParts(envelope.dest).index,
  ): void {
    if (this.#closed) {
      bounce(envelope, {
        kind: "Mailbox",
        message: `mailbox owner ${this.actorId.key} is ${this.#closed.kind}`,
      }, returnHandle); // MB-8
      return;
    }
    const sink = this.#ports.get(index) ??
      (index >= HANDLER_PORT_BASE ? this.#handlerFallback : undefined);
    if (sink === undefined) {
      bounce(envelope, {
        kind: "Unroutable",
        message: `port not bound in mailbox ${this.actorId.key}: ${envelope.dest}`,
      }, returnHandle); // MB-7
      return;
    }
    sink(envelope, index);
  }

  /**
   * Opens a dynamic port (index ≥ 1024).
   * @returns The port's reference and its receiver.
   * @throws {Error} When the mailbox is closed.
   */
  openPort<M>(): { ref: PortRef<M>; receiver: PortReceiver<M> } {
    const index = this.#allocate();
    const ref = new PortRef<M>(new PortId(this.actorId, index));
    const receiver = new PortReceiver<M>(ref, () => this.#release(index, receiver));
    this.#receivers.add(receiver);
    this.#ports.set(index, (e) => receiver.push(e.data as M));
    return { ref, receiver };
  }

  /**
   * Opens a once port: the first message is kept, the port then unbinds (MB-9).
   * @returns The port's reference and its receiver.
   * @throws {Error} When the mailbox is closed.
   */
  openOncePort<M>(): { ref: OncePortRef<M>; receiver: OncePortReceiver<M> } {
    const index = this.#allocate();
    const ref = new OncePortRef<M>(new PortId(this.actorId, index));
    const receiver = new OncePortReceiver<M>(ref, () => this.#release(index, receiver));
    this.#receivers.add(receiver);
    this.#ports.set(index, (e) => {
      this.#ports.delete(index); // MB-9
      this.#receivers.delete(receiver);
      receiver.push(e.data as M);
    });
    return { ref, receiver };
  }

  /**
   * Closes the mailbox for good: later envelopes bounce, receivers end (MB-8).
   * @param kind Whether the owner stopped or failed.
   */
  close(kind: "stopped" | "failed"): void {
    if (this.#closed) return;
    this.#closed = { kind };
    this.#ports.clear();
    this.#handlerFallback = undefined;
    const receivers = [...this.#receivers];
    this.#receivers.clear();
    for (const r of receivers) r.close(`mailbox owner ${this.actorId.key} is ${kind}`);
  }

  #allocate(): number {
    if (this.#closed) {
      throw new Error(
        `Cannot open port: mailbox owner ${this.actorId.key} is ${this.#closed.kind}`,
      );
    }
    return this.#nextPort++;
  }

  #release(index: number, receiver: { close(why: string): void }): void {
    this.#ports.delete(index);
    this.#receivers.delete(receiver);
  }
}
