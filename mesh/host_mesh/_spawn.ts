/**
 * Folder-private: the resource-protocol operations of a host mesh reference
 * — spawning a proc mesh over its hosts and stopping it. Querying proc
 * states and pushing client config (HM-1..HM-4) live in
 * `mesh/host_mesh/_query.ts` and are re-exported here.
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { ProcId } from "../../actor/reference.ts";
import { config } from "../../config/config.ts";
import {
  MESH_ENABLE_LOG_FORWARDING,
  MESH_PROC_SPAWN_MAX_IDLE,
  MESH_PROC_STOP_MAX_IDLE,
} from "../../config/attrs.ts";
import { ownerLogPort } from "../log_owner.ts";
import { ProcBind, type ProcBindInit } from "../../launcher/proc_bind.ts";
import type { Extent } from "../../ndslice/extent.ts";
import { Region } from "../../ndslice/region.ts";
import { RankedValues } from "../resource/ranked_values.ts";
import {
  formatStatus,
  isNotExist,
  isTerminated,
  isTerminating,
  Status,
  statusKey,
} from "../resource/status.ts";
import type { StatusMesh } from "../resource/value_mesh.ts";
import { fenceRankStatuses as fence } from "../_mesh_fence.ts";
import { getState, quietPort } from "./_query.ts";
import { type MeshStopOptions, ProcMesh } from "../proc_mesh.ts";
import { PROC_AGENT_ACTOR_NAME } from "../proc_agent/protocol.ts";
import type { ProcSpec } from "../host_agent/protocol.ts";
import {
  MeshConfigurationError,
  ProcCreationError,
  ProcMeshStopError,
  ProcSpawnError,
} from "./errors.ts";
import { displayLabel, instanceId, stripLabel } from "./id.ts";
import { MeshSupervisor } from "../supervision/mesh_supervisor.ts";
import { registerProcMesh } from "../supervision/registry.ts";
import { type HostMeshRef, HostRef, type HostSpawnOptions } from "./host_mesh_ref.ts";
import { assertHostsAlive } from "../supervision/host_lost.ts";
import { watchHosts } from "../supervision/host_watch.ts";
import { procMeshSlots } from "../restart/_slots.ts";
import { type RestartPolicy, restartPolicy } from "../restart/policy.ts";
import { StatusOverlay } from "../resource/overlay.ts";
import { requestOnHost } from "../call.ts";

export { procStates, pushConfig } from "./_query.ts";

const STATUS_OPTS = { keyOf: statusKey, format: formatStatus };

function rankedStatuses(mesh: StatusMesh, fallback: Status): RankedValues<Status> {
  const merged = RankedValues.fromMesh(mesh, {
    fallback,
    isSentinel: isNotExist,
    len: mesh.numRanks,
  });
  return new RankedValues(merged.intervals(), STATUS_OPTS);
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
  const policy = restartPolicy(options.restartPolicy); // RS-1: before anything is spawned
  assertHostsAlive(mesh.hosts, action); // HW-4
  watchHosts(cx, mesh.hosts); // the owner watches the hosts its procs live on
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
  // OL-7: with log forwarding on, the procs' lines go to this owner.
  const logClient = config.get(MESH_ENABLE_LOG_FORWARDING) ? ownerLogPort(cx) : null;
  // SV-20: the caller owns the mesh; its procs' unrequested exits come here.
  const supervisor = MeshSupervisor.forOwner(cx, procMeshId, region.numRanks);
  try {
    return await spawnOn(
      mesh,
      cx,
      perHost,
      options,
      { action, region, extent, procMeshId, label },
      {
        clientConfigOverride,
        supervisor,
        logClient,
        policy,
      },
    );
  } catch (error) {
    supervisor.close();
    throw error;
  }
}

async function spawnOn(
  mesh: HostMeshRef,
  cx: Context,
  perHost: Extent,
  options: HostSpawnOptions,
  ids: { action: string; region: Region; extent: Extent; procMeshId: string; label: string },
  owner: {
    clientConfigOverride: ProcSpec["clientConfigOverride"];
    supervisor: MeshSupervisor;
    logClient: string | null;
    policy: RestartPolicy;
  },
): Promise<ProcMesh> {
  const { action, region, extent, procMeshId, label } = ids;
  const { clientConfigOverride, supervisor, logClient, policy } = owner;
  const n = perHost.numRanks;

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
      supervisor: supervisor.ref,
      ...(logClient === null ? {} : { logClient }),
      ...(policy.restart === "always" ? { reportCleanExit: true } : {}), // RS-4
    };
    return { createRank, hostRank, host, procName, perHostRank, spec };
  });

  const maxIdleMs = options.maxIdleMs ?? config.get(MESH_PROC_SPAWN_MAX_IDLE);
  const start = performance.now();
  const { statuses, error, lost } = await fence(cx, region, (reply, rank) => {
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
  }, {
    maxIdleMs,
    signal: options.signal,
    onSnapshot: options.onProgress,
    hostOf: (rank) => plan[rank].host,
  });

  if (lost !== undefined) throw lost[0].forAction(action); // HW-4
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
  const procMesh = ProcMesh.fromRanks(
    region,
    plan.map((p) => {
      const procId = p.host.namedProc(p.procName);
      return { procId, agent: procId.actor(PROC_AGENT_ACTOR_NAME).toString() };
    }),
    { name: procMeshId, supervisor },
  );
  registerProcMesh(procMesh, mesh.id); // SV-13, SV-14
  procMeshSlots.get(procMesh)!.enableRestarts(cx, {
    policy,
    stopProc: (fresh) => { // RS-9: a proc started for a mesh that is gone
      const procId = ProcId.parse(fresh.procId);
      quietPort(new HostRef(procId.addr).agent, "Stop").send(cx, {
        kind: "Stop",
        name: procId.name,
        reason: "mesh stopped during a restart",
      });
    },
    respawn: (rank, restartOf, signal) => {
      const p = plan[rank];
      const procName = instanceId(stripLabel(`${label}-${p.perHostRank}`)); // a new incarnation
      return respawnProc(cx, p.host, { ...p, procName, spec: { ...p.spec, restartOf } }, {
        maxIdleMs,
        signal,
      });
    },
  });
  return procMesh;
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
/**
 * Starts one proc of a restarted rank on its host and waits until it runs
 * (RS-6: `CreateOrUpdate` then `WaitRankStatus(Running)`).
 * @throws {Error} When it does not come up (spawn failure, timeout, lost host).
 */
async function respawnProc(
  cx: Context,
  host: HostRef,
  p: { procName: string; createRank: number; spec: ProcSpec },
  options: { maxIdleMs: number; signal: AbortSignal },
): Promise<{ procId: string; agent: string }> {
  const json = await requestOnHost<unknown>(cx, host, `restart proc "${p.procName}"`, (reply) => {
    quietPort(host.agent, "CreateOrUpdate").send(cx, {
      kind: "CreateOrUpdate",
      name: p.procName,
      rank: p.createRank,
      spec: p.spec,
    });
    quietPort(host.agent, "WaitRankStatus").send(cx, {
      kind: "WaitRankStatus",
      name: p.procName,
      minStatus: Status.Running,
      reply,
    });
  }, { timeoutMs: options.maxIdleMs, signal: options.signal });
  const status = StatusOverlay.fromJSON(json).runs().find((r) =>
    r.start <= p.createRank && p.createRank < r.end
  )?.value;
  if (status?.kind !== "Running") {
    throw new Error(
      `proc ${p.procName} did not start: ${status ? formatStatus(status) : "no status"}`,
    );
  }
  const procId = host.namedProc(p.procName);
  return { procId: procId.key, agent: procId.actor(PROC_AGENT_ACTOR_NAME).toString() };
}

export async function stopProcMesh(
  cx: Context,
  procMesh: ProcMesh,
  options: MeshStopOptions = {},
): Promise<StatusMesh> {
  const reason = options.reason ?? "stopped";
  await procMeshSlots.get(procMesh)?.closeRestarts(); // RS-9
  const ranks = procMesh.ranks();
  const region = procMesh.region;
  const { statuses, error, lost } = await fence(cx, region, (reply, rank) => {
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
    hostOf: (rank) => ranks[rank].procId.addr,
  });
  // HW-4: the ranks of healthy hosts were stopped; those of a lost host cannot be.
  if (lost !== undefined) throw lost[0].forAction(`stop proc mesh ${region}`);
  if (error !== undefined || !statuses.values().every(isTerminated)) {
    throw new ProcMeshStopError(
      rankedStatuses(statuses, Status.NotExist),
    );
  }
  procMesh.supervisor.close(); // a stopped mesh reports nothing more (SV-3)
  return statuses;
}
