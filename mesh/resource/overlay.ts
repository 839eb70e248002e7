/**
 * `StatusOverlay`: a sparse update to a `StatusMesh` — sorted,
 * non-overlapping, non-empty `[start, end)` runs of statuses, touching equal
 * runs coalesced. Agents answer `GetRankStatus` with an overlay (a single run
 * for the resource's rank, or empty when the resource is unknown); the
 * receiver folds overlays into a full mesh with `applyOverlay`.
 *
 * JSON form (on the wire): `{runs: [{start, end, value: Status}]}`.
 *
 * ## Invariants (MS-*)
 * - **MS-14 (overlay shape).** A constructed overlay's runs are non-empty,
 *   sorted, non-overlapping, and coalesced; anything else throws
 *   `OverlayError`.
 * - **MS-15 (right wins).** `applyOverlay(mesh, o)` gives every rank covered
 *   by `o` its overlay status and leaves the others unchanged; a run past the
 *   mesh's last rank throws `OverlayError` (`OutOfRange`) and changes nothing.
 *
 * @module
 */

import { formatStatus, isStatus, type Status, statusKey } from "./status.ts";
import { mergeRuns, normalizeRuns, OverlayError, type Run } from "./runs.ts";
import type { StatusMesh } from "./value_mesh.ts";

export { OverlayError } from "./runs.ts";
export type { OverlayErrorKind, Run } from "./runs.ts";

/** JSON form of an overlay. */
export interface StatusOverlayJSON {
  /** The runs. */
  runs: { start: number; end: number; value: Status }[];
}

/**
 * A sparse, validated set of status runs (MS-14).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Status } from "./status.ts";
 * import { StatusOverlay } from "./overlay.ts";
 * const o = new StatusOverlay([
 *   { start: 0, end: 1, value: Status.Running },
 *   { start: 1, end: 2, value: Status.Running },
 *   { start: 5, end: 6, value: Status.failed("x") },
 * ]);
 * assertEquals(o.toString(), "[0..2: Running, 5..6: Failed(x)]");
 * ```
 */
export class StatusOverlay {
  readonly #runs: readonly Run<Status>[];

  /**
   * Creates the instance (see the class documentation).
   *
   * @param runs Sorted, non-overlapping, non-empty runs (default: none).
   * @throws {OverlayError} When the runs break those rules, or a value is not a `Status`.
   */
  constructor(runs: Iterable<Run<Status>> = []) {
    const list = [...runs];
    for (const r of list) {
      if (!isStatus(r?.value)) {
        throw new OverlayError("InvalidRun", `Cannot use run value ${JSON.stringify(r?.value)}`);
      }
    }
    this.#runs = Object.freeze(normalizeRuns(list, statusKey)); // MS-14
  }

  /**
   * One rank's status — the usual `GetRankStatus` reply.
   * @param rank The rank.
   * @param status Its status.
   * @returns The overlay.
   * @throws {OverlayError} For an invalid rank.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Status } from "./status.ts";
   * import { StatusOverlay } from "./overlay.ts";
   * assertEquals(StatusOverlay.single(3, Status.Running).runs(), [{ start: 3, end: 4, value: Status.Running }]);
   * ```
   */
  static single(rank: number, status: Status): StatusOverlay {
    return new StatusOverlay([{ start: rank, end: rank + 1, value: status }]);
  }

  /**
   * Validates a decoded JSON overlay.
   * @param json Anything.
   * @returns The overlay.
   * @throws {OverlayError} When `json` is not a valid `StatusOverlayJSON`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Status } from "./status.ts";
   * import { StatusOverlay } from "./overlay.ts";
   * const o = StatusOverlay.single(1, Status.Stopped);
   * assertEquals(StatusOverlay.fromJSON(JSON.parse(JSON.stringify(o))).runs(), o.runs());
   * ```
   */
  static fromJSON(json: unknown): StatusOverlay {
    const runs = (json as { runs?: unknown } | null)?.runs;
    if (!Array.isArray(runs)) {
      throw new OverlayError("InvalidRun", `Cannot decode overlay: expected {runs: [...]}`);
    }
    return new StatusOverlay(runs as Run<Status>[]);
  }

  /**
   * The runs.
   * @returns Sorted, coalesced runs.
   */
  runs(): readonly Run<Status>[] {
    return this.#runs;
  }

  /**
   * Whether there are no runs.
   * @returns `true` for the empty overlay.
   */
  get isEmpty(): boolean {
    return this.#runs.length === 0;
  }

  /**
   * Combines two overlays, `other` winning on overlap (as the comm tree does
   * when pre-merging replies).
   * @param other The later overlay.
   * @returns The combined overlay.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Status } from "./status.ts";
   * import { StatusOverlay } from "./overlay.ts";
   * const a = new StatusOverlay([{ start: 0, end: 3, value: Status.Running }]);
   * assertEquals(a.merge(StatusOverlay.single(1, Status.Stopped)).toString(),
   *   "[0..1: Running, 1..2: Stopped, 2..3: Running]");
   * ```
   */
  merge(other: StatusOverlay): StatusOverlay {
    return new StatusOverlay(mergeRuns(this.#runs, other.#runs, statusKey));
  }

  /**
   * JSON form.
   * @returns `{runs}`.
   */
  toJSON(): StatusOverlayJSON {
    return { runs: this.#runs.map((r) => ({ start: r.start, end: r.end, value: r.value })) };
  }

  /**
   * Display form `[a..b: Status, …]`.
   * @returns The text.
   */
  toString(): string {
    return `[${
      this.#runs.map((r) => `${r.start}..${r.end}: ${formatStatus(r.value)}`).join(", ")
    }]`;
  }
}

/**
 * Applies an overlay to a status mesh, right wins (MS-15).
 * @param mesh The current statuses.
 * @param overlay The update.
 * @returns A new mesh.
 * @throws {OverlayError} `OutOfRange` when a run reaches past the mesh.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Region } from "../../ndslice/region.ts";
 * import { ValueMesh } from "./value_mesh.ts";
 * import { Status } from "./status.ts";
 * import { applyOverlay, StatusOverlay } from "./overlay.ts";
 * const mesh = ValueMesh.fromSingle(Region.parse("hosts=3/1"), Status.NotExist);
 * const next = applyOverlay(mesh, StatusOverlay.single(2, Status.Running));
 * assertEquals(next.values().map((s) => s.kind), ["NotExist", "NotExist", "Running"]);
 * ```
 */
export function applyOverlay(mesh: StatusMesh, overlay: StatusOverlay): StatusMesh {
  return mesh.merge(overlay.runs()); // MS-15
}
