/**
 * The host agent's wire protocol: its name, the proc spec and proc state
 * payloads of the resource protocol, the host-level messages (`DrainHost`,
 * `ShutdownHost`, `SetClientConfig`, `GetLocalProc`, `Introspect`), and the
 * `ProcStatus` → resource `Status` mapping (reference §7).
 *
 * Every message is plain JSON data; reply ports travel as PortId text.
 *
 * @module
 */

import type { ConfigSnapshot } from "../../config/config.ts";
import type { BootstrapCommandData } from "../../launcher/command.ts";
import type { ProcBindInit } from "../../launcher/proc_bind.ts";
import type { ProcStatus } from "../../bootstrap/proc_status.ts";
import { Status } from "../resource/status.ts";
import type { ProcMetrics } from "./proc_metrics.ts";
import type { SupervisorRef } from "../supervision/mesh_supervisor.ts";

/** The host agent's actor name, on the host's `service` proc. */
export const HOST_AGENT_NAME = "host_agent";

/** The resource spec of a proc (`CreateOrUpdate<ProcSpec>`). */
export interface ProcSpec {
  /** The client's propagatable config, installed in the proc as `ClientOverride`. */
  clientConfigOverride: ConfigSnapshot;
  /** CPU/NUMA binding of the proc (Process mode). */
  procBind?: ProcBindInit | null;
  /** Overrides the host's bootstrap command for this proc (Process mode). */
  bootstrapCommand?: BootstrapCommandData | null;
  /** The host mesh the proc was created for (scopes `DrainHost`). */
  hostMeshId?: string | null;
  /** Where the proc's unrequested exit is pushed as a `MeshFailure` (SV-11). */
  supervisor?: SupervisorRef | null;
  /**
   * PortId text of the owner's log client port (`LogClientActor` `OwnerLog`):
   * with log forwarding on, the proc's lines go there (LO-1..LO-4, OL-5, OL-6).
   */
  logClient?: string | null;
  /**
   * Push an unrequested exit with code 0 too (restart policy `always`,
   * RS-4); by default a clean exit is not a failure (SV-11).
   */
  reportCleanExit?: boolean;
  /** This proc restarts a rank (RS-6): which restart, and the failure it replaces. */
  restartOf?: { attempt: number; lastFailure: string } | null;
}

/** The resource state of a proc (`State<ProcState>`). */
export interface ProcState {
  /** `ADDR,NAME` text of the proc. */
  procId: string;
  /** The rank the proc was created with. */
  createRank: number;
  /** ActorId text of the proc's agent (`null` when creation failed). */
  meshAgent: string | null;
  /** The bootstrap command used, when one was given. */
  bootstrapCommand: BootstrapCommandData | null;
  /** The manager's raw proc status (Process mode), else `null`. */
  procStatus: ProcStatus | null;
}

/** Terminate every user proc; keep the host, its service proc and socket. */
export interface DrainHost {
  /** Per-child grace, ms. */
  timeoutMs: number;
  /** Concurrency bound (clamped to 1..256). */
  maxInFlight: number;
  /** Only procs created for this host mesh (else all). */
  hostMeshId: string | null;
  /** PortId text; receives `null` when the drain is done. */
  ack: string;
}

/** Terminate every child, reply, then release the host. */
export interface ShutdownHost {
  /** Per-child grace, ms. */
  timeoutMs: number;
  /** Concurrency bound (clamped to 1..256). */
  maxInFlight: number;
  /** PortId text; receives `null` after the children were terminated. */
  ack: string;
}

/** Replace the host process's `ClientOverride` config layer, then ack. */
export interface SetClientConfig {
  /** The new layer (wire key → value). */
  attrs: ConfigSnapshot;
  /** PortId text; receives `null` once installed. */
  done: string;
}

/** Ask (Local mode) for the host's `local` proc agent. */
export interface GetLocalProc {
  /** PortId text; receives the agent's ActorId text, or `null` when unavailable. */
  reply: string;
}

/** One proc of a host, as reported by `Introspect`. */
export interface HostProcInfo {
  /** Resource name. */
  name: string;
  /** `ADDR,NAME` text. */
  procId: string;
  /** Create rank. */
  createRank: number;
  /** Resource status. */
  status: Status;
  /** Agent ActorId text, when created. */
  agent: string | null;
  /** How many times this rank was restarted, when it was (RS-6). */
  restarts?: number;
  /** The failure the last restart replaced (RS-6). */
  lastFailure?: string;
  /** The OS figures of its process, read at the request (AW-1; Process mode, live procs). */
  metrics?: ProcMetrics;
  /** The last stderr lines of an exited process, when captured. */
  stderrTail?: string[];
}

/** A host's introspection node. */
export interface HostInfo {
  /** The host's front-end address. */
  addr: string;
  /** `Process` or `Local`. */
  mode: "Process" | "Local";
  /** The agent state (`Detached`, `Attached`, `Draining`, `Shutdown`). */
  state: string;
  /** User procs in creation order. */
  procs: HostProcInfo[];
}

/** Ask for the host's introspection node. */
export interface HostIntrospect {
  /** PortId text; receives a {@linkcode HostInfo}. */
  reply: string;
}

/**
 * Clamps a termination concurrency to 1..256 (non-numbers become 16).
 * @param n The requested bound.
 * @returns The clamped bound.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { clampMaxInFlight } from "./protocol.ts";
 * assertEquals([clampMaxInFlight(0), clampMaxInFlight(1000), clampMaxInFlight(8)], [1, 256, 8]);
 * ```
 */
export function clampMaxInFlight(n: number): number {
  if (!Number.isFinite(n)) return 16;
  return Math.min(256, Math.max(1, Math.floor(n)));
}

/**
 * Maps a manager `ProcStatus` to a resource `Status` (reference §7):
 * Starting→Initializing; Running/Ready→Running; Stopping→Stopping;
 * Stopped(any code)→Stopped; Failed(r)→Failed(r); Killed→Failed("Killed(sig=N)").
 * `undefined` (unknown proc) → Unknown.
 * @param status The manager's status.
 * @returns The resource status.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { procStatusToStatus } from "./protocol.ts";
 * assertEquals(procStatusToStatus({ kind: "Starting" }).kind, "Initializing");
 * assertEquals(procStatusToStatus({ kind: "Killed", signal: 9, coreDumped: false }), {
 *   kind: "Failed",
 *   message: "Killed(sig=9)",
 * });
 * assertEquals(procStatusToStatus(undefined).kind, "Unknown");
 * ```
 */
export function procStatusToStatus(status: ProcStatus | undefined): Status {
  if (status === undefined) return Status.Unknown;
  switch (status.kind) {
    case "Starting":
      return Status.Initializing;
    case "Running":
    case "Ready":
      return Status.Running;
    case "Stopping":
      return Status.Stopping;
    case "Stopped":
      return Status.Stopped;
    case "Failed":
      return Status.failed(status.reason);
    case "Killed":
      return Status.failed(`Killed(sig=${status.signal})`);
  }
}
