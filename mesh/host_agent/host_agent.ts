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
 * ## Invariants (HA-*, OW-*, AW-*)
 * - **HA-10 (create once).** A second `CreateOrUpdate` for a known name is
 *   ignored; a failed creation is recorded as `Failed(<error>)`.
 * - HA-11 is defined in `_procs.ts`, HA-12 and HA-13 in `_teardown.ts`, where
 *   they are enforced.
 *
 * The proc records and status waiters live in `mesh/host_agent/_procs.ts`, the
 * orphan keepalive in `mesh/host_agent/_keepalive.ts`. A proc created with a
 * `supervisor` in its spec has its unrequested exit pushed to that port as
 * a `MeshFailure` (SV-11, SV-12 in `supervision/push.ts`).
 *
 * - **OW-7 (local proc everywhere).** `GetLocalProc` answers, in `Local`
 *   and `Process` mode alike, the agent of the host's `local` proc, booted
 *   once (in `Process` mode that proc lives in the host process,
 *   `Host.localProc`); `null` only when it cannot be booted.
 *
 * - **AW-9 (host config).** `GetConfig{reply}` answers the host process's
 *   effective config (`config.snapshot()`, every layer applied), unredacted:
 *   only an authenticated peer can ask, and the admin redacts secrets before
 *   serving it over HTTP (`/v1/config`).
 *
 * Retired: HO-10..HO-13 (now HA-10..HA-13: `HO-` is the host layer's).
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { config } from "../../config/config.ts";
import type { Host } from "../../host/host.ts";
import type {
  CreateOrUpdate,
  GetRankStatus,
  GetState,
  KeepaliveGetState,
  List,
  Stop,
  StreamState,
  WaitRankStatus,
} from "../resource/protocol.ts";
import { isTerminated, Status } from "../resource/status.ts";
import type {
  DrainHost,
  GetLocalProc,
  HostInfo,
  HostIntrospect,
  ProcSpec,
  SetClientConfig,
  ShutdownHost,
} from "./protocol.ts";
import { HostAgentState } from "./state.ts";
import {
  localBackend,
  type LocalModeManager,
  type ProcBackend,
  processBackend,
  type ProcessModeManager,
} from "./backend.ts";
import { type ProcRecord, ProcTable, reply } from "./_procs.ts";
import { drainHost, shutdownHost, type Teardown } from "./_teardown.ts";
import { OrphanKeepalive } from "./_keepalive.ts";
import { ProcMetricsSampler } from "./proc_metrics.ts";
import { isExit } from "../../bootstrap/proc_status.ts";
import { isSupervisorRef } from "../supervision/mesh_supervisor.ts";
import { procExitFailure, pushFailure } from "../supervision/push.ts";
import { ProcAgent } from "../proc_agent/proc_agent.ts";

export * from "./protocol.ts";
export { HostAgentState, type HostAgentStateKind } from "./state.ts";
export type { AgentHost, LocalModeManager, ProcessModeManager } from "./backend.ts";

/** How the agent reaches its procs. */
export type HostAgentMode =
  | { kind: "Process"; host: Host<ProcessModeManager>; onShutdown?: () => void | Promise<void> }
  | { kind: "Local"; host: Host<LocalModeManager>; onShutdown?: () => void | Promise<void> };

/**
 * The host agent actor.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../../channel/addr.ts";
 * import { Host } from "../../host/host.ts";
 * import { LocalProcManager } from "../../host/local_proc_manager.ts";
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
  readonly #procs: ProcTable;
  readonly #metrics = new ProcMetricsSampler();
  readonly #keepalive = new OrphanKeepalive();
  #localProc: Promise<string | null> | undefined;

  /**
   * Creates a HostAgent.
   * @param mode The host and how its procs are spawned.
   */
  constructor(mode: HostAgentMode) {
    this.#mode = mode;
    this.#backend = mode.kind === "Process" ? processBackend(mode.host) : localBackend(mode.host);
    this.#procs = new ProcTable(this.#state, this.#backend);
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
      this.#procs.getRankStatus(cx, msg),
    WaitRankStatus: (cx: Context, msg: WaitRankStatus): void | Promise<void> =>
      this.#procs.waitRankStatus(cx, msg),
    GetState: (cx: Context, msg: GetState): void | Promise<void> =>
      reply(cx, msg.reply, this.#procs.stateOf(msg.name)),
    KeepaliveGetState: (cx: Context, msg: KeepaliveGetState): void | Promise<void> =>
      this.#keepalive.getState(cx, msg, this.#procs),
    StreamState: (cx: Context, msg: StreamState): void | Promise<void> =>
      reply(cx, msg.subscriber, this.#procs.stateOf(msg.name)),
    List: (cx: Context, msg: List): void | Promise<void> =>
      reply(cx, msg.reply, this.#procs.names()),
    Stop: (cx: Context, msg: Stop): void | Promise<void> => this.#stop(cx, msg.name, msg.reason),
    DrainHost: (cx: Context, msg: DrainHost): void | Promise<void> =>
      drainHost(cx, msg, this.#teardown()),
    ShutdownHost: (cx: Context, msg: ShutdownHost): void | Promise<void> =>
      shutdownHost(cx, msg, this.#teardown()),
    SetClientConfig: (cx: Context, msg: SetClientConfig): void | Promise<void> => {
      config.setLayer("ClientOverride", msg.attrs ?? {});
      reply(cx, msg.done, null);
    },
    GetLocalProc: (cx: Context, msg: GetLocalProc): void | Promise<void> =>
      this.#getLocalProc(cx, msg),
    Introspect: async (cx: Context, msg: HostIntrospect): Promise<void> =>
      reply(cx, msg.reply, await this.#info()),
    // AW-9: the host process's effective config, for the admin's `/v1/config`.
    GetConfig: (cx: Context, msg: HostIntrospect): void | Promise<void> =>
      reply(cx, msg.reply, config.snapshot()),
    CheckKeepalive: (cx: Context, _msg: Record<string, never>): void | Promise<void> =>
      this.#keepalive.check(cx, this.#procs, (name, reason) => this.#stop(cx, name, reason)),
  };

  /** Stops observing proc statuses. */
  cleanup(): void {
    this.#procs.unobserveAll();
  }

  #teardown(): Teardown {
    return { mode: this.#mode, backend: this.#backend, state: this.#state, procs: this.#procs };
  }

  #create(cx: Context, msg: CreateOrUpdate<ProcSpec>): void {
    if (this.#procs.has(msg.name)) return; // HA-10
    const rank = msg.rank ?? 0;
    const procs = this.#procs;
    const rec = procs.add(msg.name, rank, msg.spec);
    if (!this.#state.created()) {
      procs.settle(cx, rec, Status.failed(`host is ${this.#state.kind}`));
      return;
    }
    this.#backend.spawn(msg.name, rank, msg.spec).then(({ procId, agent }) => {
      rec.procId = procId;
      rec.agent = agent;
      rec.creating = false;
      procs.update(cx, rec, Status.Running); // spawn resolves once the proc is ready
      rec.unobserve = this.#backend.observe(procId, (o) => {
        rec.raw = o.raw;
        if (o.raw?.kind === "Stopping") rec.exitExpected = true; // someone asked: SV-11
        procs.update(cx, rec, o.status);
        if (o.raw !== null && isExit(o.raw)) this.#supervise(cx, rec);
      });
      procs.flushDeferred(cx, rec);
      if (rec.stopRequested !== undefined) this.#backend.requestStop(cx, procId, rec.stopRequested);
    }, (error) => {
      const message = error instanceof Error ? error.message : String(error);
      procs.settle(cx, rec, Status.failed(message)); // HA-10
    });
  }

  /** Pushes an unrequested exit to the mesh's owner (SV-11, SV-12). */
  #supervise(cx: Context, rec: ProcRecord): void {
    const owner = rec.spec?.supervisor;
    if (rec.exitExpected || rec.raw === null || !isSupervisorRef(owner)) return;
    const state = this.#state.kind;
    if (state === "Draining" || state === "Shutdown") return; // SV-11
    rec.exitExpected = true; // at most one push per proc
    const procId = rec.procId?.toString() ?? rec.name;
    const failure = procExitFailure(owner, rec.createRank, procId, rec.raw, {
      reportCleanExit: rec.spec?.reportCleanExit === true, // RS-4
    });
    if (failure !== undefined) pushFailure(cx, owner, failure);
  }

  #stop(cx: Context, name: string, reason: string): void {
    const rec = this.#procs.get(name);
    if (rec !== undefined) rec.exitExpected = true; // SV-11
    if (rec === undefined || isTerminated(rec.status)) return;
    if (rec.creating || rec.procId === undefined) {
      rec.stopRequested = reason;
      return;
    }
    this.#backend.requestStop(cx, rec.procId, reason); // non-blocking
  }

  async #getLocalProc(cx: Context, msg: GetLocalProc): Promise<void> {
    if (this.#mode.kind !== "Local") {
      // OW-7: a Process-mode host's `local` proc lives in the host process.
      this.#localProc ??= Promise.resolve().then(() => {
        const proc = this.#mode.host.localProc;
        return ProcAgent.bootV1(proc, { orphanTimeoutMs: 0 }).bind().toString();
      }).catch(() => null);
      reply(cx, msg.reply, await this.#localProc);
      return;
    }
    this.#localProc ??= this.#backend.spawn("local", 0, { clientConfigOverride: {} })
      .then((r) => r.agent, () => null);
    reply(cx, msg.reply, await this.#localProc);
  }

  async #info(): Promise<HostInfo> {
    const infos = this.#procs.infos();
    const pids = infos.flatMap(({ pid }) => pid === undefined ? [] : [pid]);
    const metrics = await this.#metrics.readMany(pids); // AW-1: one pass over /proc
    this.#metrics.retain(new Set(pids));
    const procs = infos.map(({ pid, ...info }) => {
      const m = pid === undefined ? undefined : metrics.get(pid);
      return m === undefined ? info : { ...info, metrics: m };
    });
    return {
      addr: this.#backend.host.addr.toString(),
      mode: this.#backend.mode,
      state: this.#state.kind,
      procs,
    };
  }
}
