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
