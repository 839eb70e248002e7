/**
 * `HostAgent`: the actor `host_agent` on a host's `service` proc. It creates
 * and stops the host's user procs through the resource protocol, reports
 * their statuses, drains and shuts the host down, and installs client config
 * (reference §7).
 *
 * Modes: `Process` (procs are OS processes of a bootstrap proc manager) and
 * `Local` (in-process procs of a `LocalProcManager`, each with a v1 proc
 * agent). Creation runs concurrently with other messages: a `GetRankStatus`
 * for a proc still being created is answered once its creation settled, so a
 * caller fencing on rank statuses never sees a proc before it is routable.
 *
 * ## Invariants (HO-*)
 * - **HO-10 (create once).** A second `CreateOrUpdate` for a known name is
 *   ignored; a failed creation is recorded as `Failed(<error>)`.
 * - **HO-11 (floors).** Reported statuses are raised to `Stopping` while
 *   draining and to `Stopped` after shutdown (`clampMin`).
 * - **HO-12 (drain keeps the host).** `DrainHost` terminates user procs
 *   only; the host, its service proc and its socket stay usable.
 * - **HO-13 (shutdown acks after children).** `ShutdownHost` replies only
 *   after every child was terminated, then releases the host.
 *
 * @module
 */

import type { Context } from "../actor/instance.ts";
import type { PortRefData } from "../actor/port.ts";
import { config } from "../config/config.ts";
import { MESH_ORPHAN_TIMEOUT } from "../config/attrs.ts";
import type { Host } from "../host/host.ts";
import type {
  CreateOrUpdate,
  GetRankStatus,
  GetState,
  KeepaliveGetState,
  List,
  State,
  Stop,
  StreamState,
  WaitRankStatus,
} from "./resource/messages.ts";
import { StatusOverlay } from "./resource/overlay.ts";
import { compareStatus, isTerminated, Status } from "./resource/status.ts";
import {
  clampMaxInFlight,
  type DrainHost,
  type GetLocalProc,
  type HostInfo,
  type HostIntrospect,
  type ProcSpec,
  type ProcState,
  type SetClientConfig,
  type ShutdownHost,
} from "./_host_agent_protocol.ts";
import { HostAgentState } from "./_host_agent_state.ts";
import { localBackend, type ProcBackend, processBackend } from "./_host_agent_backend.ts";
import type { ProcId } from "../actor/reference.ts";

export * from "./_host_agent_protocol.ts";
export { HostAgentState, type HostAgentStateKind } from "./_host_agent_state.ts";
export type { BootstrapManagerLike } from "./_host_agent_backend.ts";

/** How the agent reaches its procs. */
export type HostAgentMode =
  // deno-lint-ignore no-explicit-any
  | { kind: "Process"; host: Host<any>; onShutdown?: () => void | Promise<void> }
  // deno-lint-ignore no-explicit-any
  | { kind: "Local"; host: Host<any>; onShutdown?: () => void | Promise<void> };

interface Waiter {
  minStatus: Status;
  reply: string;
}

interface ProcRecord {
  name: string;
  createRank: number;
  spec: ProcSpec;
  procId?: ProcId;
  agent: string | null;
  creating: boolean;
  status: Status;
  raw: ProcState["procStatus"];
  generation: number;
  deferred: string[];
  waiters: Waiter[];
  stopRequested?: string;
  unobserve?: () => void;
  expiresAt?: number;
}

function reply<M>(cx: Context, port: string, value: M): void {
  const ref: PortRefData<M> = { port, returnUndeliverable: false };
  try {
    cx.send(ref, value);
  } catch {
    // a malformed reply port only loses this reply
  }
}

/**
 * The host agent actor.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../channel/addr.ts";
 * import { Host } from "../host/host.ts";
 * import { LocalProcManager } from "../host/local_proc_manager.ts";
 * import { HOST_AGENT_NAME, HostAgent, type HostInfo } from "./host_agent.ts";
 *
 * const { host } = await Host.serve(
 *   new LocalProcManager((proc) => proc.spawn("proc_agent", { handlers: {} })),
 *   ChannelAddr.any("local"),
 * );
 * await using _h = host;
 * const agent = host.systemProc.spawn(HOST_AGENT_NAME, new HostAgent({ kind: "Local", host }));
 * using client = host.systemProc.instance("doc");
 * const { ref, receiver } = client.openOncePort<HostInfo>();
 * agent.ref.send(client, "Introspect", { reply: ref.port });
 * assertEquals((await receiver.recv()).state, "Detached");
 * ```
 */
export class HostAgent {
  readonly #backend: ProcBackend;
  readonly #mode: HostAgentMode;
  readonly #state = new HostAgentState();
  readonly #procs = new Map<string, ProcRecord>();
  readonly #unknownWaiters = new Map<string, Waiter[]>();
  #keepaliveArmed = false;
  #localProc: Promise<string | null> | undefined;

  /**
   * Creates a HostAgent.
   * @param mode The host and how its procs are spawned.
   */
  constructor(mode: HostAgentMode) {
    this.#mode = mode;
    this.#backend = mode.kind === "Process" ? processBackend(mode.host) : localBackend(mode.host);
  }

  /** The agent's lifecycle state. */
  get state(): HostAgentState {
    return this.#state;
  }

  /** Message handlers. */
  readonly handlers = {
    CreateOrUpdate: (cx: Context, msg: CreateOrUpdate<ProcSpec>): void | Promise<void> =>
      this.#create(cx, msg),
    GetRankStatus: (cx: Context, msg: GetRankStatus): void | Promise<void> =>
      this.#getRankStatus(cx, msg),
    WaitRankStatus: (cx: Context, msg: WaitRankStatus): void | Promise<void> =>
      this.#waitRankStatus(cx, msg),
    GetState: (cx: Context, msg: GetState): void | Promise<void> =>
      reply(cx, msg.reply, this.#stateOf(msg.name)),
    KeepaliveGetState: (cx: Context, msg: KeepaliveGetState): void | Promise<void> => {
      const rec = this.#procs.get(msg.getState.name);
      if (rec) rec.expiresAt = msg.expiresAfterMs;
      this.#armKeepalive(cx);
      reply(cx, msg.getState.reply, this.#stateOf(msg.getState.name));
    },
    StreamState: (cx: Context, msg: StreamState): void | Promise<void> =>
      reply(cx, msg.subscriber, this.#stateOf(msg.name)),
    List: (cx: Context, msg: List): void | Promise<void> =>
      reply(cx, msg.reply, [...this.#procs.keys()]),
    Stop: (cx: Context, msg: Stop): void | Promise<void> => this.#stop(cx, msg.name, msg.reason),
    DrainHost: (cx: Context, msg: DrainHost): void | Promise<void> => this.#drain(cx, msg),
    ShutdownHost: (cx: Context, msg: ShutdownHost): void | Promise<void> => this.#shutdown(cx, msg),
    SetClientConfig: (cx: Context, msg: SetClientConfig): void | Promise<void> => {
      config.setLayer("ClientOverride", msg.attrs ?? {});
      reply(cx, msg.done, null);
    },
    GetLocalProc: (cx: Context, msg: GetLocalProc): void | Promise<void> =>
      this.#getLocalProc(cx, msg),
    Introspect: (cx: Context, msg: HostIntrospect): void | Promise<void> =>
      reply(cx, msg.reply, this.#info()),
    CheckKeepalive: (cx: Context, _msg: Record<string, never>): void | Promise<void> =>
      this.#checkKeepalive(cx),
  };

  /** Stops observing proc statuses. */
  cleanup(): void {
    for (const rec of this.#procs.values()) rec.unobserve?.();
  }

  #reported(rec: ProcRecord): Status {
    return this.#state.floor(rec.status); // HO-11
  }

  #create(cx: Context, msg: CreateOrUpdate<ProcSpec>): void {
    if (this.#procs.has(msg.name)) return; // HO-10
    const rank = msg.rank ?? 0;
    const rec: ProcRecord = {
      name: msg.name,
      createRank: rank,
      spec: msg.spec,
      agent: null,
      creating: true,
      status: Status.Initializing,
      raw: null,
      generation: 1,
      deferred: [],
      waiters: this.#unknownWaiters.get(msg.name) ?? [],
    };
    this.#unknownWaiters.delete(msg.name);
    this.#procs.set(msg.name, rec);
    if (!this.#state.created()) {
      this.#settle(cx, rec, Status.failed(`host is ${this.#state.kind}`));
      return;
    }
    this.#backend.spawn(msg.name, rank, msg.spec).then(({ procId, agent }) => {
      rec.procId = procId;
      rec.agent = agent;
      rec.creating = false;
      this.#update(cx, rec, Status.Running); // spawn resolves once the proc is ready
      rec.unobserve = this.#backend.observe(procId, (o) => {
        rec.raw = o.raw;
        this.#update(cx, rec, o.status);
      });
      this.#flushDeferred(cx, rec);
      if (rec.stopRequested !== undefined) this.#backend.requestStop(cx, procId, rec.stopRequested);
    }, (error) => {
      const message = error instanceof Error ? error.message : String(error);
      this.#settle(cx, rec, Status.failed(message)); // HO-10
    });
  }

  #settle(cx: Context, rec: ProcRecord, status: Status): void {
    rec.creating = false;
    this.#update(cx, rec, status);
    this.#flushDeferred(cx, rec);
  }

  #update(cx: Context, rec: ProcRecord, status: Status): void {
    if (compareStatus(status, rec.status) !== 0) rec.generation++;
    rec.status = status;
    this.#checkWaiters(cx, rec);
  }

  #flushDeferred(cx: Context, rec: ProcRecord): void {
    for (const port of rec.deferred.splice(0)) this.#sendRankStatus(cx, rec, port);
    this.#checkWaiters(cx, rec);
  }

  #sendRankStatus(cx: Context, rec: ProcRecord, port: string): void {
    reply(cx, port, StatusOverlay.single(rec.createRank, this.#reported(rec)).toJSON());
  }

  #checkWaiters(cx: Context, rec: ProcRecord): void {
    if (rec.creating) return;
    const status = this.#reported(rec);
    rec.waiters = rec.waiters.filter((w) => {
      if (compareStatus(status, w.minStatus) < 0) return true;
      reply(cx, w.reply, StatusOverlay.single(rec.createRank, status).toJSON());
      return false;
    });
  }

  #getRankStatus(cx: Context, msg: GetRankStatus): void {
    const rec = this.#procs.get(msg.name);
    if (rec === undefined) reply(cx, msg.reply, new StatusOverlay().toJSON());
    else if (rec.creating) rec.deferred.push(msg.reply);
    else this.#sendRankStatus(cx, rec, msg.reply);
  }

  #waitRankStatus(cx: Context, msg: WaitRankStatus): void {
    const waiter = { minStatus: msg.minStatus, reply: msg.reply };
    const rec = this.#procs.get(msg.name);
    if (rec === undefined) {
      const list = this.#unknownWaiters.get(msg.name) ?? [];
      list.push(waiter);
      this.#unknownWaiters.set(msg.name, list);
      return;
    }
    rec.waiters.push(waiter);
    this.#checkWaiters(cx, rec);
  }

  #stateOf(name: string): State<ProcState> {
    const rec = this.#procs.get(name);
    if (rec === undefined) {
      return {
        kind: "State",
        name,
        status: Status.NotExist,
        state: null,
        generation: 0,
        timestamp: Date.now(),
      };
    }
    return {
      kind: "State",
      name,
      status: this.#reported(rec),
      state: {
        procId: rec.procId?.toString() ?? `${this.#backend.host.addr},${name}`,
        createRank: rec.createRank,
        meshAgent: rec.agent,
        bootstrapCommand: rec.spec?.bootstrapCommand ?? null,
        procStatus: rec.raw,
      },
      generation: rec.generation,
      timestamp: Date.now(),
    };
  }

  #stop(cx: Context, name: string, reason: string): void {
    const rec = this.#procs.get(name);
    if (rec === undefined || isTerminated(rec.status)) return;
    if (rec.creating || rec.procId === undefined) {
      rec.stopRequested = reason;
      return;
    }
    this.#backend.requestStop(cx, rec.procId, reason); // non-blocking
  }

  #drain(cx: Context, msg: DrainHost): void {
    const timeoutMs = msg.timeoutMs;
    const maxInFlight = clampMaxInFlight(msg.maxInFlight);
    if (msg.hostMeshId !== null && msg.hostMeshId !== undefined) {
      const mine = [...this.#procs.values()].filter((r) => r.spec?.hostMeshId === msg.hostMeshId);
      this.#terminateRecords(cx, mine, timeoutMs, maxInFlight, "host mesh stopped").then(() => {
        for (const rec of mine) this.#forget(rec);
        if (this.#procs.size === 0 && this.#state.beginDrain()) this.#state.endDrain();
        reply(cx, msg.ack, null);
      });
      return;
    }
    if (!this.#state.beginDrain()) {
      reply(cx, msg.ack, null);
      return;
    }
    const recs = [...this.#procs.values()];
    for (const rec of recs) this.#checkWaiters(cx, rec);
    this.#backend.terminateAll(cx, timeoutMs, maxInFlight, "host drained").catch(() => {})
      .then(async () => {
        await this.#settled(recs);
        for (const rec of recs) this.#forget(rec);
        this.#state.endDrain();
        reply(cx, msg.ack, null); // HO-12
      });
  }

  async #terminateRecords(
    cx: Context,
    recs: ProcRecord[],
    timeoutMs: number,
    maxInFlight: number,
    reason: string,
  ): Promise<void> {
    const queue = [...recs];
    const worker = async () => {
      for (let rec = queue.shift(); rec !== undefined; rec = queue.shift()) {
        if (rec.procId !== undefined && !isTerminated(rec.status)) {
          await this.#backend.terminate(cx, rec.procId, timeoutMs, reason).catch(() => {});
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxInFlight, queue.length) }, worker));
    await this.#settled(recs);
  }

  /** Waits (briefly) until the observers saw every record terminal. */
  async #settled(recs: ProcRecord[]): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if (recs.every((r) => r.procId === undefined || isTerminated(r.status))) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #forget(rec: ProcRecord): void {
    rec.unobserve?.();
    this.#procs.delete(rec.name);
  }

  async #shutdown(cx: Context, msg: ShutdownHost): Promise<void> {
    const maxInFlight = clampMaxInFlight(msg.maxInFlight);
    if (this.#state.kind === "Shutdown") {
      reply(cx, msg.ack, null);
      return;
    }
    const recs = [...this.#procs.values()];
    if (recs.length > 0 || this.#mode.kind === "Process") {
      await this.#backend.terminateAll(cx, msg.timeoutMs, maxInFlight, "host shutdown")
        .catch(() => {});
      await this.#settled(recs);
    }
    this.#state.shutdown();
    for (const rec of recs) this.#checkWaiters(cx, rec);
    reply(cx, msg.ack, null); // HO-13
    const release = this.#mode.onShutdown;
    // Release without awaiting it here: disposing the host destroys this actor,
    // which waits for this handler to return. (No timer: an owner awaiting the
    // same release must not leave one pending behind it.)
    queueMicrotask(() => {
      (async () => {
        if (release) await release();
        else await this.#mode.host[Symbol.asyncDispose]();
      })().catch((error) => console.error(`host_agent: release failed: ${error}`));
    });
  }

  async #getLocalProc(cx: Context, msg: GetLocalProc): Promise<void> {
    if (this.#mode.kind !== "Local") {
      reply(cx, msg.reply, null);
      return;
    }
    this.#localProc ??= this.#backend.spawn("local", 0, { clientConfigOverride: {} })
      .then((r) => r.agent, () => null);
    reply(cx, msg.reply, await this.#localProc);
  }

  #info(): HostInfo {
    return {
      addr: this.#backend.host.addr.toString(),
      mode: this.#backend.mode,
      state: this.#state.kind,
      procs: [...this.#procs.values()].map((rec) => ({
        name: rec.name,
        procId: rec.procId?.toString() ?? `${this.#backend.host.addr},${rec.name}`,
        createRank: rec.createRank,
        status: this.#reported(rec),
        agent: rec.agent,
      })),
    };
  }

  #armKeepalive(cx: Context): void {
    const period = config.get(MESH_ORPHAN_TIMEOUT);
    if (this.#keepaliveArmed || !(period > 0)) return;
    this.#keepaliveArmed = true;
    (cx as Context<HostAgent>).selfMessageWithDelay("CheckKeepalive", {}, period);
  }

  #checkKeepalive(cx: Context): void {
    this.#keepaliveArmed = false;
    const now = Date.now();
    for (const rec of this.#procs.values()) {
      if (rec.expiresAt !== undefined && rec.expiresAt < now && !isTerminated(rec.status)) {
        rec.expiresAt = undefined;
        this.#stop(cx, rec.name, "orphaned");
      }
    }
    if ([...this.#procs.values()].some((r) => r.expiresAt !== undefined)) this.#armKeepalive(cx);
  }
}
