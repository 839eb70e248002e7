/**
 * `MeshFailure`: the typed event that tells the owner of a mesh that one of
 * its ranks failed — a proc that exited without being asked to, an actor
 * that failed, or a host that was lost. Plain data: agents push it across
 * processes to the owner's per-mesh port.
 *
 * ## Invariants (SV-*)
 * - **SV-1 (plain data).** A `MeshFailure` survives `JSON.stringify` /
 *   `JSON.parse` unchanged; {@linkcode isMeshFailure} accepts exactly the
 *   shapes agents send and never throws.
 *
 * @module
 */

import type { SupervisedFailure } from "../../actor/supervision.ts";
import { formatStatus, isStatus, type Status } from "../resource/status.ts";

/**
 * What failed: an OS process of a proc that exited without a stop request
 * (`ProcExit`), an actor (`ActorFailure`), or the host of the rank
 * (`HostLost`).
 */
export type MeshFailureKind = "ProcExit" | "ActorFailure" | "HostLost";

/** One failed rank of a mesh, as its owner learns it. */
export interface MeshFailure extends SupervisedFailure {
  /** What failed. */
  kind: MeshFailureKind;
  /** The mesh's name (a proc mesh's instance id, or an actor mesh's name). */
  meshName: string;
  /** The failed rank of that mesh. */
  rank: number;
  /** The rank's proc id text. */
  procId: string;
  /** The rank's actor id text (actor meshes), else `null`. */
  actorId: string | null;
  /** The rank's resource status after the failure (e.g. `Failed("Killed(sig=9)")`). */
  status: Status;
  /** Why, one line. */
  reason: string;
  /** The last lines the proc wrote on stderr, when known (oldest first). */
  stderrTail: string[];
  /** When the failure was observed (ms since the epoch). */
  occurredAt: number;
  /** The failure this one escalates (an owner actor that did not handle it). */
  causedBy?: SupervisedFailure;
  /**
   * Set on the first failure a subscriber reads after it fell behind: how
   * many failures were dropped for it just before this one (SV-5).
   */
  lagged?: number;
  /** The proc's exit code, when it exited by itself (`stopExitCodes`, RS-4). */
  exitCode?: number;
  /**
   * Set when the mesh's restart policy restarts this rank (RS-5): the rank
   * comes back in place, so the failure is reported, not escalated.
   */
  restarting?: boolean;
  /** With `restarting`: the rank's restart number, from 1. */
  attempt?: number;
}

const KINDS: ReadonlySet<string> = new Set(["ProcExit", "ActorFailure", "HostLost"]);

/**
 * Whether `value` is a {@linkcode MeshFailure} (SV-1: total, never throws).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isMeshFailure } from "./failure.ts";
 * assert(isMeshFailure({
 *   kind: "ProcExit", meshName: "w", rank: 0, procId: "unix:@a,w-0", actorId: null,
 *   status: { kind: "Failed", message: "Killed(sig=9)" }, reason: "Killed(sig=9)",
 *   stderrTail: [], occurredAt: 0,
 * }));
 * assert(!isMeshFailure({ kind: "ProcExit" }));
 * ```
 */
export function isMeshFailure(value: unknown): value is MeshFailure {
  try {
    if (value === null || typeof value !== "object") return false;
    const v = value as Record<string, unknown>;
    return typeof v.kind === "string" && KINDS.has(v.kind) &&
      typeof v.meshName === "string" && Number.isInteger(v.rank) && (v.rank as number) >= 0 &&
      typeof v.procId === "string" && (v.actorId === null || typeof v.actorId === "string") &&
      isStatus(v.status) && typeof v.reason === "string" && Array.isArray(v.stderrTail) &&
      v.stderrTail.every((l) => typeof l === "string") && typeof v.occurredAt === "number" &&
      (v.exitCode === undefined || Number.isInteger(v.exitCode));
  } catch {
    return false;
  }
}

/**
 * Display form: `KIND of mesh "M" rank R (ACTOR-OR-PROC): REASON`, plus the
 * escalated failure and the stderr tail's last line.
 * @param failure The failure.
 * @returns One line of text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeMeshFailure } from "./failure.ts";
 * assertEquals(
 *   describeMeshFailure({
 *     kind: "ProcExit", meshName: "w", rank: 1, procId: "unix:@a,w-1", actorId: null,
 *     status: { kind: "Failed", message: "Killed(sig=9)" }, reason: "Killed(sig=9)",
 *     stderrTail: [], occurredAt: 0,
 *   }),
 *   'ProcExit of mesh "w" rank 1 (proc unix:@a,w-1): Killed(sig=9)',
 * );
 * ```
 */
export function describeMeshFailure(failure: MeshFailure): string {
  const who = failure.actorId !== null ? `actor ${failure.actorId}` : `proc ${failure.procId}`;
  let text = `${failure.kind} of mesh "${failure.meshName}" rank ${failure.rank} (${who}): ${
    failure.reason || formatStatus(failure.status)
  }`;
  const last = failure.stderrTail.at(-1);
  if (last !== undefined) text += `; last stderr line: ${last}`;
  if (failure.restarting) text += ` (restarting, attempt ${failure.attempt ?? "?"})`;
  if (failure.causedBy !== undefined) {
    const c = failure.causedBy;
    text += ` (caused by ${
      isMeshFailure(c)
        ? describeMeshFailure(c)
        : `${c.kind} of mesh "${c.meshName}" rank ${c.rank}: ${c.reason}`
    })`;
  }
  return text;
}

/**
 * The identity of a failure for duplicate suppression: one proc-level
 * failure (`ProcExit`/`HostLost`) per incarnation of a rank (its proc id:
 * a restarted rank has a new one), one `ActorFailure` per actor.
 * @param failure The failure.
 * @returns A key; equal keys are duplicates.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { failureKey } from "./failure.ts";
 * const base = {
 *   meshName: "w", rank: 1, procId: "p", actorId: null, status: { kind: "Unknown" } as const,
 *   reason: "", stderrTail: [], occurredAt: 0,
 * };
 * assertEquals(failureKey({ ...base, kind: "ProcExit" }), failureKey({ ...base, kind: "HostLost" }));
 * ```
 */
export function failureKey(failure: MeshFailure): string {
  return failure.kind === "ActorFailure"
    ? `actor|${failure.rank}|${failure.actorId ?? ""}`
    : `proc|${failure.rank}|${failure.procId}`;
}
