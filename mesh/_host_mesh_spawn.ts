/**
 * Folder-private: the resource-protocol operations of a host mesh reference
 * — spawning a proc mesh over its hosts, stopping it, querying proc states,
 * and pushing client config (HM-1..HM-4).
 *
 * @module
 */

import type { Context } from "../actor/instance.ts";
import type { ActorRef, PortRef } from "../actor/port.ts";
import type { ProcId } from "../actor/reference.ts";
import { config, type ConfigSnapshot } from "../config/config.ts";
import {
  MESH_ATTACH_CONFIG_TIMEOUT,
  MESH_GET_PROC_STATE_MAX_IDLE,
  MESH_PROC_SPAWN_MAX_IDLE,
  MESH_PROC_STOP_MAX_IDLE,
} from "../config/attrs.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import { ProcBind, type ProcBindInit } from "../launcher/proc_bind.ts";
import type { Extent, Point } from "./extent.ts";
import { Region } from "./region.ts";
import type { State } from "./resource/messages.ts";
import { RankedValues } from "./resource/ranked_values.ts";
import {
  formatStatus,
  isNotExist,
  isTerminated,
  isTerminating,
  Status,
  statusKey,
} from "./resource/status.ts";
import { type StatusMesh, ValueMesh } from "./resource/value_mesh.ts";
import { StatusOverlay, type StatusOverlayJSON } from "./resource/overlay.ts";
import {
  OverlayAccumulator,
  RankStatusWaitError,
  waitRankStatus,
} from "./resource/rank_status_wait.ts";
import { ProcMesh } from "./proc_mesh.ts";
import { PROC_AGENT_ACTOR_NAME } from "./agent_protocol.ts";
import type { ProcSpec, ProcState } from "./_host_agent_protocol.ts";
import type { HostAgent } from "./host_agent.ts";
import {
  ConfigPushError,
  type ConfigPushFailure,
  MeshConfigurationError,
  ProcCreationError,
  ProcMeshStopError,
  ProcNotExistError,
  ProcSpawnError,
} from "./_host_mesh_errors.ts";
import { displayLabel, instanceId, stripLabel } from "./_host_mesh_id.ts";
import { type HostMeshRef, HostRef } from "./host_mesh_ref.ts";

/** Options of `HostMeshRef.spawn`. */
export interface HostSpawnOptions {
  /** One binding per per-host rank (length must equal `perHost.numRanks`). */
  procBind?: readonly (ProcBind | ProcBindInit)[];
  /**
   * Per-proc bootstrap command, called with the proc's point over
   * `hostExtent ⊕ perHost`; takes precedence over the mesh's command.
   */
  perRankBootstrap?: (point: Point) => BootstrapCommand;
  /** Idle bound while procs come up, ms (default `HYPERACTOR_MESH_PROC_SPAWN_MAX_IDLE`). */
  maxIdleMs?: number;
  /** Cancellation. */
  signal?: AbortSignal;
  /**
   * Called with every snapshot of the per-rank statuses while the procs come
   * up (for progress displays).
   */
  onProgress?: (statuses: StatusMesh) => void;
}

const STATUS_OPTS = { keyOf: statusKey, format: formatStatus };

function rankedStatuses(mesh: StatusMesh, fallback: Status): RankedValues<Status> {
  const merged = RankedValues.fromMesh(mesh, fallback, isNotExist, mesh.numRanks);
  return new RankedValues(merged.intervals(), STATUS_OPTS);
}

/** Outcome of {@linkcode fence}. */
interface FenceResult {
  statuses: StatusMesh;
  error?: RankStatusWaitError;
}

/**
 * Sends one request per rank naming an overlay accumulator port and folds
 * the replies until every rank reported or `maxIdleMs` of silence; silent
 * ranks become `Timeout(elapsed)`. Snapshots are reported to `onSnapshot`.
 */
async function fence(
  cx: Context,
  region: Region,
  request: (reply: string, rank: number) => void,
  options: {
    maxIdleMs: number;
    signal?: AbortSignal;
    onSnapshot?: (statuses: StatusMesh) => void;
  },
): Promise<FenceResult> {
  const { ref, receiver } = cx.openPort<StatusOverlayJSON>();
  const acc = new OverlayAccumulator(ValueMesh.fromSingle(region, Status.NotExist), {
    maxUpdateIntervalMs: 50,
  });
  const pump = (async () => {
    for await (const json of receiver) {
      try {
        acc.push(StatusOverlay.fromJSON(json));
      } catch (error) {
        console.warn(`hypermesh: ignoring bad status overlay: ${(error as Error).message}`);
      }
    }
  })();
  const onSnapshot = options.onSnapshot;
  async function* observed(): AsyncGenerator<StatusMesh> {
    for await (const snapshot of acc.snapshots({ signal: options.signal })) {
      onSnapshot?.(snapshot);
      yield snapshot;
    }
  }
  const start = performance.now();
  try {
    for (let rank = 0; rank < region.numRanks; rank++) request(ref.port, rank);
    try {
      const statuses = await waitRankStatus(observed(), {
        numRanks: region.numRanks,
        maxIdleMs: options.maxIdleMs,
        region,
        signal: options.signal,
      });
      return { statuses };
    } catch (error) {
      if (!(error instanceof RankStatusWaitError)) throw error;
      const timeout = Status.timeout(Math.max(0, performance.now() - start));
      const statuses = error.latest.merge(
        error.silentRanks.map((r) => ({ start: r, end: r + 1, value: timeout })),
      );
      return { statuses, error };
    }
  } finally {
    receiver.close();
    acc.close();
    await pump;
  }
}

// deno-lint-ignore no-explicit-any
function quietPort(agent: ActorRef<HostAgent>, type: string): PortRef<any> {
  // deno-lint-ignore no-explicit-any
  return (agent.port(type as any) as PortRef<unknown>).withReturnUndeliverable(false);
}

/**
 * Spawns a proc mesh of `perHost` procs on every host (the seed's
 * `spawn_inner_inner`).
 * @param mesh The hosts.
 * @param cx The caller.
 * @param name The proc mesh name.
 * @param perHost Per-host extent.
 * @param options Binding, per-rank bootstrap, idle bound.
 * @returns The proc mesh.
 */
export async function spawnProcMesh(
  mesh: HostMeshRef,
  cx: Context,
  name: string,
  perHost: Extent,
  options: HostSpawnOptions = {},
): Promise<ProcMesh> {
  const action = `spawn proc mesh "${name}"`;
  const hostLabels = new Set(mesh.region.labels);
  const overlap = perHost.labels.filter((l) => hostLabels.has(l));
  if (overlap.length > 0) {
    throw new MeshConfigurationError(
      action,
      `per_host dims overlap with existing dims (${overlap.join(", ")})`,
    );
  }
  const n = perHost.numRanks;
  if (options.procBind !== undefined && options.procBind.length !== n) {
    throw new MeshConfigurationError(
      action,
      `proc_bind length ${options.procBind.length} does not match per_host extent (${n})`,
    );
  }
  let extent: Extent;
  try {
    extent = mesh.region.extent().concat(perHost);
  } catch (cause) {
    throw new MeshConfigurationError(action, String(cause), { cause });
  }
  const region = Region.fromExtent(extent);
  const procMeshId = instanceId(name);
  const label = displayLabel(procMeshId);
  const clientConfigOverride = config.propagatableSnapshot();

  // Everything that can fail is computed before any message is sent.
  const plan = Array.from({ length: region.numRanks }, (_, createRank) => {
    const hostRank = Math.floor(createRank / Math.max(n, 1));
    const perHostRank = createRank % Math.max(n, 1);
    const host = mesh.hosts[hostRank];
    const procName = instanceId(stripLabel(`${label}-${perHostRank}`));
    let bootstrapCommand = mesh.bootstrapCommand;
    if (options.perRankBootstrap !== undefined) {
      try {
        bootstrapCommand = options.perRankBootstrap(extent.pointOfRank(createRank));
      } catch (cause) {
        throw new MeshConfigurationError(action, `per-rank bootstrap failed: ${cause}`, {
          cause,
        });
      }
    }
    const bind = options.procBind?.[perHostRank];
    const spec: ProcSpec = {
      clientConfigOverride,
      procBind: bind === undefined ? null : new ProcBind(bind as ProcBindInit).toJSON(),
      bootstrapCommand: bootstrapCommand?.toJSON() ?? null,
      hostMeshId: mesh.id,
    };
    return { createRank, hostRank, host, procName, spec };
  });

  const maxIdleMs = options.maxIdleMs ?? config.get(MESH_PROC_SPAWN_MAX_IDLE);
  const start = performance.now();
  const { statuses, error } = await fence(cx, region, (reply, rank) => {
    const p = plan[rank];
    const agent = p.host.agent;
    quietPort(agent, "CreateOrUpdate").send(cx, {
      kind: "CreateOrUpdate",
      name: p.procName,
      rank: p.createRank,
      spec: p.spec,
    });
    quietPort(agent, "GetRankStatus").send(cx, {
      kind: "GetRankStatus",
      name: p.procName,
      reply,
    });
  }, { maxIdleMs, signal: options.signal, onSnapshot: options.onProgress });

  if (error !== undefined) {
    // Silent ranks already carry Timeout(elapsed).
    const elapsed = Status.timeout(performance.now() - start);
    throw new ProcSpawnError(
      rankedStatuses(statuses, elapsed),
    );
  }
  const failed = statuses.values().findIndex(isTerminating);
  if (failed >= 0) {
    const p = plan[failed];
    const state = await getState(cx, p.host, p.procName, maxIdleMs) ?? {
      kind: "State" as const,
      name: p.procName,
      status: statuses.get(failed),
      state: null,
      generation: 0,
      timestamp: Date.now(),
    };
    throw new ProcCreationError(state, p.hostRank, p.host.agent.toString());
  }
  return ProcMesh.fromRanks(
    region,
    plan.map((p) => {
      const procId = p.host.namedProc(p.procName);
      return { procId, agent: procId.actor(PROC_AGENT_ACTOR_NAME).toString() };
    }),
  );
}

async function getState(
  cx: Context,
  host: HostRef,
  name: string,
  timeoutMs: number,
  keepaliveUntilMs?: number,
): Promise<State<ProcState> | undefined> {
  const { ref, receiver } = cx.openOncePort<State<ProcState>>();
  using _r = receiver;
  const getState = { kind: "GetState" as const, name, reply: ref.port };
  if (keepaliveUntilMs === undefined) quietPort(host.agent, "GetState").send(cx, getState);
  else {
    quietPort(host.agent, "KeepaliveGetState").send(cx, {
      kind: "KeepaliveGetState",
      expiresAfterMs: keepaliveUntilMs,
      getState,
    });
  }
  try {
    return await receiver.recv({ timeoutMs });
  } catch (error) {
    if ((error as DOMException)?.name === "TimeoutError") return undefined;
    throw error;
  }
}

/**
 * Stops every proc of `procMesh` through its host agent and waits until
 * every rank is terminated (the seed's `stop_proc_mesh`).
 * @param cx The caller.
 * @param procMesh The procs (rank `i` was created with create rank `i`).
 * @param reason Why.
 * @param options Idle bound.
 * @returns The final statuses.
 */
export async function stopProcMesh(
  cx: Context,
  procMesh: ProcMesh,
  reason: string,
  options: { maxIdleMs?: number; signal?: AbortSignal } = {},
): Promise<StatusMesh> {
  const ranks = procMesh.ranks();
  const region = procMesh.region;
  const { statuses, error } = await fence(cx, region, (reply, rank) => {
    const procId: ProcId = ranks[rank].procId;
    const agent = new HostRef(procId.addr).agent;
    quietPort(agent, "Stop").send(cx, { kind: "Stop", name: procId.name, reason });
    quietPort(agent, "WaitRankStatus").send(cx, {
      kind: "WaitRankStatus",
      name: procId.name,
      minStatus: Status.Stopped,
      reply,
    });
  }, {
    maxIdleMs: options.maxIdleMs ?? config.get(MESH_PROC_STOP_MAX_IDLE),
    signal: options.signal,
  });
  if (error !== undefined || !statuses.values().every(isTerminated)) {
    throw new ProcMeshStopError(
      rankedStatuses(statuses, Status.NotExist),
    );
  }
  return statuses;
}

/**
 * The state of every proc of `procMesh`, in rank order; ranks whose host
 * agent did not answer within `HYPERACTOR_MESH_GET_PROC_STATE_MAX_IDLE` are
 * padded with `Timeout` (the seed's `proc_states`).
 * @param cx The caller.
 * @param procMesh The procs.
 * @param options `keepaliveUntilMs` sends `KeepaliveGetState`; idle bound.
 * @returns One state per rank.
 * @throws {ProcNotExistError} When a host agent does not know a proc.
 */
export async function procStates(
  cx: Context,
  procMesh: ProcMesh,
  options: { keepaliveUntilMs?: number; maxIdleMs?: number } = {},
): Promise<ValueMesh<State<ProcState>>> {
  const timeoutMs = options.maxIdleMs ?? config.get(MESH_GET_PROC_STATE_MAX_IDLE);
  const states = await Promise.all(
    procMesh.ranks().map(async (r) => {
      const host = new HostRef(r.procId.addr);
      const state = await getState(cx, host, r.procId.name, timeoutMs, options.keepaliveUntilMs);
      if (state === undefined) {
        return {
          kind: "State" as const,
          name: r.procId.name,
          status: Status.timeout(timeoutMs),
          state: null,
          generation: 0,
          timestamp: Date.now(),
        };
      }
      if (state.state === null) throw new ProcNotExistError(state.name);
      return state;
    }),
  );
  return ValueMesh.fromValues(procMesh.region, states, { keyOf: (s) => JSON.stringify(s) });
}

/**
 * Pushes `attrs` to every host agent as its `ClientOverride` layer and
 * waits for each ack (HM-1..HM-4): requests are sent with
 * `returnUndeliverable` off (HM-3), each wait is bounded by
 * `HYPERACTOR_MESH_ATTACH_CONFIG_TIMEOUT`, and any failure yields a
 * {@linkcode ConfigPushError} naming every failed host (HM-2, HM-4).
 * @param mesh The hosts.
 * @param cx The caller.
 * @param attrs The config snapshot.
 * @throws {ConfigPushError} When any host did not acknowledge.
 */
export async function pushConfig(
  mesh: HostMeshRef,
  cx: Context,
  attrs: ConfigSnapshot,
): Promise<void> {
  const timeoutMs = config.get(MESH_ATTACH_CONFIG_TIMEOUT);
  const results = await Promise.all(mesh.hosts.map(async (host) => {
    const { ref, receiver } = cx.openOncePort<null>();
    using _r = receiver;
    try {
      quietPort(host.agent, "SetClientConfig").send(cx, { attrs, done: ref.port }); // HM-3
    } catch (error) {
      return { host, failure: { kind: "SendFailed", message: String(error) } as ConfigPushFailure };
    }
    try {
      await receiver.recv({ timeoutMs });
      return undefined;
    } catch (error) {
      const failure: ConfigPushFailure = (error as DOMException)?.name === "TimeoutError"
        ? { kind: "ReplyTimedOut", timeoutMs }
        : { kind: "ReplyChannelClosed" };
      return { host, failure };
    }
  }));
  const failures = results.filter((r) => r !== undefined).map((r) => ({
    host: r.host.toString(),
    failure: r.failure,
  }));
  if (failures.length > 0) throw new ConfigPushError(failures); // HM-2, HM-4
}
