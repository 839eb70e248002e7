/**
 * `ActorStatus`: the lifecycle state of an actor, published in a watch cell.
 *
 * `Created → Initializing → Idle ⇄ Processing → Stopping → Stopped | Failed`;
 * client instances (no message loop) sit in `Client` until disposed. Display
 * strings are lowercase, as in Monarch (`idle`, `stopped: <reason>`,
 * `failed: <error>`, `processing for Nms`).
 *
 * @module
 */

/** The lifecycle state of an actor (plain data: it travels in supervision events). */
export type ActorStatus =
  | { kind: "Unknown" }
  | { kind: "Created" }
  | { kind: "Initializing" }
  | { kind: "Client" }
  | { kind: "Idle" }
  | { kind: "Processing"; since: number; handler?: string }
  | { kind: "Stopping" }
  | { kind: "Stopped"; reason: string }
  | { kind: "Failed"; error: string };

/** Shared constant statuses (no allocation on the hot path). */
export const ActorStatuses: {
  readonly Unknown: ActorStatus;
  readonly Created: ActorStatus;
  readonly Initializing: ActorStatus;
  readonly Client: ActorStatus;
  readonly Idle: ActorStatus;
  readonly Stopping: ActorStatus;
} = Object.freeze({
  Unknown: Object.freeze({ kind: "Unknown" }),
  Created: Object.freeze({ kind: "Created" }),
  Initializing: Object.freeze({ kind: "Initializing" }),
  Client: Object.freeze({ kind: "Client" }),
  Idle: Object.freeze({ kind: "Idle" }),
  Stopping: Object.freeze({ kind: "Stopping" }),
});

/**
 * Whether the status is final (`Stopped` or `Failed`).
 * @param status A status.
 * @returns True for `Stopped` and `Failed`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTerminal } from "./status.ts";
 * assert(isTerminal({ kind: "Stopped", reason: "done" }));
 * assert(!isTerminal({ kind: "Idle" }));
 * ```
 */
export function isTerminal(status: ActorStatus): boolean {
  return status.kind === "Stopped" || status.kind === "Failed";
}

/**
 * Whether the status is `Failed`.
 * @param status A status.
 * @returns True for `Failed`.
 */
export function isFailed(status: ActorStatus): status is { kind: "Failed"; error: string } {
  return status.kind === "Failed";
}

/**
 * Lowercase display form.
 * @param status A status.
 * @param now Clock reading for `processing for Nms` (default `Date.now()`).
 * @returns e.g. `idle`, `stopped: done`, `failed: boom`, `processing for 12ms`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeActorStatus } from "./status.ts";
 * assertEquals(describeActorStatus({ kind: "Failed", error: "boom" }), "failed: boom");
 * assertEquals(describeActorStatus({ kind: "Processing", since: 10 }, 25), "processing for 15ms");
 * ```
 */
export function describeActorStatus(status: ActorStatus, now: number = Date.now()): string {
  switch (status.kind) {
    case "Processing":
      return `processing for ${Math.max(0, now - status.since)}ms` +
        (status.handler ? ` (${status.handler})` : "");
    case "Stopped":
      return `stopped: ${status.reason}`;
    case "Failed":
      return `failed: ${status.error}`;
    default:
      return status.kind.toLowerCase();
  }
}
