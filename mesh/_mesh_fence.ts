/**
 * Folder-private: fencing on per-rank statuses. Opens an overlay accumulator
 * port on the caller, lets the caller send one request per rank naming that
 * port, and waits until every rank reported (`waitRankStatus`) or nothing
 * arrived for `maxIdleMs` — then the silent ranks become `Timeout(elapsed)`.
 * Optionally reports every snapshot (`onSnapshot`, for progress displays).
 * @module
 */

import type { Context } from "../actor/instance.ts";
import type { Region } from "./region.ts";
import { StatusOverlay, type StatusOverlayJSON } from "./resource/overlay.ts";
import {
  OverlayAccumulator,
  RankStatusWaitError,
  waitRankStatus,
} from "./resource/rank_status_wait.ts";
import { Status } from "./resource/status.ts";
import { type StatusMesh, ValueMesh } from "./resource/value_mesh.ts";

/** Outcome of {@linkcode fenceRankStatuses}. */
export interface FenceResult {
  /** Per-rank statuses (silent ranks as `Timeout`). */
  statuses: StatusMesh;
  /** Set when some ranks stayed silent. */
  error?: RankStatusWaitError;
}

/** Options of {@linkcode fenceRankStatuses}. */
export interface FenceOptions {
  /** Idle bound: silence this long ends the wait, ms. */
  maxIdleMs: number;
  /** Cancellation. */
  signal?: AbortSignal;
  /** Called with every full-mesh snapshot while the ranks report. */
  onSnapshot?: (statuses: StatusMesh) => void;
}

/**
 * Sends `request(replyPortText, rank)` for every rank of `region` and folds
 * the overlay replies until every rank reported or `maxIdleMs` of silence.
 * @param cx The caller (owns the reply port for the duration).
 * @param region The ranks.
 * @param request Sends one rank's request.
 * @param options Idle bound, cancellation, snapshot observer.
 * @returns Statuses, plus the wait error when ranks were silent.
 * @throws Whatever `request` throws, or `signal.reason`.
 */
export async function fenceRankStatuses(
  cx: Context,
  region: Region,
  request: (reply: string, rank: number) => void,
  options: FenceOptions,
): Promise<FenceResult> {
  const { ref, receiver } = cx.openPort<StatusOverlayJSON>();
  const acc = new OverlayAccumulator(ValueMesh.fromSingle(region, Status.NotExist), {
    // The fence is done once every rank reported: publish that at once.
    publishNow: (mesh) => mesh.values().every((s) => s.kind !== "NotExist"),
  });
  const pump = (async () => {
    for await (const json of receiver) {
      try {
        acc.push(StatusOverlay.fromJSON(json));
      } catch (error) {
        console.warn(`hypermesh: ignoring bad status overlay: ${(error as Error).message}`);
      }
    }
  })();
  const { onSnapshot, signal } = options;
  async function* observed(): AsyncGenerator<StatusMesh> {
    for await (const snapshot of acc.snapshots({ signal })) {
      onSnapshot?.(snapshot);
      yield snapshot;
    }
  }
  const start = performance.now();
  try {
    for (let rank = 0; rank < region.numRanks; rank++) request(ref.port, rank);
    try {
      const statuses = await waitRankStatus(observed(), {
        numRanks: region.numRanks,
        maxIdleMs: options.maxIdleMs,
        region,
        signal,
      });
      return { statuses };
    } catch (error) {
      if (!(error instanceof RankStatusWaitError)) throw error;
      const timeout = Status.timeout(Math.max(0, performance.now() - start));
      const statuses = error.latest.merge(
        error.silentRanks.map((r) => ({ start: r, end: r + 1, value: timeout })),
      );
      return { statuses, error };
    }
  } finally {
    receiver.close();
    acc.close();
    await pump;
  }
}
