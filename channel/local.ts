/**
 * In-process (`local:N`) channels.
 *
 * A process-global registry maps local ids (allocated from 1 upward) to
 * servers. Posting hands the message object itself to the receiver — zero
 * copy — so a sender must not mutate a message after posting it. There is no
 * serialization, no acknowledgement and no backpressure: `send()` resolves
 * once the message is enqueued.
 *
 * @module
 */

import { ChannelAddr } from "./addr.ts";
import { ChannelError, SendError } from "./errors.ts";
import { RecvQueue } from "./_recv_queue.ts";
import type { ChannelServer, ChannelTx, ChannelWaitOptions, TxStatus } from "./types.ts";
import { WatchCell } from "./watch_cell.ts";

const registry = new Map<number, LocalServer<unknown>>();
let nextLocalId = 1;

/**
 * Serves a local channel.
 * @param addr Must be `local:0` (allocate the next id).
 * @param options Cancellation: aborting closes the server.
 * @returns The server, bound to a fresh `local:N`.
 * @throws {ChannelError} For `local:N` with N ≠ 0.
 */
export function serveLocal<M>(
  addr: ChannelAddr,
  options: ChannelWaitOptions = {},
): ChannelServer<M> {
  if (addr.localId !== 0) {
    throw new ChannelError("serve", addr.key, "only local:0 can be served (ids are allocated)");
  }
  const server = new LocalServer<M>(ChannelAddr.local(nextLocalId++));
  registry.set(server.addr.localId!, server as LocalServer<unknown>);
  const { signal } = options;
  if (signal) {
    if (signal.aborted) server.close();
    else signal.addEventListener("abort", () => server.close(), { once: true });
  }
  return server;
}

/**
 * Dials a local channel (CH-6: an unserved id gives a `Closed` sender).
 * @param addr A `local:N` address.
 * @returns The sender.
 */
export function dialLocal<M>(addr: ChannelAddr): ChannelTx<M> {
  const server = registry.get(addr.localId!) as LocalServer<M> | undefined;
  return new LocalTx<M>(addr, server);
}

class LocalServer<M> implements ChannelServer<M> {
  readonly addr: ChannelAddr;
  readonly queue = new RecvQueue<M>();
  readonly txs = new Set<LocalTx<M>>();

  constructor(addr: ChannelAddr) {
    this.addr = addr;
  }

  recv(options: ChannelWaitOptions = {}): Promise<M | undefined> {
    return this.queue.recv(options.signal);
  }

  [Symbol.asyncIterator](): AsyncIterator<M> {
    return this.queue.iterator();
  }

  close(): Promise<void> {
    if (this.queue.closed) return Promise.resolve();
    registry.delete(this.addr.localId!);
    this.queue.close();
    for (const tx of this.txs) tx.terminate("server closed");
    this.txs.clear();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class LocalTx<M> implements ChannelTx<M> {
  readonly addr: ChannelAddr;
  readonly status: WatchCell<TxStatus>;
  #server: LocalServer<M> | undefined;
  #queue: RecvQueue<M> | undefined;
  #closedReason: string | undefined;

  constructor(addr: ChannelAddr, server: LocalServer<M> | undefined) {
    this.addr = addr;
    if (server === undefined || server.queue.closed) {
      this.#closedReason = `no local channel is served at ${addr.key}`;
      this.status = new WatchCell<TxStatus>({ kind: "Closed", reason: this.#closedReason });
      this.status.close();
    } else {
      this.#server = server;
      this.#queue = server.queue;
      server.txs.add(this);
      this.status = new WatchCell<TxStatus>({ kind: "Active" });
    }
  }

  post(message: M, onReturn?: (error: SendError<M>) => void): void {
    const queue = this.#queue;
    if (queue !== undefined) {
      queue.push(message);
      return;
    }
    if (onReturn) {
      const error = new SendError(this.#closedReason!, message);
      queueMicrotask(() => onReturn(error));
    }
  }

  send(message: M): Promise<void> {
    if (this.#queue === undefined) {
      return Promise.reject(new SendError(this.#closedReason!, message));
    }
    this.#queue.push(message);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  terminate(reason: string): void {
    if (this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    this.#queue = undefined;
    this.#server?.txs.delete(this);
    this.#server = undefined;
    this.status.set({ kind: "Closed", reason });
    this.status.close();
  }

  close(): Promise<void> {
    this.terminate("closed");
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
