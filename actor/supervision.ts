/**
 * Supervision events: what a parent (or the proc's supervision coordinator)
 * learns when an actor reaches a terminal status.
 *
 * @module
 */

import type { HeaderValue } from "./envelope.ts";
import { type ActorStatus, describeActorStatus } from "./status.ts";

/** Message type name under which supervision events travel to a coordinator port. */
export const SUPERVISION_EVENT_TYPE = "ActorSupervisionEvent";

/**
 * Message type name under which a mesh failure reaches the actor that owns
 * the mesh (the seeds' `__supervise__`): the actor's message loop hands it to
 * {@linkcode import("./types.ts").Actor.handleMeshFailure} (MB-50).
 */
export const MESH_FAILURE_TYPE = "__supervise__";

/**
 * Header set on every message of a mesh cast (its value: the mesh name). A
 * cast message that comes back undeliverable does not fail the sending
 * actor: the rank's death reaches the mesh's owner as a mesh failure
 * (MB-51).
 */
export const MESH_CAST_HEADER = "hypermesh.mesh_cast";

/**
 * What the actor layer needs of a mesh failure (the mesh layer's
 * `MeshFailure` has these fields and more). Plain data.
 */
export interface SupervisedFailure {
  /** What failed: `ProcExit`, `ActorFailure` or `HostLost`. */
  kind: string;
  /** The mesh's name. */
  meshName: string;
  /** The failed rank. */
  rank: number;
  /** Why, one line. */
  reason: string;
}

/**
 * An actor reached a terminal status. Plain data (it crosses processes).
 */
export interface ActorSupervisionEvent {
  /** The actor's id (canonical text). */
  actorId: string;
  /** Optional human-readable name. */
  displayName?: string;
  /** When it happened (ms since the epoch). */
  occurredAt: number;
  /** The actor's terminal status. */
  status: ActorStatus;
  /** Headers of the message being handled when it failed, if any. */
  messageHeaders?: Record<string, HeaderValue>;
  /** The child event this one escalates (`UnhandledSupervisionEvent`). */
  causedBy?: ActorSupervisionEvent;
  /** The mesh failure this actor did not handle (`UnhandledMeshFailure`, MB-50). */
  meshFailure?: SupervisedFailure;
}

/**
 * Display form of a mesh failure: `mesh "M" rank R: REASON`.
 * @param failure The failure.
 * @returns One line of text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeSupervisedFailure } from "./supervision.ts";
 * assertEquals(
 *   describeSupervisedFailure({ kind: "ProcExit", meshName: "w", rank: 1, reason: "Killed(sig=9)" }),
 *   'mesh "w" rank 1: Killed(sig=9)',
 * );
 * ```
 */
export function describeSupervisedFailure(failure: SupervisedFailure): string {
  return `mesh "${failure.meshName}" rank ${failure.rank}: ${failure.reason}`;
}

/**
 * Whether the event reports a failure (status `Failed`).
 * @param event The event.
 * @returns True iff `event.status.kind === "Failed"`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isError } from "./supervision.ts";
 * assert(isError({ actorId: "local:1,p,a[0]", occurredAt: 0, status: { kind: "Failed", error: "x" } }));
 * ```
 */
export function isError(event: ActorSupervisionEvent): boolean {
  return event.status.kind === "Failed";
}

/**
 * Display form: `<actor>: <status>` plus the cause chain.
 * @param event The event.
 * @returns One line of text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeSupervisionEvent } from "./supervision.ts";
 * assertEquals(
 *   describeSupervisionEvent({ actorId: "local:1,p,a[0]", occurredAt: 0, status: { kind: "Stopped", reason: "done" } }),
 *   "local:1,p,a[0]: stopped: done",
 * );
 * ```
 */
export function describeSupervisionEvent(event: ActorSupervisionEvent): string {
  const name = event.displayName ?? event.actorId;
  const cause = event.causedBy ? ` (caused by ${describeSupervisionEvent(event.causedBy)})` : "";
  return `${name}: ${describeActorStatus(event.status, event.occurredAt)}${cause}`;
}
