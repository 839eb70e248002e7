/**
 * The two host agent modes behind one interface: `Local` (in-process procs
 * from a {@linkcode LocalProcManager}) and `Process` (OS processes from a
 * bootstrap proc manager). The agent speaks resource `Status`; a backend
 * spawns, observes and stops procs and reports their statuses.
 *
 * @module
 */

import { WatchCell } from "../../channel/watch_cell.ts";
import { config } from "../../config/config.ts";
import { PROCESS_EXIT_TIMEOUT, STOP_ACTOR_TIMEOUT } from "../../config/attrs.ts";
import { ProcId } from "../../actor/reference.ts";
import type { Context } from "../../actor/instance.ts";
import type { Host } from "../../host/host.ts";
import type { TerminateAllOptions } from "../../host/terminate.ts";
import type { StopOptions } from "../../internal/stop_options.ts";
import type { ProcStatus } from "../../bootstrap/proc_status.ts";
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
  // deno-lint-ignore no-explicit-any
  readonly host: Host<any>;
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
}

/**
 * The structural contract of the bootstrap proc manager used in Process
 * mode (kept structural so the mesh layer does not pin its class).
 */
export interface BootstrapManagerLike {
  /** Current status of a proc, `undefined` when unknown. */
  status(procId: ProcId): ProcStatus | undefined | Promise<ProcStatus | undefined>;
  /** Status stream of a proc (current, then every change), `undefined` when unknown. */
  watch(
    procId: ProcId,
    options?: { signal?: AbortSignal },
  ): AsyncGenerator<ProcStatus, void, undefined> | undefined;
  /** Non-blocking polite stop (StopAll, then escalation). */
  requestStop(cx: Context, procId: ProcId, options: StopOptions): unknown;
  /** Bulk terminate. */
  terminateAll(cx: Context, options: TerminateAllOptions): Promise<unknown>;
}

/**
 * Local mode: procs are in-process; statuses are tracked here.
 * @param host A host over a `LocalProcManager`.
 * @returns The backend.
 */
// deno-lint-ignore no-explicit-any
export function localBackend(host: Host<any>): ProcBackend {
  const cells = new Map<string, WatchCell<Status>>();
  const cellOf = (procId: ProcId) => {
    let cell = cells.get(procId.key);
    if (cell === undefined) cells.set(procId.key, cell = new WatchCell<Status>(Status.Running));
    return cell;
  };
  const stopped = (procId: ProcId) => {
    const cell = cellOf(procId);
    cell.set(Status.Stopped);
    cell.close();
  };
  const stopOne = async (cx: Context, procId: ProcId, timeoutMs: number, reason: string) => {
    const cell = cellOf(procId);
    if (cell.closed) return;
    cell.set(Status.Stopping);
    try {
      await host.terminateProc(cx, procId, { graceMs: timeoutMs, reason });
    } catch {
      // already gone
    }
    stopped(procId);
  };
  return {
    mode: "Local",
    host,
    async spawn(name) {
      const { procId, agentRef } = await host.spawn(name);
      cellOf(procId);
      return { procId, agent: agentRef.toString() };
    },
    observe(procId, onChange) {
      const ac = new AbortController();
      (async () => {
        for await (const status of cellOf(procId).watch({ signal: ac.signal })) {
          onChange({ status, raw: null });
        }
      })().catch(() => {});
      return () => ac.abort();
    },
    requestStop(cx, procId, reason) {
      stopOne(cx, procId, config.get(STOP_ACTOR_TIMEOUT), reason).catch(() => {});
    },
    terminate: stopOne,
    async terminateAll(cx, timeoutMs, maxInFlight, reason) {
      for (const cell of cells.values()) if (!cell.closed) cell.set(Status.Stopping);
      await host.terminateChildren({ graceMs: timeoutMs, maxInFlight, reason, cx }).catch(() => {});
      for (const cell of cells.values()) {
        if (!cell.closed) {
          cell.set(Status.Stopped);
          cell.close();
        }
      }
    },
  };
}

/**
 * Process mode: procs are OS processes of a bootstrap proc manager; their
 * statuses come from the manager's status cells.
 * @param host A host over a bootstrap proc manager.
 * @returns The backend.
 */
// deno-lint-ignore no-explicit-any
export function processBackend(host: Host<any>): ProcBackend {
  const manager = host.manager as BootstrapManagerLike;
  const logs = new HostLogRelay(host.systemProc); // LO-5
  return {
    mode: "Process",
    host,
    async spawn(name, createRank, spec) {
      const cfg: Record<string, unknown> = {
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
      const ac = new AbortController();
      const stream = manager.watch(procId, { signal: ac.signal });
      if (stream === undefined) {
        onChange({ status: Status.Unknown, raw: null });
        return () => {};
      }
      (async () => {
        for await (const raw of stream) {
          onChange({ status: procStatusToStatus(raw), raw });
        }
      })().catch(() => {});
      return () => ac.abort();
    },
    requestStop(cx, procId, reason) {
      try {
        const r = manager.requestStop(cx, procId, {
          graceMs: config.get(PROCESS_EXIT_TIMEOUT),
          reason,
        });
        if (r instanceof Promise) r.catch(() => {});
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
  };
}
