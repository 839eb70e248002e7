/**
 * Lost hosts, process-wide: which hosts this process declared lost, the
 * typed {@linkcode HostLostError} every operation on them fails with, and
 * the host-lost events (a listener hook and an async iterator).
 *
 * A host is named by its front-end channel address. It becomes lost when
 * the owner's {@linkcode import("./host_watch.ts").HostWatch} sees it die
 * (its link refused, its heartbeat silent past the deadline, or the host
 * process this client started exited); {@linkcode markHostLost} records it
 * and notifies everyone once. Operations consult {@linkcode hostLostError}
 * before they send, and race their waits with {@linkcode raceHostLost}, so
 * nothing waits on a dead host for its idle bound.
 *
 * ## Invariants (HW-*)
 * - **HW-1 (once per host).** Each host is reported lost at most once per
 *   incarnation: one listener call and one event per subscriber, whatever
 *   number of watches or signals saw it die. Re-watching the address for a
 *   new attach ({@linkcode clearHostLost}) starts a new incarnation.
 * - **HW-4 (fail fast, typed).** Once a host is lost, every operation on it
 *   that consults the registry — and every such operation still waiting —
 *   rejects at once with a {@linkcode HostLostError} whose `host` names it.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import { publishHostLost } from "./registry.ts";

/** A host, as anything that names its front-end address. */
export type HostLike = ChannelAddr | string | { readonly addr: ChannelAddr };

/**
 * An operation was refused, or abandoned, because its host is lost (HW-4).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostLostError } from "./host_lost.ts";
 * const e = new HostLostError("tcp:127.0.0.1:2001", "connection refused", "drain host");
 * assertEquals(e.message, "Cannot drain host: host tcp:127.0.0.1:2001 is lost (connection refused)");
 * assertEquals(e.host, "tcp:127.0.0.1:2001");
 * ```
 */
export class HostLostError extends Error {
  /** The lost host's front-end address text. */
  readonly host: string;
  /** Why the host was declared lost. */
  readonly reason: string;
  /** What could not be done. */
  readonly action: string;

  /**
   * Creates a HostLostError.
   * @param host The host's address text.
   * @param reason Why it was declared lost.
   * @param action What could not be done (default `"use host"`).
   * @param options `cause`.
   */
  constructor(host: string, reason: string, action = "use host", options?: ErrorOptions) {
    super(`Cannot ${action}: host ${host} is lost (${reason})`, options);
    this.name = "HostLostError";
    this.host = host;
    this.reason = reason;
    this.action = action;
  }

  /**
   * The same loss, refusing `action` (the original as `cause`).
   * @param action What could not be done.
   * @returns A new error.
   */
  forAction(action: string): HostLostError {
    return new HostLostError(this.host, this.reason, action, { cause: this });
  }
}

/** One host-lost event. */
export interface HostLostEvent {
  /** The host's front-end address text. */
  readonly host: string;
  /** The error operations on it fail with. */
  readonly error: HostLostError;
  /** When it was declared lost (ms since the epoch). */
  readonly atMs: number;
}

/** Called once per lost host (HW-1). */
export type HostLostListener = (host: string, error: HostLostError) => void;

const lost = new Map<string, HostLostEvent>();
const listeners = new Set<HostLostListener>();
const waiters = new Map<string, Set<(error: HostLostError) => void>>();

/**
 * The registry key of a host (its address's canonical key).
 * @param host A host.
 * @returns The key.
 * @throws {import("../../channel/addr.ts").ChannelAddrParseError} For bad address text.
 */
export function hostKey(host: HostLike): string {
  if (typeof host === "string") return ChannelAddr.parse(host).key;
  return host instanceof ChannelAddr ? host.key : host.addr.key;
}

function hostText(host: HostLike): string {
  if (typeof host === "string") return ChannelAddr.parse(host).toString();
  return host instanceof ChannelAddr ? host.toString() : host.addr.toString();
}

/**
 * Declares `host` lost: the first call per incarnation records it, calls
 * every listener and wakes every waiter (HW-1); later calls change nothing.
 * @param host The host.
 * @param reason Why (e.g. `"connection refused"`).
 * @returns Whether this call declared it (false when already lost).
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { addHostLostListener, clearHostLost, hostLostError, markHostLost } from "./host_lost.ts";
 * const seen: string[] = [];
 * using _l = addHostLostListener((host) => seen.push(host));
 * assert(markHostLost("tcp:127.0.0.1:9", "test"));
 * assert(!markHostLost("tcp:127.0.0.1:9", "again")); // HW-1
 * assertEquals(seen, ["tcp:127.0.0.1:9"]);
 * assertEquals(hostLostError("tcp:127.0.0.1:9", "spawn")?.message,
 *   "Cannot spawn: host tcp:127.0.0.1:9 is lost (test)");
 * clearHostLost("tcp:127.0.0.1:9");
 * ```
 */
export function markHostLost(host: HostLike, reason: string): boolean {
  const key = hostKey(host);
  if (lost.has(key)) return false; // HW-1
  const text = hostText(host);
  const error = new HostLostError(text, reason);
  lost.set(key, { host: text, error, atMs: Date.now() });
  const wake = waiters.get(key);
  waiters.delete(key);
  for (const w of wake ?? []) w(error); // HW-4
  for (const listener of [...listeners]) {
    try {
      listener(text, error);
    } catch (cause) {
      console.error(`hypermesh: a host-lost listener threw for ${text}:`, cause);
    }
  }
  // SV-13: every rank of an owned proc mesh that lived there gets a HostLost MeshFailure.
  const published = publishHostLost(text, reason);
  if (listeners.size === 0 && published === 0) {
    console.warn(`hypermesh: ${error.message.replace(/^Cannot use host: /, "")}`);
  }
  return true;
}

/**
 * Forgets that `host` was lost (a new incarnation at the same address, e.g.
 * a fresh attach). No-op for a healthy host.
 * @param host The host.
 */
export function clearHostLost(host: HostLike): void {
  lost.delete(hostKey(host));
}

/**
 * The error an operation on `host` fails with, if the host is lost (HW-4).
 * @param host The host.
 * @param action What the caller tried (default `"use host"`).
 * @returns The error, or `undefined` for a host not known to be lost.
 */
export function hostLostError(host: HostLike, action?: string): HostLostError | undefined {
  const event = lost.get(hostKey(host));
  if (event === undefined) return undefined;
  return action === undefined ? event.error : event.error.forAction(action);
}

/**
 * Throws when any of `hosts` is lost (HW-4).
 * @param hosts The hosts an operation needs.
 * @param action What the caller tries.
 * @throws {HostLostError} Naming the first lost host.
 */
export function assertHostsAlive(hosts: Iterable<HostLike>, action: string): void {
  for (const h of hosts) {
    const error = hostLostError(h, action);
    if (error !== undefined) throw error;
  }
}

/**
 * Runs `op` and rejects as soon as any of `hosts` is lost (HW-4); a host
 * already lost rejects before `op` starts. The listeners are dropped when
 * the race settles.
 * @param hosts The hosts `op` waits on.
 * @param action What the caller does (names the error).
 * @param op The operation.
 * @returns What `op` returns.
 * @throws {HostLostError} When a host is or becomes lost first.
 */
export async function raceHostLost<T>(
  hosts: Iterable<HostLike>,
  action: string,
  op: () => Promise<T>,
): Promise<T> {
  const list = [...hosts];
  assertHostsAlive(list, action);
  let onLost!: (error: HostLostError) => void;
  const lostP = new Promise<never>((_, reject) => {
    onLost = (error) => reject(error.forAction(action));
  });
  const unsubscribe = onHostsLost(list, onLost);
  try {
    return await Promise.race([op(), lostP]);
  } finally {
    unsubscribe();
  }
}

/**
 * Calls `fn` for each of `hosts` declared lost from now on (each at most
 * once), until unsubscribed. Hosts already lost are not reported: check
 * {@linkcode hostLostError} first.
 * @param hosts The hosts.
 * @param fn Called with each lost host's error.
 * @returns Unsubscribes (idempotent).
 */
export function onHostsLost(
  hosts: Iterable<HostLike>,
  fn: (error: HostLostError) => void,
): () => void {
  const keys = [...new Set([...hosts].map(hostKey))];
  let done = false;
  const waiter = (error: HostLostError) => {
    if (!done) fn(error);
  };
  for (const k of keys) {
    let set = waiters.get(k);
    if (set === undefined) waiters.set(k, set = new Set());
    set.add(waiter);
  }
  return () => {
    done = true;
    for (const k of keys) {
      const set = waiters.get(k);
      set?.delete(waiter);
      if (set?.size === 0) waiters.delete(k);
    }
  };
}

/**
 * Registers a process-wide host-lost listener (the integration point of
 * per-mesh failure streams): called once per lost host (HW-1).
 * @param listener The callback.
 * @returns A disposable that removes it.
 */
export function addHostLostListener(listener: HostLostListener): Disposable {
  listeners.add(listener);
  return { [Symbol.dispose]: () => void listeners.delete(listener) };
}

/**
 * Every host declared lost from the first `next()` on, in order (HW-1),
 * until `signal` aborts or the loop breaks. The queue holds at most one
 * event per host incarnation.
 * @param options Cancellation.
 * @returns The events.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { clearHostLost, hostLostEvents, markHostLost } from "./host_lost.ts";
 * const events = hostLostEvents()[Symbol.asyncIterator]();
 * const next = events.next();
 * markHostLost("tcp:127.0.0.1:7", "test");
 * assertEquals((await next).value?.host, "tcp:127.0.0.1:7");
 * await events.return?.();
 * clearHostLost("tcp:127.0.0.1:7");
 * ```
 */
export async function* hostLostEvents(
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<HostLostEvent, void> {
  const { signal } = options;
  const queue: HostLostEvent[] = [];
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  using _l = addHostLostListener((host, error) => {
    queue.push({ host, error, atMs: Date.now() });
    wake?.();
  });
  signal?.addEventListener("abort", onAbort);
  try {
    while (true) {
      signal?.throwIfAborted();
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The hosts currently lost, in the order they were declared.
 * @returns The events.
 */
export function lostHosts(): HostLostEvent[] {
  return [...lost.values()];
}
