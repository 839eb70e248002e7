/**
 * Folder-private: what a proc remembers about its terminated actors — one
 * snapshot per actor key, oldest dropped first beyond
 * `TERMINATED_SNAPSHOT_RETENTION`. The proc bounces envelopes for a retained
 * actor with `Mailbox("mailbox owner … is stopped|failed")` and, once
 * forgotten, with `Unroutable` (MB-31 in `proc.ts`).
 * @module
 */

import { config } from "../config/config.ts";
import { TERMINATED_SNAPSHOT_RETENTION } from "../config/attrs.ts";
import type { ActorId } from "./reference.ts";
import type { InstanceCell } from "./_cell.ts";
import type { TerminatedSnapshot } from "./types.ts";

/** A proc's retained terminated-actor snapshots, oldest first. */
export class TerminatedSnapshots {
  readonly #byKey = new Map<string, TerminatedSnapshot>();

  /**
   * Records `cell`'s terminal snapshot, then forgets the oldest beyond the
   * configured retention.
   * @param cell The terminated cell.
   */
  record(cell: InstanceCell): void {
    const snapshot: TerminatedSnapshot = {
      actorId: cell.id,
      status: cell.status.get(),
      terminatedAt: Date.now(),
    };
    if (cell.parent) snapshot.parent = cell.parent.id.key;
    this.#byKey.set(cell.id.key, snapshot);
    const retain = Math.max(0, config.get(TERMINATED_SNAPSHOT_RETENTION));
    while (this.#byKey.size > retain) {
      this.#byKey.delete(this.#byKey.keys().next().value!);
    }
  }

  /**
   * @param key The actor key.
   * @returns Its retained snapshot, if any.
   */
  get(key: string): TerminatedSnapshot | undefined {
    return this.#byKey.get(key);
  }

  /** @returns Ids of the retained actors, oldest first. */
  ids(): ActorId[] {
    return [...this.#byKey.values()].map((s) => s.actorId);
  }
}
