/**
 * Folder-private FIFO with O(1) push/shift and indexed access (a growable ring).
 * @module
 */

/** A growable ring-buffer FIFO. */
export class Deque<T> {
  #buf: (T | undefined)[];
  #mask: number;
  #head = 0;
  #length = 0;

  /** @param capacity Initial capacity (rounded up to a power of two). */
  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.#buf = new Array(cap);
    this.#mask = cap - 1;
  }

  /** Number of items. */
  get length(): number {
    return this.#length;
  }

  /** @param item Appended at the tail. */
  push(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#buf[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** @returns The head item (removed), or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** @returns The head item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#buf[this.#head];
  }

  /**
   * @param index 0 = head.
   * @returns The item at `index` (unchecked).
   */
  at(index: number): T {
    return this.#buf[(this.#head + index) & this.#mask] as T;
  }

  /**
   * @param index 0 = head.
   * @param item Replaces the item at `index` (unchecked).
   */
  set(index: number, item: T): void {
    this.#buf[(this.#head + index) & this.#mask] = item;
  }

  /**
   * @param from First index (0 = head).
   * @param to One past the last index.
   * @returns A copy of the items in `[from, to)`.
   */
  slice(from: number, to: number): T[] {
    const out = new Array<T>(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.#buf[(this.#head + i) & this.#mask] as T;
    return out;
  }

  /**
   * Empties the deque, keeping its capacity. Clears only the slots in use:
   * draining an empty or short deque costs nothing per slot of capacity (a
   * link's outbox starts at 1024 slots, and its teardown drains four).
   * @returns All items, head first.
   */
  drain(): T[] {
    const n = this.#length;
    if (n === 0) return [];
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      const slot = (this.#head + i) & this.#mask;
      out[i] = this.#buf[slot] as T;
      this.#buf[slot] = undefined;
    }
    this.#head = 0;
    this.#length = 0;
    return out;
  }

  #grow(): void {
    const old = this.#buf;
    const cap = old.length * 2;
    const buf = new Array<T | undefined>(cap);
    for (let i = 0; i < this.#length; i++) buf[i] = old[(this.#head + i) & this.#mask];
    this.#buf = buf;
    this.#mask = cap - 1;
    this.#head = 0;
  }
}
