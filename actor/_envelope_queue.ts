/**
 * Folder-private: an actor's message queue, a growable ring of envelopes with
 * their port indexes (parsed once, on delivery). No allocation per message:
 * an array emptied with `length = 0` after every message (the common case
 * when messages trickle in one by one) dropped its backing store each time.
 * @module
 */

import type { MessageEnvelope } from "./envelope.ts";

const MIN_CAPACITY = 16;
/** An empty ring larger than this shrinks back (a burst does not pin memory). */
const SHRINK_ABOVE = 1024;

function slots(capacity: number): (MessageEnvelope | undefined)[] {
  return Array.from({ length: capacity }, () => undefined);
}

/**
 * A FIFO of envelopes and their port indexes.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope } from "./envelope.ts";
 * import { EnvelopeQueue } from "./_envelope_queue.ts";
 * const q = new EnvelopeQueue();
 * for (let i = 0; i < 40; i++) {
 *   q.push(createEnvelope({ sender: "local:1,p,a[0]", dest: "local:1,p,b[0][7]", type: "T", data: i }), i);
 * }
 * assertEquals([q.size, q.headIndex], [40, 0]);
 * assertEquals(q.shift().data, 0);
 * assertEquals(q.headIndex, 1);
 * ```
 */
export class EnvelopeQueue {
  #ring: (MessageEnvelope | undefined)[] = slots(MIN_CAPACITY);
  #indexes = new Float64Array(MIN_CAPACITY);
  #head = 0;
  #size = 0;

  /** Number of queued envelopes. */
  get size(): number {
    return this.#size;
  }

  /** Port index of the head envelope (the queue must not be empty). */
  get headIndex(): number {
    return this.#indexes[this.#head];
  }

  /**
   * Appends an envelope.
   * @param envelope The envelope.
   * @param index Its destination port index.
   */
  push(envelope: MessageEnvelope, index: number): void {
    if (this.#size === this.#ring.length) this.#resize(this.#ring.length * 2);
    const slot = (this.#head + this.#size) & (this.#ring.length - 1);
    this.#ring[slot] = envelope;
    this.#indexes[slot] = index;
    this.#size++;
  }

  /**
   * Removes the head envelope (the queue must not be empty).
   * @returns The head envelope.
   */
  shift(): MessageEnvelope {
    const head = this.#head;
    const envelope = this.#ring[head]!;
    this.#ring[head] = undefined;
    this.#head = (head + 1) & (this.#ring.length - 1);
    if (--this.#size === 0) {
      this.#head = 0;
      if (this.#ring.length > SHRINK_ABOVE) this.#resize(MIN_CAPACITY);
    }
    return envelope;
  }

  /** Drops everything. */
  clear(): void {
    this.#ring = slots(MIN_CAPACITY);
    this.#indexes = new Float64Array(MIN_CAPACITY);
    this.#head = 0;
    this.#size = 0;
  }

  #resize(capacity: number): void {
    const ring = slots(capacity);
    const indexes = new Float64Array(capacity);
    const mask = this.#ring.length - 1;
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#head + i) & mask;
      ring[i] = this.#ring[slot];
      indexes[i] = this.#indexes[slot];
    }
    this.#ring = ring;
    this.#indexes = indexes;
    this.#head = 0;
  }
}
