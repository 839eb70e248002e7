/**
 * Folder-private: the proc agent's orphan self-check. The first keepalive
 * arms a `SelfCheck` self message; each check stops the created actors whose
 * keepalive expiry passed and re-arms while keepalives remain live.
 *
 * ## Invariants (PA-*)
 * Enforced here, promised by `proc_agent.ts`:
 * - **PA-4 (orphans).** With `HYPERACTOR_MESH_ORPHAN_TIMEOUT` > 0, every
 *   period the agent stops (reason `orphaned`) each created, not yet stopped
 *   actor whose keepalive expiry is in the past; 0 disables the check. The
 *   check's timer dies with the agent (a self message, MB-30).
 * @module
 */

import { config } from "../../config/config.ts";
import { STOP_ACTOR_TIMEOUT } from "../../config/attrs.ts";
import type { Context } from "../../actor/types.ts";
import type { StopOptions } from "../../internal/stop_options.ts";
import type { ActorRecord } from "./_core.ts";

/** The self-check timer of one proc agent. */
export class OrphanCheck {
  readonly #periodMs: number;
  #armed = false;

  /**
   * @param periodMs The check period; 0 disables the check.
   */
  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  /**
   * Schedules the next `SelfCheck` unless disabled or already scheduled.
   * @param cx The agent's context.
   */
  arm(cx: Context): void {
    if (this.#periodMs <= 0 || this.#armed) return;
    this.#armed = true;
    cx.selfMessageWithDelay("SelfCheck", {}, { delayMs: this.#periodMs });
  }

  /**
   * Handles `SelfCheck`: stops every expired actor (PA-4), then re-arms
   * while keepalives are live.
   * @param cx The agent's context.
   * @param records The agent's records (read again after the stops).
   * @param stopActor Stops one actor and waits (bounded).
   */
  async check(
    cx: Context,
    records: () => Iterable<ActorRecord>,
    stopActor: (actorId: string, options: StopOptions) => Promise<unknown>,
  ): Promise<void> {
    if (this.#periodMs <= 0) return;
    const now = Date.now();
    const expired: ActorRecord[] = [];
    for (const record of records()) {
      if (record.expiryMs === undefined || record.stopped || !record.spawn.ok) continue;
      if (now > record.expiryMs) expired.push(record);
    }
    if (expired.length > 0) {
      console.warn(`hypermesh: stopping ${expired.length} orphaned actor(s) past their keepalive`);
    }
    const graceMs = config.get(STOP_ACTOR_TIMEOUT);
    for (const record of expired) {
      record.stopped = true; // PA-4
      if (record.spawn.ok) await stopActor(record.spawn.actorId, { graceMs, reason: "orphaned" });
    }
    this.#armed = false;
    const watched = [...records()].some((r) =>
      r.expiryMs !== undefined && !r.stopped && r.spawn.ok
    );
    if (watched) this.arm(cx); // keep checking while keepalives are live
  }
}
