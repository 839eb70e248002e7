/**
 * Folder-private: the single parked `recv()` of a port receiver — handing a
 * message to it, parking one with cancellation and timeout, and rejecting it
 * when the receiver closes. Shared by `PortReceiver` and `OncePortReceiver`
 * (`mailbox.ts`).
 * @module
 */

/**
 * Parks a waiter via `park` (which returns its un-park function) and settles
 * with whatever `park`'s callbacks deliver, `signal.reason`, or a
 * `TimeoutError` DOMException after `timeoutMs`. Listeners and timers are
 * dropped on every exit path.
 * @param park Installs the waiter; returns how to remove it.
 * @param options Cancellation and timeout.
 * @returns What the waiter received.
 */
export function waitFor<T>(
  park: (resolve: (v: T) => void, reject: (e: unknown) => void) => () => void,
  options: { signal?: AbortSignal; timeoutMs?: number },
): Promise<T> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const done = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const unpark = park((v) => {
      done();
      resolve(v);
    }, (e) => {
      done();
      reject(e);
    });
    const onAbort = () => {
      done();
      unpark();
      reject(signal!.reason);
    };
    if (settled) return; // park() delivered synchronously: nothing to arm
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        done();
        unpark();
        reject(new DOMException(`recv timed out after ${timeoutMs}ms`, "TimeoutError"));
      }, timeoutMs);
    }
  });
}

/**
 * The closed state and the one parked receive of a receiver.
 * @typeParam M The message type.
 */
export class RecvSlot<M> {
  readonly #port: string;
  readonly #closedError: (why: string) => Error;
  readonly #onClose: () => void;
  #waiter: { resolve: (v: M) => void; reject: (e: unknown) => void } | undefined;
  #closed: string | undefined;

  /**
   * Creates the slot.
   * @param port The port id text (for messages).
   * @param closedError Builds the error a closed receiver reports.
   * @param onClose Unbinds the port (called once, on close).
   */
  constructor(port: string, closedError: (why: string) => Error, onClose: () => void) {
    this.#port = port;
    this.#closedError = closedError;
    this.#onClose = onClose;
  }

  /** Why the receiver was closed, or `undefined` while open. */
  get closedWhy(): string | undefined {
    return this.#closed;
  }

  /**
   * Hands `msg` to the parked receive, if any.
   * @param msg The body.
   * @returns Whether a parked receive took it.
   */
  handOff(msg: M): boolean {
    const waiter = this.#waiter;
    if (!waiter) return false;
    this.#waiter = undefined;
    waiter.resolve(msg);
    return true;
  }

  /**
   * Parks a receive (the caller already found nothing queued).
   * @param options Cancellation and timeout.
   * @returns The next handed-off message.
   * @throws {Error} Synchronously, when a receive is already parked.
   */
  park(options: { signal?: AbortSignal; timeoutMs?: number }): Promise<M> {
    if (this.#closed !== undefined) return Promise.reject(this.#closedError(this.#closed));
    if (this.#waiter) throw new Error(`Cannot recv on port ${this.#port}: already receiving`);
    return waitFor<M>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      return () => (this.#waiter = undefined);
    }, options);
  }

  /**
   * Closes: unbinds the port and rejects the parked receive. Idempotent.
   * @param why The reason.
   */
  close(why: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = why;
    this.#onClose();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#closedError(why));
  }
}
