/**
 * `DialMailboxRouter`: routes envelopes by destination to channel addresses,
 * dialing lazily and caching one {@linkcode MailboxClient} per address.
 *
 * The address book maps reference keys (a proc `ADDR,PROC`, an actor
 * `ADDR,PROC,NAME[PID]` or a port `…[PORT]`) to channel addresses. A
 * destination is routed by the longest bound key that prefixes it at a
 * reference boundary (`,` or `[`), so binding a proc covers all its actors and
 * an actor binding overrides its proc's. Without a binding the address in the
 * destination's proc id is used (every proc is direct-addressed) — unless the
 * router is `directAddressedRemoteOnly`, in which case only `tcp:` addresses
 * are used that way and `unix:`/`local:` destinations go to the default sender.
 * No route at all → the default sender ({@linkcode UNROUTABLE_SENDER} unless
 * given). An address that cannot be dialed bounces the envelope with
 * `Unroutable("cannot dial destination: …")`.
 *
 * A cached client whose link closed stays cached: later posts to that address
 * bounce with `BrokenLink` until the binding changes or {@linkcode
 * DialMailboxRouter.evict} drops it.
 *
 * ## Invariants (MB-*)
 * - **MB-10 (longest-prefix routing).** A destination is routed by the longest
 *   bound key that equals it or prefixes it followed by `,` or `[`; a proc
 *   key never matches another proc whose name merely starts with it.
 * - **MB-18 (rebinding evicts).** `bind()` to a different address evicts the
 *   cached client of the old address; lookups after `bind()`/`unbind()`/
 *   `evict()` never use a stale routing decision.
 * - **MB-19 (router returns).** Every envelope posted to the router is handed
 *   to exactly one of: a dialed client, the default sender, or its return
 *   handle (dial failure, router closed).
 * - **MB-44 (bookkeeping independent of the number of bindings).**
 *   `bind()`, `unbind()` of a proc with nothing finer bound under it, and
 *   `evict()` cost O(1), not O(bindings) or O(cached routes): a bind or
 *   unbind forgets only the cached route of its own proc, and a cached route
 *   whose client was evicted is dropped when it is next looked up. A host
 *   that binds and drops N procs does O(N) router work, not O(N²).
 * - **MB-36 (closed routers never dial).** From the moment `close()` is
 *   called — including bounces that re-enter the router while its links are
 *   being closed — no new link is dialed; envelopes bounce with `BrokenLink`.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import { actorKeyOf, parseReference, procKeyOf, type Reference } from "../reference.ts";
import {
  bounce,
  type MailboxSender,
  type MessageEnvelope,
  type ReturnHandle,
} from "../envelope.ts";
import { MailboxClient } from "./mailbox_client.ts";
import { UNROUTABLE_SENDER } from "../unroutable.ts";

/** A sender the router dialed and owns: it is closed on eviction and disposal. */
export interface DialedSender extends MailboxSender {
  /** Closes the link; outstanding envelopes are returned. Must be idempotent. */
  close(): Promise<void>;
  /** Optional: opens the link before the first envelope (CH-10). */
  connect?(): void;
}

/**
 * Opens a link to `addr`. May throw when the address can never be dialed.
 * @param addr The destination address.
 * @returns The sender for that address.
 */
export type MailboxDialer = (addr: ChannelAddr) => DialedSender;

/** Options of {@linkcode DialMailboxRouter}. */
export interface DialMailboxRouterOptions {
  /** Where unroutable envelopes go (default {@linkcode UNROUTABLE_SENDER}). */
  defaultSender?: MailboxSender;
  /** Use direct addressing only for `tcp:` destinations (default false). */
  directAddressedRemoteOnly?: boolean;
  /** Opens links (default: {@linkcode MailboxClient.dial}). */
  dialer?: MailboxDialer;
}

const ROUTE_CACHE_LIMIT = 65_536;

/**
 * Whether the reference key `prefix` covers `key` (MB-10): equal, or a prefix
 * followed by a reference boundary (`,` before an actor, `[` before a port).
 * @param prefix A canonical proc/actor/port key.
 * @param key A canonical key (a port key may carry a `<Type>` annotation).
 * @returns Whether `prefix` covers `key`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isReferencePrefix } from "./dial_router.ts";
 * assert(isReferencePrefix("local:1,p", "local:1,p,a[0][3]"));
 * assert(isReferencePrefix("local:1,p,a[0]", "local:1,p,a[0][3]"));
 * assert(!isReferencePrefix("local:1,p", "local:1,p2,a[0]"));
 * ```
 */
export function isReferencePrefix(prefix: string, key: string): boolean {
  if (!key.startsWith(prefix)) return false;
  if (key.length === prefix.length) return true;
  const next = key.charCodeAt(prefix.length);
  return next === 44 /* , */ || next === 91; /* [ */
}

/**
 * Routes envelopes to channel addresses by longest reference prefix (MB-10).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope } from "../envelope.ts";
 * import { DialMailboxRouter } from "./dial_router.ts";
 *
 * const delivered: string[] = [];
 * await using router = new DialMailboxRouter({
 *   dialer: (addr) => ({
 *     postUnchecked: (e: MessageEnvelope) => delivered.push(`${addr} <- ${e.dest}`),
 *     close: () => Promise.resolve(),
 *   }),
 * });
 * router.bind("unix:@host,p", "unix:@p.sock");
 * router.bind("unix:@host,p,special[0]", "tcp:127.0.0.1:4000");
 * const post = (dest: string) =>
 *   router.postUnchecked(createEnvelope({ sender: "local:1,c,a[0]", dest, type: "T", data: 0 }), () => {});
 * post("unix:@host,p,worker[0][5]");
 * post("unix:@host,p,special[0][5]");
 * assertEquals(delivered, [
 *   "unix:@p.sock <- unix:@host,p,worker[0][5]",
 *   "tcp:127.0.0.1:4000 <- unix:@host,p,special[0][5]",
 * ]);
 * ```
 */
export class DialMailboxRouter implements MailboxSender, AsyncDisposable {
  readonly #defaultSender: MailboxSender;
  readonly #remoteOnly: boolean;
  readonly #dialer: MailboxDialer;
  /** Reference key → address. */
  readonly #book = new Map<string, ChannelAddr>();
  /** Proc key → number of actor/port-level bindings inside that proc. */
  readonly #fine = new Map<string, number>();
  /** Address key → dialed client. */
  readonly #clients = new Map<string, DialedSender>();
  /** Proc key → routing decision for the proc-level part (a client or the default). */
  readonly #routes = new Map<string, MailboxSender>();
  /** The cached clients, by identity: a cached route to another one is stale (MB-44). */
  readonly #live = new Set<MailboxSender>();
  /** Evicted clients still flushing/closing. */
  readonly #retired = new Map<DialedSender, Promise<void>>();
  #closing: Promise<void> | undefined;

  /**
   * Creates an empty router.
   * @param options Default sender, direct-addressing policy and dialer.
   */
  constructor(options: DialMailboxRouterOptions = {}) {
    this.#defaultSender = options.defaultSender ?? UNROUTABLE_SENDER;
    this.#remoteOnly = options.directAddressedRemoteOnly ?? false;
    this.#dialer = options.dialer ?? ((addr) => MailboxClient.dial(addr));
  }

  /**
   * Binds `ref` (and everything under it) to `addr`, replacing an earlier
   * binding of the same key; a changed address evicts the old client (MB-18).
   * @param ref A proc, actor or port id, or its text.
   * @param addr The address to route to.
   * @throws {import("../reference.ts").ReferenceParseError} For unparsable reference text.
   * @throws {import("../../channel/addr.ts").ChannelAddrParseError} For unparsable address text.
   */
  bind(ref: Reference | string, addr: ChannelAddr | string): void {
    const key = referenceKey(ref);
    const target = typeof addr === "string" ? ChannelAddr.parse(addr) : addr;
    const old = this.#book.get(key);
    this.#book.set(key, target);
    if (old === undefined) {
      const procKey = procKeyOf(key);
      if (procKey !== key) this.#fine.set(procKey, (this.#fine.get(procKey) ?? 0) + 1);
    } else if (!old.equals(target)) {
      this.#retire(old.key); // MB-18
    }
    this.#routes.delete(procKeyOf(key)); // MB-18, MB-44: only this proc's route
  }

  /**
   * Removes every binding that `ref` covers (MB-10 prefix rule).
   * @param ref A proc, actor or port id, or its text.
   * @returns How many bindings were removed.
   * @throws {import("../reference.ts").ReferenceParseError} For unparsable reference text.
   */
  unbind(ref: Reference | string): number {
    const prefix = referenceKey(ref);
    const procKey = procKeyOf(prefix);
    if (procKey === prefix && !this.#fine.has(prefix)) { // MB-44: nothing finer under it
      this.#routes.delete(prefix);
      return this.#book.delete(prefix) ? 1 : 0;
    }
    let removed = 0;
    for (const key of [...this.#book.keys()]) {
      if (!isReferencePrefix(prefix, key)) continue;
      this.#book.delete(key);
      removed++;
      const procKey = procKeyOf(key);
      if (procKey === key) continue;
      const count = (this.#fine.get(procKey) ?? 1) - 1;
      if (count > 0) this.#fine.set(procKey, count);
      else this.#fine.delete(procKey);
    }
    this.#routes.clear(); // MB-18 (finer bindings: rare)
    return removed;
  }

  /**
   * Drops (and closes, after it flushed) the cached client of `addr`, so the
   * next post to that address dials afresh.
   * @param addr The address.
   * @returns Whether a client was cached.
   */
  evict(addr: ChannelAddr | string): boolean {
    const key = typeof addr === "string" ? ChannelAddr.parse(addr).key : addr.key;
    const had = this.#clients.has(key);
    this.#retire(key); // MB-18, MB-44: routes to it are dropped when next looked up
    return had;
  }

  /**
   * Dials `addr` now (and caches the link) so that the first envelope for
   * it does not wait for the connection and its handshake (CH-10). Nothing
   * happens on a closed router, for a cached address, or when the dialer
   * throws (the first post then bounces as usual).
   * @param addr The address.
   */
  prime(addr: ChannelAddr): void {
    if (this.#closing !== undefined || this.#clients.has(addr.key)) return;
    let client: DialedSender;
    try {
      client = this.#dialer(addr);
    } catch {
      return;
    }
    this.#clients.set(addr.key, client);
    this.#live.add(client);
    client.connect?.();
  }

  /**
   * Where `dest` would be routed.
   * @param dest A reference or its text (e.g. an envelope's `dest`).
   * @returns The address, or `undefined` when it would go to the default sender.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { DialMailboxRouter } from "./dial_router.ts";
   * const router = new DialMailboxRouter({ directAddressedRemoteOnly: true });
   * assertEquals(router.lookup("tcp:10.0.0.1:2,p,a[0]")?.toString(), "tcp:10.0.0.1:2");
   * assertEquals(router.lookup("unix:@x,p,a[0]"), undefined);
   * ```
   */
  lookup(dest: Reference | string): ChannelAddr | undefined {
    const text = typeof dest === "string" ? dest : dest.key;
    return this.#bound(text) ?? this.#direct(procKeyOf(text));
  }

  /** Routing decisions cached per proc (MB-44; for tests and benches). */
  get cachedRoutes(): number {
    return this.#routes.size;
  }

  /**
   * The address book, ordered by key.
   * @returns `[key, address]` pairs.
   */
  bindings(): Array<[string, ChannelAddr]> {
    return [...this.#book.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Routes `envelope` (MB-10, MB-19). Never throws.
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    if (this.#closing) {
      bounce(envelope, { kind: "BrokenLink", message: "DialMailboxRouter closed" }, returnHandle);
      return;
    }
    const dest = envelope.dest;
    const procKey = procKeyOf(dest);
    let target: MailboxSender | undefined;
    if (this.#fine.has(procKey)) {
      const fine = this.#boundFine(dest);
      if (fine !== undefined) target = this.#client(fine, envelope, returnHandle);
      if (fine !== undefined && target === undefined) return; // dial failed, bounced
    }
    if (target === undefined) {
      target = this.#routes.get(procKey);
      if (target !== undefined && target !== this.#defaultSender && !this.#live.has(target)) {
        target = undefined; // MB-44: its client was evicted since
      }
      if (target === undefined) {
        const addr = this.#book.get(procKey) ?? this.#direct(procKey);
        if (addr === undefined) {
          target = this.#defaultSender;
        } else {
          target = this.#client(addr, envelope, returnHandle);
          if (target === undefined) return; // dial failed, bounced; not cached
        }
        if (this.#routes.size >= ROUTE_CACHE_LIMIT) this.#routes.clear();
        this.#routes.set(procKey, target);
      }
    }
    try {
      target.postUnchecked(envelope, returnHandle);
    } catch (error) {
      bounce(envelope, { kind: "BrokenLink", message: describe(error) }, returnHandle);
    }
  }

  /**
   * Waits until every cached client flushed (see `MailboxClient.flush`).
   * @returns Resolves when nothing posted so far is outstanding.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.flush?.()));
  }

  /**
   * Closes every client (outstanding envelopes are returned); later posts bounce.
   * Idempotent.
   * @returns Resolves when all links are closed.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      // MB-36: mark closed BEFORE closing any client: closing a link returns its
      // envelopes synchronously, and their bounces may come straight back here.
      let done!: () => void;
      this.#closing = new Promise<void>((resolve) => (done = resolve));
      this.#closeAll().finally(done);
    }
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    this.#live.clear();
    this.#routes.clear();
    const retired = [...this.#retired];
    // Evicted clients may still be flushing a dead link: close them now.
    await Promise.allSettled(
      [...clients, ...retired.map(([c]) => c)].map((c) => c.close().catch(() => {})),
    );
    await Promise.allSettled(retired.map(([, closing]) => closing));
  }

  /** Same as {@linkcode DialMailboxRouter.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Longest bound key covering `dest` (proc level included). */
  #bound(dest: string): ChannelAddr | undefined {
    return this.#boundFine(dest) ?? this.#book.get(procKeyOf(dest));
  }

  /** Port- or actor-level binding covering `dest`. */
  #boundFine(dest: string): ChannelAddr | undefined {
    const portKey = stripPortType(dest);
    return this.#book.get(portKey) ?? this.#book.get(actorKeyOf(portKey));
  }

  /** The direct address of a proc key, subject to the remote-only policy. */
  #direct(procKey: string): ChannelAddr | undefined {
    const comma = procKey.indexOf(",");
    if (comma < 0) return undefined;
    let addr: ChannelAddr;
    try {
      addr = ChannelAddr.parse(procKey.slice(0, comma));
    } catch {
      return undefined;
    }
    if (this.#remoteOnly && addr.transport !== "tcp" && addr.transport !== "tls") return undefined;
    return addr;
  }

  /** The cached client of `addr`, dialing it if needed; bounces on dial failure. */
  #client(
    addr: ChannelAddr,
    envelope: MessageEnvelope,
    returnHandle: ReturnHandle,
  ): MailboxSender | undefined {
    let client = this.#clients.get(addr.key);
    if (client !== undefined) return client;
    if (this.#closing !== undefined) {
      // MB-36: a closed router never dials (nothing would ever close the link).
      bounce(envelope, { kind: "BrokenLink", message: "DialMailboxRouter closed" }, returnHandle);
      return undefined;
    }
    try {
      client = this.#dialer(addr);
    } catch (error) {
      bounce(envelope, {
        kind: "Unroutable",
        message: `cannot dial destination: ${describe(error)}`,
      }, returnHandle);
      return undefined;
    }
    this.#clients.set(addr.key, client);
    this.#live.add(client);
    return client;
  }

  #retire(addrKey: string): void {
    const client = this.#clients.get(addrKey);
    if (client === undefined) return;
    this.#clients.delete(addrKey);
    this.#live.delete(client);
    const closing = (async () => {
      try {
        await client.flush?.();
      } finally {
        await client.close();
      }
    })().catch((error) => console.error(`hypermesh: closing link to ${addrKey}:`, error))
      .finally(() => this.#retired.delete(client));
    this.#retired.set(client, closing);
  }
}

function referenceKey(ref: Reference | string): string {
  return typeof ref === "string" ? parseReference(ref).key : ref.key;
}

/** `…[7<Type>]` → `…[7]`; other text unchanged. */
function stripPortType(dest: string): string {
  if (!dest.endsWith(">]")) return dest;
  const lt = dest.lastIndexOf("<");
  return lt < 0 ? dest : `${dest.slice(0, lt)}]`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
