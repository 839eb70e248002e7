/**
 * Folder-private: the stop machinery behind `Proc.destroyAndWait` (Monarch's
 * `destroy_and_wait`, reference §4.4) — stop the roots, wait, abort what is
 * left, then the supervision coordinator the same way, then flush.
 *
 * ## Invariants (MB-*)
 * Enforced here, promised by `proc.ts`:
 * - **MB-33 (bounded destroy).** `destroyAndWait({ graceMs: t })` settles after about
 *   `t` (twice, when a coordinator must also be stopped) plus the bounded
 *   forwarder flush, whatever the actors do: an actor whose handler never
 *   returns is aborted (status `Failed("aborted")`) and reported as such.
 * @module
 */

import { config } from "../config/config.ts";
import { FORWARDER_FLUSH_TIMEOUT } from "../config/attrs.ts";
import type { ActorId } from "./reference.ts";
import { settlesWithinLight } from "../internal/light_timer.ts";
import { raceAbort } from "../internal/abort.ts";
import { ActorCell, type InstanceCell } from "./_cell.ts";
import type { DestroyOptions, DestroyResult } from "./types.ts";

/** What a destroy acts on. */
export interface DestroyTarget {
  /** The proc's live cells by actor key. */
  readonly live: ReadonlyMap<string, InstanceCell>;
  /** The supervision coordinator's actor key, if one is set. */
  readonly coordinatorKey: string | undefined;
  /** Flushes the proc's forwarder. */
  flush(): Promise<void>;
}

/**
 * Stops every root actor of `target` except the caller, the coordinator last
 * (MB-33: each group bounded by `graceMs`, stragglers aborted; an aborted
 * `signal` ends the grace at once), flushes (bounded by
 * `FORWARDER_FLUSH_TIMEOUT`), then aborts the caller unless `exceptCurrent`.
 * @param target The proc's parts.
 * @param graceMs How long each group gets to stop (validated by the caller).
 * @param options Caller, reason, exceptCurrent, signal.
 * @returns Which roots stopped and which actors were aborted.
 */
export async function destroyActors(
  target: DestroyTarget,
  graceMs: number,
  options: DestroyOptions,
): Promise<DestroyResult> {
  const reason = options.reason ?? "proc destroyed";
  const currentKey = options.cx?.self.key;
  const stopped: ActorId[] = [];
  const aborted: ActorId[] = [];
  const roots: ActorCell[] = [];
  let coordinator: ActorCell | undefined;
  for (const cell of target.live.values()) {
    if (cell.parent !== undefined || cell.id.key === currentKey) continue;
    if (!(cell instanceof ActorCell)) continue;
    if (cell.id.key === target.coordinatorKey) coordinator = cell;
    else roots.push(cell);
  }
  const grace = { graceMs, signal: options.signal };
  await stopGroup(roots, grace, reason, stopped, aborted);
  if (coordinator) await stopGroup([coordinator], grace, reason, stopped, aborted);
  await settlesWithinLight(target.flush(), config.get(FORWARDER_FLUSH_TIMEOUT));
  if (currentKey !== undefined && !options.exceptCurrent) {
    target.live.get(currentKey)?.abort("aborted");
  }
  return { stopped, aborted };
}

async function stopGroup(
  roots: ActorCell[],
  grace: { graceMs: number; signal?: AbortSignal },
  reason: string,
  stopped: ActorId[],
  aborted: ActorId[],
): Promise<void> {
  if (roots.length === 0) return;
  for (const root of roots) root.requestStop("DrainAndStop", reason);
  if (grace.graceMs > 0 && !grace.signal?.aborted) {
    // MB-33; an abort settles the race at once (raceAbort rejects) and ends the grace.
    const done = raceAbort(Promise.all(roots.map((r) => r.done)), grace.signal);
    await settlesWithinLight(done, grace.graceMs);
  }
  for (const root of roots) {
    if (root.terminal) {
      stopped.push(root.id);
    } else {
      collectLive(root, aborted);
      root.abort("aborted"); // MB-33
    }
  }
}

function collectLive(cell: InstanceCell, into: ActorId[]): void {
  if (cell.terminal) return;
  into.push(cell.id);
  for (const child of cell.children) collectLive(child, into);
}
