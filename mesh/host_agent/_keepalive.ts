/**
 * Folder-private: the host agent's orphan keepalive. A `KeepaliveGetState`
 * extends a proc's lease (owners send them: `supervision/keepalive.ts`);
 * while any lease is set, a `CheckKeepalive` self message runs every
 * {@linkcode checkPeriodMs} and stops the procs whose lease expired (reason
 * `orphaned`). An agent whose `HYPERACTOR_MESH_ORPHAN_TIMEOUT` is 0 never
 * checks.
 *
 * ## Invariants (OW-*)
 * - **OW-3 (orphan reaping).** A proc whose lease expired is asked to stop
 *   within one check period (at most 500 ms) of the expiry, so an owner's
 *   procs are stopped within the orphan timeout plus that period (plus the
 *   stop itself) of its last renewal; procs of other owners, and procs
 *   without a lease, are untouched, and the agent keeps serving.
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { config } from "../../config/config.ts";
import { MESH_ORPHAN_TIMEOUT } from "../../config/attrs.ts";
import type { KeepaliveGetState } from "../resource/protocol.ts";
import { isTerminated } from "../resource/status.ts";
import { type ProcTable, reply } from "./_procs.ts";
import type { HostAgent } from "./host_agent.ts";

/** The lease check timer of one host agent. */
export class OrphanKeepalive {
  #armed = false;

  /**
   * Handles `KeepaliveGetState`: records the lease, arms the check, replies
   * with the proc's state.
   * @param cx The agent.
   * @param msg The request.
   * @param procs The agent's proc records.
   */
  getState(cx: Context, msg: KeepaliveGetState, procs: ProcTable): void {
    const rec = procs.get(msg.getState.name);
    if (rec) rec.expiresAt = msg.expiresAfterMs;
    this.#arm(cx);
    reply(cx, msg.getState.reply, procs.stateOf(msg.getState.name));
  }

  /**
   * Handles `CheckKeepalive`: stops every proc whose lease expired and
   * re-arms while leases remain.
   * @param cx The agent.
   * @param procs The agent's proc records.
   * @param stop Stops one proc by name.
   */
  check(cx: Context, procs: ProcTable, stop: (name: string, reason: string) => void): void {
    this.#armed = false;
    const now = Date.now();
    for (const rec of procs.records()) {
      if (rec.expiresAt !== undefined && rec.expiresAt < now && !isTerminated(rec.status)) {
        rec.expiresAt = undefined;
        stop(rec.name, "orphaned");
      }
    }
    if (procs.records().some((r) => r.expiresAt !== undefined)) this.#arm(cx);
  }

  #arm(cx: Context): void {
    const timeout = config.get(MESH_ORPHAN_TIMEOUT);
    if (this.#armed || !(timeout > 0)) return;
    this.#armed = true;
    (cx as Context<HostAgent>).selfMessageWithDelay("CheckKeepalive", {}, {
      delayMs: checkPeriodMs(timeout),
    });
  }
}

/**
 * How often leases are checked for an orphan timeout (OW-3): an eighth of
 * it, within 50..500 ms.
 * @param timeoutMs `HYPERACTOR_MESH_ORPHAN_TIMEOUT`, ms (> 0).
 * @returns The check period, ms.
 */
export function checkPeriodMs(timeoutMs: number): number {
  return Math.min(500, Math.max(50, Math.floor(timeoutMs / 8)));
}
