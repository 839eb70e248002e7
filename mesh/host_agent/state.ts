/**
 * The host agent's lifecycle state machine (reference §7, `HostAgentState`).
 *
 * | State | Meaning | Floor on reported proc status |
 * | --- | --- | --- |
 * | `Detached` | idle, no attached client | none |
 * | `Attached` | at least one proc created since the last drain | none |
 * | `Draining` | a drain is terminating the user procs | `Stopping` |
 * | `Shutdown` | the host was released | `Stopped` |
 *
 * Transitions: the first `CreateOrUpdate` (even a failing one)
 * Detached→Attached; a full `DrainHost` Attached→Draining→Detached; a
 * `DrainHost` in any other state acks at once; `ShutdownHost` → Shutdown
 * (final).
 *
 * @module
 */

import { clampMin, Status } from "../resource/status.ts";

/** The agent states. */
export type HostAgentStateKind = "Detached" | "Attached" | "Draining" | "Shutdown";

/**
 * The state machine; illegal transitions return `false` and change nothing.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostAgentState } from "./state.ts";
 * import { Status } from "../resource/status.ts";
 * const s = new HostAgentState();
 * s.created();
 * assertEquals(s.beginDrain(), true);
 * assertEquals(s.floor(Status.Running).kind, "Stopping");
 * s.endDrain();
 * assertEquals(s.kind, "Detached");
 * ```
 */
export class HostAgentState {
  #kind: HostAgentStateKind = "Detached";

  /** The current state. */
  get kind(): HostAgentStateKind {
    return this.#kind;
  }

  /**
   * A proc was created (or its creation attempted): Detached→Attached.
   * @returns Whether creation is allowed (not Draining/Shutdown).
   */
  created(): boolean {
    if (this.#kind === "Shutdown" || this.#kind === "Draining") return false;
    this.#kind = "Attached";
    return true;
  }

  /**
   * Starts a full drain: Attached→Draining.
   * @returns `true` when a drain must run; `false` when the caller should ack at once.
   */
  beginDrain(): boolean {
    if (this.#kind !== "Attached") return false;
    this.#kind = "Draining";
    return true;
  }

  /**
   * The drain finished: Draining→Detached.
   * @returns Whether the transition happened.
   */
  endDrain(): boolean {
    if (this.#kind !== "Draining") return false;
    this.#kind = "Detached";
    return true;
  }

  /**
   * Releases the host: from any state → Shutdown.
   * @returns `false` when already Shutdown.
   */
  shutdown(): boolean {
    if (this.#kind === "Shutdown") return false;
    this.#kind = "Shutdown";
    return true;
  }

  /**
   * Applies the state's floor to a proc status.
   * @param status The proc's own status.
   * @returns The reported status.
   */
  floor(status: Status): Status {
    if (this.#kind === "Draining") return clampMin(status, Status.Stopping);
    if (this.#kind === "Shutdown") return clampMin(status, Status.Stopped);
    return status;
  }
}
