/**
 * The pure side of fencing on `GetRankStatus`: an `OverlayAccumulator` folds
 * the overlays that agents send into full `StatusMesh` snapshots (coalescing
 * bursts), and `waitRankStatus` waits on those snapshots until every rank has
 * reported something, or until nothing arrived for `maxIdleMs`.
 *
 * ## Invariants (MS-*)
 * - **MS-17 (wait outcome).** `waitRankStatus` resolves with the first
 *   snapshot whose first `numRanks` values are all ≠ NotExist; it rejects with
 *   `RankStatusWaitError` carrying the latest snapshot (the all-NotExist mesh
 *   when none arrived) and the silent ranks when `maxIdleMs` pass without a
 *   snapshot (the timer re-arms after each one) or the snapshots end; with
 *   `signal.reason` on abort. It holds no timer or listener once settled.
 * - **MS-18 (accumulator).** Nothing is published before the first `push`;
 *   then each snapshot is the template with every pushed overlay applied in
 *   order, right wins. Snapshots are published at most once per
 *   `maxUpdateIntervalMs` (a reader may skip intermediate ones, never the
 *   last); `close()` publishes anything pending, ends every reader, and leaves
 *   no timer behind.
 * - **MS-44 (work per push independent of the rank count).** A push costs
 *   the ranks its overlay covers (one for a single rank's report), never the
 *   mesh's size: the accumulator keeps one mutable value per rank and a count
 *   of the ranks that reported, and builds a full snapshot (O(N)) only when
 *   it publishes one — at most once per `maxUpdateIntervalMs`, plus once when
 *   every rank reported (`publishWhenComplete`) and once on `close()`. So a
 *   fence over N ranks does O(N) work for N reports, not O(N²); `work`
 *   counts the operations (ranks written + ranks copied into snapshots).
 *
 * @module
 */

import { raceAbort } from "../../internal/abort.ts";
import type { Region } from "../../ndslice/region.ts";
import { OverlayError, type StatusOverlay } from "./overlay.ts";
import { Status } from "./status.ts";
import { type StatusMesh, ValueMesh } from "./value_mesh.ts";

/** Why `waitRankStatus` gave up. */
export type RankStatusWaitReason = "idle" | "closed";

/**
 * Not every rank reported before the idle timeout, or the snapshots ended.
 *
 * @example
 * ```ts
 * import { assertEquals, assertRejects } from "@std/assert";
 * import { Region } from "../../ndslice/region.ts";
 * import { RankStatusWaitError, waitRankStatus } from "./rank_status_wait.ts";
 * async function* none() {}
 * const err = await assertRejects(
 *   () => waitRankStatus(none(), { numRanks: 2, maxIdleMs: 10, region: Region.parse("x=2/1") }),
 *   RankStatusWaitError,
 * );
 * assertEquals([err.reason, err.silentRanks], ["closed", [0, 1]]);
 * ```
 */
export class RankStatusWaitError extends Error {
  /** `idle`: `maxIdleMs` passed without a snapshot; `closed`: the snapshots ended. */
  readonly reason: RankStatusWaitReason;
  /** The latest snapshot (all NotExist when none arrived). */
  readonly latest: StatusMesh;
  /** Ranks below `numRanks` still NotExist in `latest`. */
  readonly silentRanks: readonly number[];

  /**
   * Creates the instance (see the class documentation).
   *
   * @param reason Why.
   * @param latest The latest snapshot.
   * @param silentRanks Ranks that never reported.
   * @param maxIdleMs The idle limit, for the message.
   */
  constructor(
    reason: RankStatusWaitReason,
    latest: StatusMesh,
    silentRanks: readonly number[],
    maxIdleMs: number,
  ) {
    const why = reason === "idle" ? `no update for ${maxIdleMs}ms` : "the status stream ended";
    super(
      `Cannot complete rank status wait: ${why} with ${silentRanks.length} rank(s) silent (${
        silentRanks.slice(0, 16).join(",")
      }${silentRanks.length > 16 ? ",…" : ""})`,
    );
    this.name = "RankStatusWaitError";
    this.reason = reason;
    this.latest = latest;
    this.silentRanks = Object.freeze([...silentRanks]);
  }
}

/** Options of `waitRankStatus`. */
export interface WaitRankStatusOptions {
  /** How many leading ranks must report (≤ `region.numRanks`). */
  numRanks: number;
  /** Idle limit between snapshots, ms (> 0). */
  maxIdleMs: number;
  /** The region of the snapshots (for the fallback all-NotExist mesh). */
  region: Region;
  /** Cancellation: rejects with `signal.reason`. */
  signal?: AbortSignal;
}

const IDLE: unique symbol = Symbol("idle");

function silent(mesh: StatusMesh, numRanks: number): number[] {
  const out: number[] = [];
  for (const r of mesh.runs()) { // O(runs), not O(N log runs)
    if (r.start >= numRanks) break;
    if (r.value.kind !== "NotExist") continue;
    for (let i = r.start; i < Math.min(r.end, numRanks); i++) out.push(i);
  }
  return out;
}

function countReported(values: readonly Status[]): number {
  let n = 0;
  for (const v of values) if (v.kind !== "NotExist") n++;
  return n;
}

function nextWithin<T>(
  it: AsyncIterator<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<IteratorResult<T> | typeof IDLE> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve(IDLE);
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    it.next().then((r) => {
      cleanup();
      resolve(r);
    }, (e) => {
      cleanup();
      reject(e);
    });
  });
}

/**
 * `GetRankStatus::wait`: waits until the first `numRanks` ranks all reported
 * something other than NotExist (MS-17). It checks "reported", not
 * "healthy": callers inspect `isTerminating` on the result.
 * @param snapshots Full-mesh snapshots (e.g. `OverlayAccumulator.snapshots()`).
 * @param options Ranks, idle limit, region, signal.
 * @returns The first complete snapshot.
 * @throws {RankStatusWaitError} On idle timeout or end of snapshots.
 * @throws {RangeError} When `numRanks` exceeds the region or `maxIdleMs` ≤ 0.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Region } from "../../ndslice/region.ts";
 * import { StatusOverlay } from "./overlay.ts";
 * import { Status } from "./status.ts";
 * import { ValueMesh } from "./value_mesh.ts";
 * import { OverlayAccumulator, waitRankStatus } from "./rank_status_wait.ts";
 * const region = Region.parse("hosts=2/1");
 * using acc = new OverlayAccumulator(ValueMesh.fromSingle(region, Status.NotExist));
 * acc.push(StatusOverlay.single(1, Status.Running));
 * acc.push(StatusOverlay.single(0, Status.failed("boom")));
 * const mesh = await waitRankStatus(acc.snapshots(), { numRanks: 2, maxIdleMs: 1000, region });
 * assertEquals(mesh.values().map((s) => s.kind), ["Failed", "Running"]);
 * ```
 */
export async function waitRankStatus(
  snapshots: AsyncIterable<StatusMesh>,
  options: WaitRankStatusOptions,
): Promise<StatusMesh> {
  const { numRanks, maxIdleMs, region, signal } = options;
  if (!Number.isSafeInteger(numRanks) || numRanks < 0 || numRanks > region.numRanks) {
    throw new RangeError(`Cannot wait for ${numRanks} ranks: region ${region} has fewer`);
  }
  if (!(maxIdleMs > 0)) throw new RangeError(`Cannot wait with maxIdleMs ${maxIdleMs}`);
  signal?.throwIfAborted();
  let latest: StatusMesh = ValueMesh.fromSingle(region, Status.NotExist);
  if (numRanks === 0) return latest;
  const it = snapshots[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      const r = await nextWithin(it, maxIdleMs, signal); // MS-17: re-armed per snapshot
      if (r === IDLE) {
        throw new RankStatusWaitError("idle", latest, silent(latest, numRanks), maxIdleMs);
      }
      if (r.done) {
        finished = true;
        throw new RankStatusWaitError("closed", latest, silent(latest, numRanks), maxIdleMs);
      }
      latest = r.value;
      if (silent(latest, numRanks).length === 0) return latest;
    }
  } finally {
    // Release the source without waiting: a parked generator's return() only
    // settles after its pending next().
    if (!finished) it.return?.().catch(() => {});
  }
}

/** Options of `OverlayAccumulator`. */
export interface OverlayAccumulatorOptions {
  /** Minimum spacing of published snapshots, ms (default 50, as in [HM]). */
  maxUpdateIntervalMs?: number;
  /**
   * Publish at once, spacing notwithstanding, when every rank reported
   * (none is `NotExist`): waiting out the interval would only add latency.
   * Checked in O(1) per push (MS-44).
   */
  publishWhenComplete?: boolean;
}

/**
 * Folds `StatusOverlay`s into full `StatusMesh` snapshots (MS-18) — the
 * receiving side of an accumulator port.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Region } from "../../ndslice/region.ts";
 * import { StatusOverlay } from "./overlay.ts";
 * import { Status } from "./status.ts";
 * import { ValueMesh } from "./value_mesh.ts";
 * import { OverlayAccumulator } from "./rank_status_wait.ts";
 * const acc = new OverlayAccumulator(ValueMesh.fromSingle(Region.parse("x=2/1"), Status.NotExist));
 * acc.push(StatusOverlay.single(0, Status.Running));
 * acc.close();
 * const seen = [];
 * for await (const mesh of acc.snapshots()) seen.push(mesh.toString());
 * assertEquals(seen, ["x=2/1{0..1: Running, 1..2: NotExist}"]);
 * ```
 */
export class OverlayAccumulator {
  readonly #template: StatusMesh;
  readonly #intervalMs: number;
  /** One value per rank once pushed to (MS-44); `undefined` before the first push. */
  #values: Status[] | undefined;
  #reported = 0;
  #work = 0;
  /** The snapshot of `#values`, built lazily. */
  #current: StatusMesh | undefined;
  #stale = false;
  #published: StatusMesh | undefined;
  #version = 0;
  #dirty = false;
  #lastPublishAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #publishWhenComplete: boolean;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param template The mesh the first overlay is applied to.
   * @param options Coalescing interval.
   * @throws {RangeError} For a negative interval.
   */
  constructor(template: StatusMesh, options: OverlayAccumulatorOptions = {}) {
    const { maxUpdateIntervalMs = 50 } = options;
    if (!(maxUpdateIntervalMs >= 0)) {
      throw new RangeError(`Cannot use maxUpdateIntervalMs ${maxUpdateIntervalMs}`);
    }
    this.#template = template;
    this.#intervalMs = maxUpdateIntervalMs;
    this.#publishWhenComplete = options.publishWhenComplete === true;
  }

  /**
   * The merged state so far (including unpublished overlays).
   * @returns The mesh, or `undefined` before the first push.
   */
  get latest(): StatusMesh | undefined {
    return this.#snapshot();
  }

  /** Ranks whose value is not `NotExist` (0 before the first push). */
  get reported(): number {
    return this.#reported;
  }

  /**
   * Operations done so far (MS-44): ranks written by pushes plus ranks
   * copied into snapshots — the measure of work the MS-44 test bounds.
   */
  get work(): number {
    return this.#work;
  }

  /**
   * Whether `close()` was called.
   * @returns The flag.
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Applies an overlay, right wins, and schedules a snapshot.
   * @param overlay The update.
   * @returns `false` (and ignores it) after close.
   * @throws {OverlayError} When a run is outside the template (state unchanged).
   */
  push(overlay: StatusOverlay): boolean {
    if (this.#closed) return false;
    const runs = overlay.runs();
    const last = runs[runs.length - 1];
    const n = this.#template.numRanks;
    if (last !== undefined && last.end > n) {
      throw new OverlayError( // state unchanged (MS-15)
        "OutOfRange",
        `Cannot merge run ${last.start}..${last.end}: mesh has ${n} ranks`,
      );
    }
    if (this.#values === undefined) { // once per accumulator
      this.#values = this.#template.values();
      this.#reported = countReported(this.#values);
      this.#work += n;
    }
    const values = this.#values;
    for (const run of runs) { // MS-18 right wins; MS-44 O(covered ranks)
      const now = run.value.kind !== "NotExist";
      for (let i = run.start; i < run.end; i++) {
        const was = values[i].kind !== "NotExist";
        if (now !== was) this.#reported += now ? 1 : -1;
        values[i] = run.value;
      }
      this.#work += run.end - run.start;
    }
    this.#stale = true;
    this.#dirty = true;
    if (this.#publishWhenComplete && this.#reported === n) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#publish();
      return true;
    }
    if (this.#timer !== undefined) return true;
    const wait = this.#lastPublishAt + this.#intervalMs - performance.now();
    if (wait <= 0) this.#publish();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#publish();
      }, wait);
    }
    return true;
  }

  /**
   * Snapshots as they are published: the latest unseen one each time (a new
   * reader starts with the current one, if any). Ends after `close()`.
   * @param options Cancellation: the generator throws `signal.reason`.
   * @returns An async generator of meshes.
   */
  async *snapshots(options: { signal?: AbortSignal } = {}): AsyncGenerator<StatusMesh, void> {
    const { signal } = options;
    let seen = 0;
    while (true) {
      signal?.throwIfAborted();
      if (this.#version > seen && this.#published) {
        seen = this.#version;
        yield this.#published;
        continue;
      }
      if (this.#closed) return;
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(resolve);
      });
      try {
        await raceAbort(woken, signal);
      } finally {
        this.#waiters.delete(wake);
      }
    }
  }

  /** Publishes anything pending, ends all readers, clears the timer (MS-18). */
  close(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#publish();
    this.#closed = true;
    this.#wakeAll();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #snapshot(): StatusMesh | undefined {
    if (this.#stale && this.#values !== undefined) {
      this.#current = ValueMesh.fromValues(this.#template.region, this.#values);
      this.#work += this.#values.length;
      this.#stale = false;
    }
    return this.#current;
  }

  #publish(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#published = this.#snapshot();
    this.#version++;
    this.#lastPublishAt = performance.now();
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
    this.#waiters.clear();
  }
}
