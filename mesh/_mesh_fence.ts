/**
 * Folder-private: fencing on per-rank statuses. Opens an overlay accumulator
 * port on the caller, lets the caller send one request per rank naming that
 * port, and waits until every rank reported (`waitRankStatus`) or nothing
 * arrived for `maxIdleMs` — then the silent ranks become `Timeout(elapsed)`.
 * Optionally reports every snapshot (`onSnapshot`, for progress displays).
 * With `hostOf`, a rank whose host is lost (HW-4) is not asked and reads
 * `Failed("host … is lost …")` at once, and so does every rank of a host
 * declared lost while the fence waits; such hosts are listed in `lost`.
 * @module
 */

import type { Context } from "../actor/types.ts";
import type { Region } from "../ndslice/region.ts";
import { StatusOverlay, type StatusOverlayJSON } from "./resource/overlay.ts";
import {
  OverlayAccumulator,
  RankStatusWaitError,
  waitRankStatus,
} from "./resource/rank_status_wait.ts";
import { Status } from "./resource/status.ts";
import { type StatusMesh, ValueMesh } from "./resource/value_mesh.ts";
import {
  hostKey,
  type HostLike,
  type HostLostError,
  hostLostError,
  onHostsLost,
} from "./supervision/host_lost.ts";

/** Outcome of {@linkcode fenceRankStatuses}. */
export interface FenceResult {
  /** Per-rank statuses (silent ranks as `Timeout`). */
  statuses: StatusMesh;
  /** Set when some ranks stayed silent. */
  error?: RankStatusWaitError;
  /** Hosts found lost (HW-4): their ranks read `Failed`. */
  lost?: HostLostError[];
}

/** Options of {@linkcode fenceRankStatuses}. */
export interface FenceOptions {
  /** Idle bound: silence this long ends the wait, ms. */
  maxIdleMs: number;
  /** Cancellation. */
  signal?: AbortSignal;
  /** Called with every full-mesh snapshot while the ranks report. */
  onSnapshot?: (statuses: StatusMesh) => void;
  /** The host of each rank: ranks of lost hosts fail at once (HW-4). */
  hostOf?: (rank: number) => HostLike;
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
    // The fence is done once every rank reported: publish that at once,
    // checked in O(1) per status push (MS-44).
    publishWhenComplete: true,
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
  const lost = new Map<string, HostLostError>();
  const hostOf = options.hostOf;
  const failHost = (error: HostLostError, ranks: number[]) => {
    lost.set(error.host, error);
    const status = Status.failed(error.message.replace(/^Cannot [^:]*: /, ""));
    for (const r of ranks) acc.push(StatusOverlay.single(r, status)); // HW-4
  };
  const ranksOf = new Map<string, number[]>();
  let unsubscribe = () => {};
  if (hostOf !== undefined) {
    const hosts: HostLike[] = [];
    for (let rank = 0; rank < region.numRanks; rank++) {
      const host = hostOf(rank);
      const key = hostKey(host);
      const list = ranksOf.get(key);
      if (list === undefined) {
        ranksOf.set(key, [rank]);
        hosts.push(host);
      } else list.push(rank);
    }
    unsubscribe = onHostsLost(hosts, (e) => failHost(e, ranksOf.get(hostKey(e.host)) ?? []));
  }
  try {
    for (let rank = 0; rank < region.numRanks; rank++) {
      const dead = hostOf === undefined ? undefined : hostLostError(hostOf(rank));
      if (dead === undefined) request(ref.port, rank);
      else failHost(dead, [rank]);
    }
    try {
      const statuses = await waitRankStatus(observed(), {
        numRanks: region.numRanks,
        maxIdleMs: options.maxIdleMs,
        region,
        signal,
      });
      return lost.size > 0 ? { statuses, lost: [...lost.values()] } : { statuses };
    } catch (error) {
      if (!(error instanceof RankStatusWaitError)) throw error;
      const timeout = Status.timeout(Math.max(0, performance.now() - start));
      const statuses = error.latest.merge(
        error.silentRanks.map((r) => ({ start: r, end: r + 1, value: timeout })),
      );
      return lost.size > 0 ? { statuses, error, lost: [...lost.values()] } : { statuses, error };
    }
  } finally {
    unsubscribe();
    receiver.close();
    acc.close();
    await pump;
  }
}
