/**
 * `HostWatch`: the owner's watch over the hosts its meshes live on. One
 * watch per owner proc (created on first use by `HostMesh.attach`,
 * `HostMeshRef.spawn` and `HostMesh.spawn`; nothing for the user to do)
 * pings the host agent of every watched host every
 * `HYPERMESH_HOST_HEARTBEAT_INTERVAL` (a `GetState` of a name no proc has:
 * the agent answers from memory) from a client instance of its own, so
 * that the pings' bounces come back to the watch and nowhere else.
 *
 * A host is declared lost ({@linkcode import("./host_lost.ts").markHostLost},
 * which calls every host-lost listener once) when:
 * - its link breaks: a ping comes back undeliverable — the channel layer
 *   returns it as soon as a reconnect is refused (CH-9), i.e. on the next
 *   ping after the host process died (HW-3);
 * - it goes silent: no answer for `HYPERMESH_HOST_HEARTBEAT_TIMEOUT` since
 *   the last one — a machine that vanished without a RST (HW-2);
 * - the host process this client started exited (`HostMesh.process`,
 *   reported by the mesh through {@linkcode reportHostExit}).
 *
 * ## Invariants (HW-*)
 * - **HW-2 (silent host within the deadline).** A watched host that
 *   answered once and then stays silent is declared lost within the
 *   heartbeat timeout (plus one interval when this process itself stalled
 *   longer than an interval, so that a stalled owner does not blame its
 *   hosts).
 * - **HW-3 (broken link at once).** A ping returned undeliverable declares
 *   its host lost when it comes back (within one interval of a host
 *   process's death on a reachable machine).
 * - **HW-5 (no false positives).** A host that keeps answering is never
 *   declared lost; a host is unwatched before its owner shuts it down on
 *   purpose, and a host that has not answered yet (still starting) is not
 *   held to the deadline.
 * - **HW-6 (never keeps the process alive).** The watch holds only unref'd
 *   timers and ports of its own instance; it closes with its proc, and
 *   unwatching a host clears its timer at once.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import type { Context } from "../../actor/types.ts";
import type { ClientInstance } from "../../actor/types.ts";
import { Proc } from "../../actor/proc.ts";
import { ProcId } from "../../actor/reference.ts";
import { ActorRef, type PortRef } from "../../actor/port.ts";
import type { PortReceiver } from "../../actor/mailbox.ts";
import { DialMailboxRouter, isReferencePrefix } from "../../actor/transport/dial_router.ts";
import { config } from "../../config/config.ts";
import { HOST_HEARTBEAT_INTERVAL, HOST_HEARTBEAT_TIMEOUT } from "../../config/attrs.ts";
import { SERVICE_PROC_NAME } from "../../host/host.ts";
import type { ProcExitResult } from "../../launcher/types.ts";
import { HOST_AGENT_NAME } from "../host_agent/protocol.ts";
import { hostKey, type HostLike, hostLostError, markHostLost } from "./host_lost.ts";

/** The `GetState` name the heartbeat asks for (no proc is ever called that). */
const PING_NAME = "__host_watch__";

/** Options of a {@linkcode HostWatch}. */
export interface HostWatchOptions {
  /** Ping period, ms (default `HYPERMESH_HOST_HEARTBEAT_INTERVAL`; 0: link breaks only). */
  intervalMs?: number;
  /** Silence that declares a host lost, ms (default `HYPERMESH_HOST_HEARTBEAT_TIMEOUT`). */
  timeoutMs?: number;
}

interface Beat {
  readonly key: string;
  readonly addr: ChannelAddr;
  readonly agentKey: string;
  readonly agent: ActorRef;
  readonly port: PortRef<unknown>;
  readonly receiver: PortReceiver<unknown>;
  /** performance.now() of the last answer; undefined before the first (HW-5). */
  lastHeard: number | undefined;
  nextPing: number;
  /** Not lost before this (granted after a stall of this process, HW-2). */
  graceUntil: number;
  /** When the armed timer is due. */
  due: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const byProc = new WeakMap<Proc, HostWatch>();
const live = new Set<HostWatch>();
let instances = 0;

function hostAddr(host: HostLike): ChannelAddr {
  if (typeof host === "string") return ChannelAddr.parse(host);
  return host instanceof ChannelAddr ? host : host.addr;
}

/**
 * Watches hosts for their owner (HW-2, HW-3, HW-5, HW-6).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../../actor/proc.ts";
 * import { HostMesh } from "../host_mesh/host_mesh.ts";
 * import { HostWatch } from "./host_watch.ts";
 *
 * await using proc = await Proc.direct("local:0", "doc");
 * using cx = proc.instance("client");
 * const hosts = await HostMesh.localInProcess({ transport: "local" });
 * const watch = HostWatch.of(cx)!;
 * watch.watch(hosts.hosts);
 * assertEquals(watch.watching, [hosts.hosts[0].toString()]);
 * await hosts.shutdown(cx); // unwatches first: a host shut down on purpose is not lost
 * assertEquals(watch.watching, []);
 * ```
 */
export class HostWatch implements AsyncDisposable {
  readonly #cx: ClientInstance;
  readonly #beats = new Map<string, Beat>();
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #bounces: Promise<void>;
  #closed = false;

  /**
   * A watch for `proc` (closed when the proc is disposed).
   * @param proc The owner's proc.
   * @param options Period and deadline.
   * @throws {import("../../actor/proc.ts").ProcDestroyedError} For a disposed proc.
   */
  constructor(proc: Proc, options: HostWatchOptions = {}) {
    this.#intervalMs = options.intervalMs ?? config.get(HOST_HEARTBEAT_INTERVAL);
    this.#timeoutMs = options.timeoutMs ?? config.get(HOST_HEARTBEAT_TIMEOUT);
    this.#cx = proc.instance(`host_watch_${instances++}`);
    proc.addDisposer(() => this.close()); // HW-6
    this.#bounces = this.#pumpBounces(proc);
    live.add(this);
  }

  /**
   * The watch of `cx`'s proc, created on first use.
   * @param cx The owner.
   * @returns The watch, or `undefined` when the proc is already disposed.
   */
  static of(cx: Context): HostWatch | undefined {
    const proc = Proc.of(cx);
    const existing = byProc.get(proc);
    if (existing !== undefined && !existing.#closed) return existing;
    let watch: HostWatch;
    try {
      watch = new HostWatch(proc);
    } catch {
      return undefined; // a destroyed proc has nothing to watch for
    }
    byProc.set(proc, watch);
    return watch;
  }

  /** The watched hosts' address texts, in the order they were added. */
  get watching(): string[] {
    return [...this.#beats.values()].map((b) => b.addr.toString());
  }

  /** The watched hosts that answered a heartbeat at least once (address texts). */
  get answered(): string[] {
    return [...this.#beats.values()].filter((b) => b.lastHeard !== undefined)
      .map((b) => b.addr.toString());
  }

  /** Whether the watch was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts watching `hosts` (idempotent; hosts already lost are skipped).
   * @param hosts The hosts.
   */
  watch(hosts: Iterable<HostLike>): void {
    if (this.#closed) return;
    for (const host of hosts) {
      const key = hostKey(host);
      if (this.#beats.has(key) || hostLostError(host) !== undefined) continue;
      const addr = hostAddr(host);
      const agentId = new ProcId(addr, SERVICE_PROC_NAME).actor(HOST_AGENT_NAME);
      const { ref, receiver } = this.#cx.openPort<unknown>();
      const now = performance.now();
      const beat: Beat = {
        key,
        addr,
        agentKey: agentId.key,
        agent: new ActorRef(agentId),
        port: ref,
        receiver,
        lastHeard: undefined,
        nextPing: now,
        graceUntil: 0,
        due: now,
        timer: undefined,
      };
      this.#beats.set(key, beat);
      this.#pumpAnswers(beat);
      if (this.#intervalMs > 0) this.#tick(beat);
    }
  }

  /**
   * Stops watching `hosts` (e.g. before shutting them down on purpose, HW-5).
   * @param hosts The hosts.
   */
  unwatch(hosts: Iterable<HostLike>): void {
    for (const host of hosts) {
      const beat = this.#beats.get(hostKey(host));
      if (beat !== undefined) this.#drop(beat);
    }
  }

  /**
   * Stops every heartbeat and releases the watch's instance. Idempotent.
   * @returns When the watch's loops ended.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      live.delete(this);
      for (const beat of [...this.#beats.values()]) this.#drop(beat);
      this.#cx[Symbol.dispose](); // ends the bounce pump
    }
    await this.#bounces;
  }

  /** Same as {@linkcode HostWatch.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #drop(beat: Beat): void {
    if (this.#beats.get(beat.key) !== beat) return;
    this.#beats.delete(beat.key);
    if (beat.timer !== undefined) clearTimeout(beat.timer);
    beat.timer = undefined;
    beat.receiver.close();
  }

  #lost(beat: Beat, reason: string, proc?: Proc): void {
    if (this.#closed || this.#beats.get(beat.key) !== beat) return;
    this.#drop(beat);
    markHostLost(beat.addr, reason);
    // A later attach to a new host at the same address must dial afresh.
    const forwarder = (proc ?? Proc.of(this.#cx)).forwarder;
    if (forwarder instanceof DialMailboxRouter) forwarder.evict(beat.addr);
  }

  #tick(beat: Beat): void {
    beat.timer = undefined;
    if (this.#closed || this.#beats.get(beat.key) !== beat) return;
    const now = performance.now();
    const late = now - beat.due;
    if (beat.lastHeard !== undefined) {
      const deadline = Math.max(beat.lastHeard + this.#timeoutMs, beat.graceUntil);
      if (now >= deadline) {
        if (late <= this.#intervalMs) {
          const silent = Math.round(now - beat.lastHeard);
          this.#lost(beat, `no heartbeat answer for ${silent} ms`); // HW-2
          return;
        }
        // This process stalled: answers may wait unread in the socket (HW-2).
        beat.graceUntil = now + this.#intervalMs;
      }
    }
    if (now >= beat.nextPing) {
      this.#ping(beat);
      beat.nextPing = now + this.#intervalMs;
    }
    const deadline = beat.lastHeard === undefined
      ? Infinity
      : Math.max(beat.lastHeard + this.#timeoutMs, beat.graceUntil);
    beat.due = Math.min(beat.nextPing, deadline);
    const timer = setTimeout(() => this.#tick(beat), Math.max(0, beat.due - now));
    Deno.unrefTimer(timer as unknown as number); // HW-6
    beat.timer = timer;
  }

  #ping(beat: Beat): void {
    try {
      // Undeliverable returns on: a refused link bounces it to this watch (HW-3).
      beat.agent.port("GetState" as never).send(this.#cx, {
        kind: "GetState",
        name: PING_NAME,
        reply: beat.port.port,
      } as never);
    } catch (error) {
      this.#lost(beat, `cannot send a heartbeat: ${(error as Error)?.message ?? error}`);
    }
  }

  async #pumpAnswers(beat: Beat): Promise<void> {
    try {
      for await (const _ of beat.receiver) beat.lastHeard = performance.now();
    } catch {
      // the instance was stopped with its proc
    }
  }

  async #pumpBounces(proc: Proc): Promise<void> {
    try {
      for await (const envelope of this.#cx.undeliverables) {
        const beat = [...this.#beats.values()].find((b) =>
          isReferencePrefix(b.agentKey, envelope.dest.replace(/<[^>]*>\]$/, "]"))
        );
        if (beat === undefined) continue;
        const last = envelope.errors.at(-1);
        const detail = last === undefined
          ? "undeliverable"
          : "message" in last
          ? `${last.kind}: ${last.message}`
          : last.kind;
        if (/DialMailboxRouter closed|client closed/.test(detail)) continue; // our own teardown
        this.#lost(beat, `link broken (${detail})`, proc); // HW-3
      }
    } catch {
      // the instance was stopped with its proc
    }
  }
}

/**
 * Watches `hosts` from `cx`'s proc (the watch is created on first use).
 * @param cx The owner.
 * @param hosts The hosts its meshes live on.
 */
export function watchHosts(cx: Context, hosts: Iterable<HostLike>): void {
  HostWatch.of(cx)?.watch(hosts);
}

/**
 * Stops watching `hosts` in every watch of this process (their owner shuts
 * them down on purpose, HW-5).
 * @param hosts The hosts.
 */
export function unwatchHosts(hosts: Iterable<HostLike>): void {
  const list = [...hosts];
  for (const watch of live) watch.unwatch(list);
}

/**
 * Reports that the host process serving `host`, started by this process,
 * exited: the host is lost unless its owner is shutting it down.
 * @param host The host.
 * @param result The process's exit, as its launcher reported it.
 */
export function reportHostExit(host: HostLike, result: ProcExitResult): void {
  const { kind } = result;
  const how = kind.kind === "Exited"
    ? `code ${kind.code}`
    : kind.kind === "Signaled"
    ? `signal ${kind.signal}`
    : kind.reason;
  unwatchHosts([host]);
  markHostLost(host, `host process exited (${how})`);
}
