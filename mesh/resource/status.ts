/**
 * Resource `Status`: the lifecycle state of one resource (a proc, an actor) as
 * reported by the resource protocol. Values are plain JSON objects with a
 * `kind` tag: `{kind: "Running"}`, `{kind: "Failed", message}`,
 * `{kind: "Timeout", elapsedMs}`.
 *
 * Display (`formatStatus`): the variant name, `Failed(<message>)`, or
 * `Timeout(<duration>)` where the duration is written like Rust's `Duration`
 * debug form: `1.5s`, `250ms`, `1.5ms`, `20µs`, `0ns`.
 *
 * ## Invariants (MS-*)
 * - **MS-9 (declared order).** `compareStatus` orders `NotExist < Initializing
 *   < Running < Stopping < Stopped < Failed < Timeout < Unknown`; ties within
 *   `Failed` order by message, within `Timeout` by elapsed time. As in the
 *   reference, `Unknown` sorts last, so a wait for `≥ Stopped` is also
 *   satisfied by `Unknown`.
 * - **MS-10 (structural equality).** Two statuses are equal iff their
 *   `statusKey`s are equal; the key ignores property order and extra fields.
 * - **MS-11 (clamp).** `clampMin(s, floor)` is `floor` when `floor` is
 *   terminating and `s` is not, otherwise `s`.
 *
 * @module
 */

/** A resource's lifecycle state. */
export type Status =
  | { readonly kind: "NotExist" }
  | { readonly kind: "Initializing" }
  | { readonly kind: "Running" }
  | { readonly kind: "Stopping" }
  | { readonly kind: "Stopped" }
  | { readonly kind: "Failed"; readonly message: string }
  | { readonly kind: "Timeout"; readonly elapsedMs: number }
  | { readonly kind: "Unknown" };

/** The `kind` tags of `Status`, in declared order. */
export type StatusKind = Status["kind"];

/** Every `StatusKind`, in declared order (MS-9). */
export const STATUS_KINDS: readonly StatusKind[] = Object.freeze(
  [
    "NotExist",
    "Initializing",
    "Running",
    "Stopping",
    "Stopped",
    "Failed",
    "Timeout",
    "Unknown",
  ] as const,
);

/** The shape of the `Status` value: constants plus constructors. */
export interface StatusConstructors {
  /** The resource does not exist. */
  readonly NotExist: Status;
  /** The resource is being created. */
  readonly Initializing: Status;
  /** The resource is running. */
  readonly Running: Status;
  /** The resource is stopping. */
  readonly Stopping: Status;
  /** The resource stopped. */
  readonly Stopped: Status;
  /** The status cannot be determined. */
  readonly Unknown: Status;
  /** Builds `{kind: "Failed", message}`. */
  failed(message: string): Status;
  /** Builds `{kind: "Timeout", elapsedMs}` (RangeError for negative/non-finite). */
  timeout(elapsedMs: number): Status;
}

/**
 * Constructors and constants for `Status` values (all frozen).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatStatus, Status } from "./status.ts";
 * assertEquals(formatStatus(Status.Running), "Running");
 * assertEquals(formatStatus(Status.failed("boom")), "Failed(boom)");
 * assertEquals(formatStatus(Status.timeout(1500)), "Timeout(1.5s)");
 * ```
 */
export const Status: StatusConstructors = Object.freeze({
  NotExist: Object.freeze({ kind: "NotExist" }) as Status,
  Initializing: Object.freeze({ kind: "Initializing" }) as Status,
  Running: Object.freeze({ kind: "Running" }) as Status,
  Stopping: Object.freeze({ kind: "Stopping" }) as Status,
  Stopped: Object.freeze({ kind: "Stopped" }) as Status,
  Unknown: Object.freeze({ kind: "Unknown" }) as Status,
  /**
   * A failed status.
   * @param message Why.
   * @returns `{kind: "Failed", message}`.
   */
  failed(message: string): Status {
    return Object.freeze({ kind: "Failed", message: String(message) });
  },
  /**
   * A timed-out status.
   * @param elapsedMs How long was waited, in ms (≥ 0).
   * @returns `{kind: "Timeout", elapsedMs}`.
   * @throws {RangeError} For a negative or non-finite duration.
   */
  timeout(elapsedMs: number): Status {
    if (!Number.isFinite(elapsedMs) || elapsedMs < 0) {
      throw new RangeError(`Cannot use elapsedMs ${elapsedMs}: expected a finite number ≥ 0`);
    }
    return Object.freeze({ kind: "Timeout", elapsedMs });
  },
});

/**
 * Whether `value` is a well-formed `Status` (e.g. decoded from the wire).
 * Never throws.
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isStatus } from "./status.ts";
 * assert(isStatus({ kind: "Failed", message: "x" }));
 * assert(!isStatus({ kind: "Failed" }) && !isStatus({ kind: "Bogus" }) && !isStatus(null));
 * ```
 */
export function isStatus(value: unknown): value is Status {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  switch (v.kind) {
    case "NotExist":
    case "Initializing":
    case "Running":
    case "Stopping":
    case "Stopped":
    case "Unknown":
      return true;
    case "Failed":
      return typeof v.message === "string";
    case "Timeout":
      return typeof v.elapsedMs === "number" && Number.isFinite(v.elapsedMs) && v.elapsedMs >= 0;
    default:
      return false;
  }
}

/**
 * Canonical key for structural equality (MS-10).
 * @param status A status.
 * @returns e.g. `Running`, `Failed:"boom"`, `Timeout:1500`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { statusKey } from "./status.ts";
 * assertEquals(statusKey({ message: "m", kind: "Failed" }), statusKey({ kind: "Failed", message: "m" }));
 * ```
 */
export function statusKey(status: Status): string {
  switch (status.kind) {
    case "Failed":
      return `Failed:${JSON.stringify(status.message)}`;
    case "Timeout":
      return `Timeout:${status.elapsedMs}`;
    default:
      return status.kind;
  }
}

/**
 * Structural equality (MS-10).
 * @param a A status.
 * @param b Another status.
 * @returns Whether equal.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Status, statusEquals } from "./status.ts";
 * assert(statusEquals(Status.failed("x"), { kind: "Failed", message: "x" }));
 * ```
 */
export function statusEquals(a: Status, b: Status): boolean {
  return statusKey(a) === statusKey(b);
}

/**
 * Total order following the declared variant order (MS-9).
 * @param a A status.
 * @param b Another status.
 * @returns Negative, zero or positive.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compareStatus, Status } from "./status.ts";
 * assert(compareStatus(Status.Running, Status.Stopped) < 0);
 * assert(compareStatus(Status.Unknown, Status.timeout(5)) > 0);
 * ```
 */
export function compareStatus(a: Status, b: Status): number {
  const d = STATUS_KINDS.indexOf(a.kind) - STATUS_KINDS.indexOf(b.kind);
  if (d !== 0) return d;
  if (a.kind === "Failed" && b.kind === "Failed") {
    return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
  }
  if (a.kind === "Timeout" && b.kind === "Timeout") return a.elapsedMs - b.elapsedMs;
  return 0;
}

/**
 * Stopping, Stopped, Failed or Timeout.
 * @param status A status.
 * @returns Whether the resource is going away or gone.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTerminating, Status } from "./status.ts";
 * assert(isTerminating(Status.Stopping) && !isTerminating(Status.Unknown));
 * ```
 */
export function isTerminating(status: Status): boolean {
  return status.kind === "Stopping" || isTerminated(status);
}

/**
 * Stopped, Failed or Timeout.
 * @param status A status.
 * @returns Whether the resource is gone.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTerminated, Status } from "./status.ts";
 * assert(isTerminated(Status.timeout(1)) && !isTerminated(Status.Stopping));
 * ```
 */
export function isTerminated(status: Status): boolean {
  return status.kind === "Stopped" || isFailure(status);
}

/**
 * Failed or Timeout.
 * @param status A status.
 * @returns Whether the resource failed.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isFailure, Status } from "./status.ts";
 * assert(isFailure(Status.failed("x")) && !isFailure(Status.Stopped));
 * ```
 */
export function isFailure(status: Status): boolean {
  return status.kind === "Failed" || status.kind === "Timeout";
}

/**
 * Initializing or Running.
 * @param status A status.
 * @returns Whether the resource is healthy.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isHealthy, Status } from "./status.ts";
 * assert(isHealthy(Status.Initializing) && !isHealthy(Status.NotExist));
 * ```
 */
export function isHealthy(status: Status): boolean {
  return status.kind === "Initializing" || status.kind === "Running";
}

/**
 * NotExist.
 * @param status A status.
 * @returns Whether the resource does not exist.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isNotExist, Status } from "./status.ts";
 * assert(isNotExist(Status.NotExist) && !isNotExist(Status.Unknown));
 * ```
 */
export function isNotExist(status: Status): boolean {
  return status.kind === "NotExist";
}

/**
 * Raises `status` to `floor` when `floor` is terminating and `status` is not
 * (MS-11).
 * @param status The observed status.
 * @param floor The minimum.
 * @returns `floor` or `status`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { clampMin, Status } from "./status.ts";
 * assertEquals(clampMin(Status.Running, Status.Stopped), Status.Stopped);
 * assertEquals(clampMin(Status.failed("x"), Status.Stopped), Status.failed("x"));
 * assertEquals(clampMin(Status.NotExist, Status.Running), Status.NotExist);
 * ```
 */
export function clampMin(status: Status, floor: Status): Status {
  return isTerminating(floor) && !isTerminating(status) ? floor : status; // MS-11
}

/**
 * Writes milliseconds like Rust's `Duration` debug form.
 * @param ms Non-negative milliseconds.
 * @returns e.g. `1.5s`, `250ms`, `20µs`, `0ns`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatElapsed } from "./status.ts";
 * assertEquals([formatElapsed(30_000), formatElapsed(0.02), formatElapsed(0)], ["30s", "20µs", "0ns"]);
 * ```
 */
export function formatElapsed(ms: number): string {
  const trim = (n: number) => String(Number(n.toFixed(9)));
  if (ms >= 1000) return `${trim(ms / 1000)}s`;
  if (ms >= 1) return `${trim(ms)}ms`;
  if (ms >= 0.001) return `${trim(ms * 1000)}µs`;
  return `${trim(ms * 1e6)}ns`;
}

/**
 * Display form: the variant name, `Failed(<message>)`, `Timeout(<duration>)`.
 * @param status A status.
 * @returns The text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatStatus, Status } from "./status.ts";
 * assertEquals(formatStatus(Status.timeout(250)), "Timeout(250ms)");
 * ```
 */
export function formatStatus(status: Status): string {
  switch (status.kind) {
    case "Failed":
      return `Failed(${status.message})`;
    case "Timeout":
      return `Timeout(${formatElapsed(status.elapsedMs)})`;
    default:
      return status.kind;
  }
}
