/**
 * `LocalProcDialer`: the forwarder of a bootstrapped child proc (reference
 * §3.3). Sibling user procs on the same host are dialed directly on their
 * unix sockets in the host's socket directory; all other traffic goes through
 * the host's backend address.
 *
 * A destination proc is dialed directly when its address equals this proc's
 * host address and its name passes the `isDirectDialable` predicate. The
 * default, {@linkcode isSuffixedProcName}, accepts the names spawned procs get
 * — a mesh `Name::Suffixed` text `base-<uuid>` or our `<mesh>-<rank>` — and
 * rejects reserved names such as `service` and `local`, which live in the host
 * process and are reached through the backend. The socket of proc `name` is
 * `unix:<socketDir>/<name>`; a socket file that does not exist when the proc
 * is first dialed makes that dial fail, the failure is cached (until
 * {@linkcode LocalProcDialer.evict}) and envelopes for that proc bounce as
 * `BrokenLink`.
 *
 * ## Invariants (MB-*)
 * - **MB-22 (sibling direct).** An envelope for a direct-dialable sibling proc
 *   never goes through the backend; everything else always does.
 * - **MB-23 (cached dial).** Each sibling is dialed at most once until
 *   evicted; a failed dial is remembered and bounces every envelope for it
 *   with `BrokenLink`.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import {
  bounce,
  type MailboxSender,
  type MessageEnvelope,
  type ReturnHandle,
} from "../envelope.ts";
import { MailboxClient } from "./mailbox_client.ts";
import type { DialedSender, MailboxDialer } from "./dial_router.ts";
import { procKeyOf } from "../reference.ts";

const DECISION_CACHE_LIMIT = 65_536;
const SUFFIXED = /^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$/;

/**
 * The default direct-dial predicate: `base-suffix`, where `base` is an
 * identifier (letters, digits, `_`) and `suffix` is non-empty.
 * @param name A proc name.
 * @returns Whether it names a spawned (suffixed) user proc.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isSuffixedProcName } from "./local_proc_dialer.ts";
 * assert(isSuffixedProcName("trainers-2MuAHeDjLCEd"));
 * assert(isSuffixedProcName("workers-3"));
 * assert(!isSuffixedProcName("service"));
 * assert(!isSuffixedProcName("-x"));
 * ```
 */
export function isSuffixedProcName(name: string): boolean {
  return SUFFIXED.test(name);
}

/** Options of {@linkcode LocalProcDialer}. */
export interface LocalProcDialerOptions {
  /** This proc's address (its host's address: `procId.addr`). */
  localAddr: ChannelAddr | string;
  /** Directory holding sibling procs' sockets (`<socketDir>/<name>`). */
  socketDir: string;
  /** Where all other traffic goes (a `MailboxClient` on the host backend address). Owned: closed by `close()` when it has a `close` method. */
  backend: MailboxSender;
  /** Which sibling names are dialed directly (default {@linkcode isSuffixedProcName}). */
  isDirectDialable?: (procName: string) => boolean;
  /** Opens sibling links (default `MailboxClient.dial`). */
  dialer?: MailboxDialer;
}

type Link = { ok: true; client: DialedSender } | { ok: false; error: string };

/**
 * Forwarder of a bootstrapped child proc.
 *
 * @tags allow-read
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createEnvelope, type MessageEnvelope } from "../envelope.ts";
 * import { LocalProcDialer } from "./local_proc_dialer.ts";
 *
 * const viaBackend: string[] = [];
 * await using dialer = new LocalProcDialer({
 *   localAddr: "unix:@host-backend",
 *   socketDir: "/nonexistent-hypermesh-dir",
 *   backend: { postUnchecked: (e: MessageEnvelope) => viaBackend.push(e.dest) },
 * });
 * const returned: MessageEnvelope[] = [];
 * const post = (dest: string) =>
 *   dialer.postUnchecked(createEnvelope({ sender: "unix:@host-backend,a-1,x[0]", dest, type: "T", data: 0 }), (e) => returned.push(e));
 * post("unix:@host-backend,service,host_agent[0][1]"); // reserved name: via the host
 * post("tcp:10.0.0.2:4000,b-1,y[0][1]"); // another host: via the host
 * post("unix:@host-backend,b-1,y[0][1]"); // sibling without a socket: bounces
 * assertEquals(viaBackend.length, 2);
 * assertEquals(returned[0].errors[0].kind, "BrokenLink");
 * ```
 */
export class LocalProcDialer implements MailboxSender, AsyncDisposable {
  readonly #localAddrKey: string;
  readonly #socketDir: string;
  readonly #backend: MailboxSender;
  readonly #isDirect: (procName: string) => boolean;
  readonly #dialer: MailboxDialer;
  /** Proc key → direct link (or cached failure); `null` = via the backend. */
  readonly #links = new Map<string, Link | null>();
  #closing: Promise<void> | undefined;

  /**
   * Creates the forwarder (dials nothing yet).
   * @param options Addresses, backend and policy.
   * @throws {import("../../channel/addr.ts").ChannelAddrParseError} For unparsable `localAddr` text.
   * @throws {TypeError} For an empty `socketDir`.
   */
  constructor(options: LocalProcDialerOptions) {
    const local = typeof options.localAddr === "string"
      ? ChannelAddr.parse(options.localAddr)
      : options.localAddr;
    if (options.socketDir === "") throw new TypeError(`Invalid socketDir: ""`);
    this.#localAddrKey = local.key;
    this.#socketDir = options.socketDir.replace(/\/+$/, "") || "/";
    this.#backend = options.backend;
    this.#isDirect = options.isDirectDialable ?? isSuffixedProcName;
    this.#dialer = options.dialer ?? ((addr) => MailboxClient.dial(addr));
  }

  /**
   * The socket address of sibling proc `name`.
   * @param name A proc name.
   * @returns `unix:<socketDir>/<name>`.
   */
  socketAddrOf(name: string): ChannelAddr {
    return ChannelAddr.unix(`${this.#socketDir === "/" ? "" : this.#socketDir}/${name}`);
  }

  /**
   * Routes `envelope` directly to a sibling or via the backend (MB-22).
   * @param envelope The envelope.
   * @param returnHandle Where a bounce goes.
   */
  postUnchecked(envelope: MessageEnvelope, returnHandle: ReturnHandle): void {
    if (this.#closing) {
      bounce(envelope, { kind: "BrokenLink", message: "LocalProcDialer closed" }, returnHandle);
      return;
    }
    const procKey = procKeyOf(envelope.dest);
    let link = this.#links.get(procKey);
    if (link === undefined) {
      link = this.#open(procKey);
      // MB-23: links and failures are always cached; backend decisions only while small.
      if (link !== null || this.#links.size < DECISION_CACHE_LIMIT) this.#links.set(procKey, link);
    }
    if (link === null) {
      this.#backend.postUnchecked(envelope, returnHandle); // MB-22
    } else if (link.ok) {
      link.client.postUnchecked(envelope, returnHandle);
    } else {
      bounce(envelope, { kind: "BrokenLink", message: link.error }, returnHandle); // MB-23
    }
  }

  /**
   * Forgets the cached link (or dial failure) of sibling proc `name`, closing
   * the link, so the next envelope dials again.
   * @param name The sibling proc's name.
   * @returns Whether anything was cached.
   */
  evict(name: string): boolean {
    const procKey = `${this.#localAddrKey},${name}`;
    const link = this.#links.get(procKey);
    this.#links.delete(procKey);
    if (link?.ok) link.client.close().catch(() => {});
    return link !== undefined && link !== null;
  }

  /**
   * Flushes every sibling link and the backend.
   * @returns Resolves when all flushed.
   */
  async flush(): Promise<void> {
    await Promise.all([this.#backend, ...this.#clients()].map((s) => s.flush?.()));
  }

  /**
   * Closes sibling links and the backend (when it can be closed). Idempotent.
   * @returns Resolves when all are closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const clients = this.#clients();
      this.#links.clear();
      const backend = this.#backend as Partial<DialedSender>;
      await Promise.allSettled([
        ...clients.map((c) => c.close()),
        ...(typeof backend.close === "function" ? [backend.close()] : []),
      ]);
    })();
    return this.#closing;
  }

  /** Same as {@linkcode LocalProcDialer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #clients(): DialedSender[] {
    const out: DialedSender[] = [];
    for (const link of this.#links.values()) if (link?.ok) out.push(link.client);
    return out;
  }

  #open(procKey: string): Link | null {
    const comma = procKey.indexOf(",");
    if (comma < 0 || procKey.slice(0, comma) !== this.#localAddrKey) return null;
    const name = procKey.slice(comma + 1);
    if (!this.#isDirect(name)) return null;
    let addr: ChannelAddr;
    try {
      addr = this.socketAddrOf(name);
      Deno.statSync(addr.path!);
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound
        ? "socket file not found"
        : error instanceof Error
        ? error.message
        : String(error);
      return {
        ok: false,
        error: `cannot dial local proc ${procKey} at ${this.#socketDir}/${name}: ${why}`,
      };
    }
    try {
      return { ok: true, client: this.#dialer(addr) };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return { ok: false, error: `cannot dial local proc ${procKey} at ${addr}: ${why}` };
    }
  }
}
