/**
 * Folder-private building blocks of the proc agent: per-resource records,
 * the ActorStatus → resource Status mapping, bounded waits for a terminal
 * actor status, and query-time introspection of a proc.
 * @module
 */

import { startLightTimer } from "../../internal/light_timer.ts";
import { config } from "../../config/config.ts";
import { TERMINATED_SNAPSHOT_RETENTION } from "../../config/attrs.ts";
import type { WatchCell } from "../../channel/watch_cell.ts";
import type { ActorStats, Proc } from "../../actor/proc.ts";
import { type ActorStatus, describeActorStatus, isTerminal } from "../../actor/status.ts";
import {
  type ActorSupervisionEvent,
  describeSupervisionEvent,
  isError,
} from "../../actor/supervision.ts";
import { parseReference, ProcId } from "../../actor/reference.ts";
import { Status } from "../resource/status.ts";
import type { IntrospectResult, ProcAttrs } from "./protocol.ts";
import type { SupervisorRef } from "../supervision/mesh_supervisor.ts";

/** What the agent remembers about one resource (actor) it was asked to create. */
export interface ActorRecord {
  /** The rank given at creation. */
  createRank: number;
  /** The spawned actor's id text, or why the spawn was refused/failed. */
  spawn: { ok: true; actorId: string } | { ok: false; error: string };
  /** Stop was requested (by `Stop` or the orphan check); never restarted. */
  stopped: boolean;
  /** Keepalive expiry (epoch ms); `undefined` = never expires. */
  expiryMs: number | undefined;
  /** Bumped whenever the reported status changes. */
  generation: number;
  /** `statusKey`-like text of the last reported status. */
  lastReported: string;
  /** Where the actor's failure is pushed (SV-11), from its spec. */
  supervisor?: SupervisorRef;
  /** The incarnation running under this name (RS-7; 0 = the first). */
  incarnation: number;
  /** The registered actor type it was spawned as (AW-2). */
  actorType?: string;
}

/**
 * Maps an actor's lifecycle status to a resource status:
 * `Unknown`/`Created`/`Initializing` → `Initializing`; `Client`/`Idle`/
 * `Processing` → `Running`; `Stopping` → `Stopping`; `Stopped` → `Stopped`;
 * `Failed(e)` → `Failed(e)`.
 * @param status An actor status.
 * @returns The resource status.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { actorStatusToResource } from "./_core.ts";
 * assertEquals(actorStatusToResource({ kind: "Idle" }), { kind: "Running" });
 * assertEquals(actorStatusToResource({ kind: "Failed", error: "x" }), { kind: "Failed", message: "x" });
 * ```
 */
export function actorStatusToResource(status: ActorStatus): Status {
  switch (status.kind) {
    case "Unknown":
    case "Created":
    case "Initializing":
      return Status.Initializing;
    case "Client":
    case "Idle":
    case "Processing":
      return Status.Running;
    case "Stopping":
      return Status.Stopping;
    case "Stopped":
      return Status.Stopped;
    case "Failed":
      return Status.failed(status.error);
  }
}

/**
 * The resource status of a created actor: stop requested → `Stopped`; an
 * error supervision event → `Failed("because of supervision events: …")`; a
 * clean terminal event → `Stopped`; otherwise its live (or retained
 * terminated) actor status, mapped; gone without a trace → `Unknown`.
 * @param proc The proc.
 * @param record The record.
 * @param events Events recorded for the actor.
 * @returns The status.
 */
export function recordStatus(
  proc: Proc,
  record: ActorRecord,
  events: readonly ActorSupervisionEvent[] | undefined,
): Status {
  if (!record.spawn.ok) return Status.failed(record.spawn.error);
  if (record.stopped) return Status.Stopped;
  if (events !== undefined && events.length > 0) {
    if (events.some(isError)) {
      return Status.failed(
        `because of supervision events: [${events.map(describeSupervisionEvent).join(", ")}]`,
      );
    }
    return Status.Stopped;
  }
  const id = record.spawn.actorId;
  const live = proc.actorStatus(id);
  if (live !== undefined) return actorStatusToResource(live.get());
  const dead = proc.terminatedSnapshot(id);
  if (dead !== undefined) return actorStatusToResource(dead.status);
  return Status.Unknown;
}

/**
 * Waits until `cell` holds a terminal status, at most `timeoutMs`.
 * @param cell An actor's status cell.
 * @param timeoutMs The bound.
 * @returns Whether the status became terminal in time.
 */
export async function waitTerminal(
  cell: WatchCell<ActorStatus>,
  timeoutMs: number,
): Promise<boolean> {
  if (isTerminal(cell.get()) || cell.closed) return true;
  const stop = new AbortController();
  // A light timer: a child stopping actors need not load Deno's lazy setTimeout.
  const timer = startLightTimer(timeoutMs, () => stop.abort());
  try {
    for await (const status of cell.watch({ signal: stop.signal })) {
      if (isTerminal(status)) return true;
    }
    return true; // closed: closed only after the terminal status
  } catch (error) {
    if (stop.signal.aborted) return false;
    throw error;
  } finally {
    timer.cancel();
  }
}

/** What introspection needs from the agent. */
export interface IntrospectSource {
  /** The proc. */
  proc: Proc;
  /** Whether an actor (id text) is a system actor. */
  isSystem: (actorId: string) => boolean;
  /** Actors with at least one error event. */
  failedActorCount: number;
  /** Registered actor types by ActorId text (AW-2). */
  actorTypes?: ReadonlyMap<string, string>;
}

/**
 * Computes a proc node (or a terminated actor node) from live state at query
 * time; anything else is a `not_found` error node.
 * @param source Proc, system predicate, failure count.
 * @param child Reference text asked about.
 * @returns The result.
 */
export function introspect(source: IntrospectSource, child: string): IntrospectResult {
  const { proc, isSystem, failedActorCount } = source;
  const asOf = Date.now();
  let ref;
  try {
    ref = parseReference(child);
  } catch {
    ref = undefined;
  }
  if (ref instanceof ProcId && ref.key === proc.procId.key) {
    const children: string[] = [];
    const systemChildren: string[] = [];
    for (const id of proc.allActorIds()) {
      children.push(id.key);
      if (isSystem(id.key)) systemChildren.push(id.key);
    }
    const numActors = children.length;
    const live = new Set(children);
    const stoppedChildren: string[] = [];
    for (const id of proc.allTerminatedActorIds()) {
      stoppedChildren.push(id.key);
      if (isSystem(id.key)) systemChildren.push(id.key);
      if (!live.has(id.key)) children.push(id.key);
    }
    const attrs: ProcAttrs = {
      nodeType: "proc",
      procName: proc.procId.key,
      numActors,
      systemChildren,
      stoppedChildren,
      stoppedRetentionCap: config.get(TERMINATED_SNAPSHOT_RETENTION),
      isPoisoned: failedActorCount > 0, // FI-5
      failedActorCount,
    };
    const actorStats: Record<string, ActorStats> = {}; // AW-2
    for (const key of live) {
      const stats = proc.actorStats(key);
      if (stats === undefined) continue;
      const type = source.actorTypes?.get(key);
      actorStats[key] = type === undefined ? stats : { ...stats, type };
    }
    return { identity: proc.procId.key, attrs, children, parent: null, asOf, actorStats };
  }
  const snapshot = ref !== undefined && !(ref instanceof ProcId)
    ? proc.terminatedSnapshot(child)
    : undefined;
  if (snapshot !== undefined) {
    return {
      identity: child,
      attrs: {
        nodeType: "actor",
        status: describeActorStatus(snapshot.status),
        terminatedAt: snapshot.terminatedAt,
        isSystem: isSystem(child),
      },
      children: [],
      parent: snapshot.parent ?? proc.procId.key,
      asOf,
    };
  }
  return {
    identity: "",
    attrs: { nodeType: "error", errorCode: "not_found", errorMessage: `child ${child} not found` },
    children: [],
    parent: null,
    asOf,
  };
}
