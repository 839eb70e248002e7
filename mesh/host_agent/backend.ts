/**
 * The two host agent modes behind one interface: `Local` (in-process procs
 * from a {@linkcode LocalProcManager}) and `Process` (OS processes from a
 * bootstrap proc manager). The agent speaks resource `Status`; a backend
 * spawns, observes and stops procs and reports their statuses.
 *
 * @module
 */

import { config } from "../../config/config.ts";
import { PROCESS_EXIT_TIMEOUT, STOP_ACTOR_TIMEOUT } from "../../config/attrs.ts";
import { ProcId } from "../../actor/reference.ts";
import type { Context } from "../../actor/types.ts";
import type { Host } from "../../host/host.ts";
import type { ProcHandle, ProcManager, WithCapabilities } from "../../host/proc_handle.ts";
import type { BulkTerminate, SingleTerminate } from "../../host/terminate.ts";
import type { ProcStatus } from "../../bootstrap/proc_status.ts";
import type { BootstrapProcConfig } from "../../bootstrap/manager.ts";
import type { LocalProcStatus } from "../../host/local_proc_manager.ts";
import { BootstrapCommand } from "../../launcher/command.ts";
import { ProcBind } from "../../launcher/proc_bind.ts";
import { Status } from "../resource/status.ts";
import { type ProcSpec, procStatusToStatus } from "./protocol.ts";
import { HostLogRelay } from "./_log_relay.ts";

/** A status observation: the resource status and the manager's raw status. */
export interface Observation {
  /** Resource status. */
  status: Status;
  /** Raw manager status (Process mode). */
  raw: ProcStatus | null;
}

/** What the host agent needs from its host. */
export interface ProcBackend {
  /** The mode name. */
  readonly mode: "Process" | "Local";
  /** The host (service proc, address). */
  readonly host: AgentHost;
  /**
   * Spawns `name` and waits until it is ready.
   * @returns The proc id and its agent's ActorId text.
   */
  spawn(
    name: string,
    createRank: number,
    spec: ProcSpec,
  ): Promise<{ procId: ProcId; agent: string }>;
  /**
   * Calls `onChange` with the current and every later status until the
   * returned function is called or the proc is terminal.
   */
  observe(procId: ProcId, onChange: (o: Observation) => void): () => void;
  /** Asks one proc to stop (non-blocking). */
  requestStop(cx: Context, procId: ProcId, reason: string): void;
  /** Terminates one proc (polite, then forced after `timeoutMs`). */
  terminate(cx: Context, procId: ProcId, timeoutMs: number, reason: string): Promise<void>;
  /** Terminates every proc. */
  terminateAll(cx: Context, timeoutMs: number, maxInFlight: number, reason: string): Promise<void>;
  /** The OS pid of a running proc's process, when it has its own (AW-1). */
  pidOf?(procId: ProcId): number | undefined;
}

/**
 * The manager of a Process-mode host: spawns with a `BootstrapProcConfig`,
 * reports `ProcStatus` through `watch`, stops one proc without waiting
 * (`requestStop`) and all in bulk — the `ProcManager` contract with those
 * capabilities required (a `BootstrapProcManager` is one).
 */
export type ProcessModeManager =
  & WithCapabilities<
    ProcManager<ProcHandle, BootstrapProcConfig, ProcStatus>,
    "watch" | "requestStop"
  >
  & BulkTerminate
  & SingleTerminate;

/**
 * The manager of a Local-mode host: in-process procs whose
 * `LocalProcStatus` it reports through `watch`, stoppable one by one without
 * waiting and in bulk (a `LocalProcManager` is one).
 */
export type LocalModeManager =
  & WithCapabilities<ProcManager<ProcHandle, void, LocalProcStatus>, "watch" | "requestStop">
  & BulkTerminate
  & SingleTerminate;

/**
 * Feeds a manager's `watch` stream to `onChange` as observations (`Unknown`
 * once when the proc is unknown); the returned function stops it.
 */
function observeWatch<W>(
  watch: (signal: AbortSignal) => AsyncIterable<W> | undefined,
  toObservation: (status: W) => Observation,
  onChange: (o: Observation) => void,
): () => void {
  const ac = new AbortController();
  const stream = watch(ac.signal);
  if (stream === undefined) {
    onChange({ status: Status.Unknown, raw: null });
    return () => {};
  }
  (async () => {
    for await (const status of stream) onChange(toObservation(status));
  })().catch(() => {});
  return () => ac.abort();
}

/** Resource status of each local proc status. */
const LOCAL_STATUS: Record<LocalProcStatus, Status> = {
  Running: Status.Running,
  Stopping: Status.Stopping,
  Stopped: Status.Stopped,
};

/** The host of either mode. */
export type AgentHost = Host<ProcessModeManager> | Host<LocalModeManager>;

/**
 * Local mode: procs are in-process; their statuses come from the manager's
 * `watch` capability.
 * @param host A host over a `LocalProcManager`.
 * @returns The backend.
 */
export function localBackend(host: Host<LocalModeManager>): ProcBackend {
  const manager = host.manager;
  return {
    mode: "Local",
    host,
    async spawn(name) {
      const { procId, agentRef } = await host.spawn(name);
      return { procId, agent: agentRef.toString() };
    },
    observe(procId, onChange) {
      return observeWatch(
        (signal) => manager.watch(procId, { signal }),
        (local) => ({ status: LOCAL_STATUS[local], raw: null }),
        onChange,
      );
    },
    requestStop(cx, procId, reason) {
      manager.requestStop(cx, procId, { graceMs: config.get(STOP_ACTOR_TIMEOUT), reason });
    },
    async terminate(cx, procId, timeoutMs, reason) {
      await host.terminateProc(cx, procId, { graceMs: timeoutMs, reason }).catch(() => {}); // already gone
    },
    async terminateAll(cx, timeoutMs, maxInFlight, reason) {
      await host.terminateChildren({ graceMs: timeoutMs, maxInFlight, reason, cx }).catch(() => {});
    },
  };
}

/**
 * Process mode: procs are OS processes of a bootstrap proc manager; their
 * statuses come from the manager's status cells.
 * @param host A host over a bootstrap proc manager.
 * @returns The backend.
 */
export function processBackend(host: Host<ProcessModeManager>): ProcBackend {
  const manager = host.manager;
  const logs = new HostLogRelay(host.systemProc); // OL-5
  return {
    mode: "Process",
    host,
    async spawn(name, createRank, spec) {
      const cfg: BootstrapProcConfig = {
        createRank,
        clientConfigOverride: spec.clientConfigOverride ?? {},
      };
      if (spec.procBind) cfg.procBind = new ProcBind(spec.procBind);
      if (spec.bootstrapCommand) {
        cfg.bootstrapCommand = BootstrapCommand.fromJSON(spec.bootstrapCommand);
      }
      const logProcId = new ProcId(host.addr, name);
      if (typeof spec.logClient === "string") cfg.logSink = logs.sinkFor(logProcId, spec.logClient);
      try {
        const { procId, agentRef } = await host.spawn(name, cfg);
        return { procId, agent: agentRef.toString() };
      } catch (error) {
        logs.forget(logProcId);
        throw error;
      }
    },
    observe(procId, onChange) {
      return observeWatch(
        (signal) => manager.watch(procId, { signal }),
        (raw) => ({ status: procStatusToStatus(raw), raw }),
        onChange,
      );
    },
    requestStop(cx, procId, reason) {
      try {
        manager.requestStop(cx, procId, { graceMs: config.get(PROCESS_EXIT_TIMEOUT), reason });
      } catch {
        // unknown or already terminated
      }
    },
    async terminate(cx, procId, timeoutMs, reason) {
      await host.terminateProc(cx, procId, { graceMs: timeoutMs, reason }).catch(() => {});
    },
    async terminateAll(cx, timeoutMs, maxInFlight, reason) {
      await manager.terminateAll(cx, { graceMs: timeoutMs, maxInFlight, reason });
    },
    pidOf(procId) {
      // AW-1: a BootstrapProcManager knows its children's pids (launcher id = proc id text).
      return (manager as { pids?: ReadonlyMap<string, number> }).pids?.get(procId.toString());
    },
  };
}
