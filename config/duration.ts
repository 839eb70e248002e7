/**
 * Human-friendly durations: `500ms`, `10s`, `2m`, `1m 30s`, `2h`, `1.5s`.
 *
 * ## Invariants (CF-*)
 * - **CF-1 (duration round trip).** `parseDuration(formatDuration(ms)) === ms`
 *   for every non-negative integer `ms`.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  d: 86_400_000,
};

const PART = /^(\d+(?:\.\d+)?)\s*([a-zµ]+)$/;

/** A duration string that could not be parsed. */
export class DurationParseError extends Error {
  /** The rejected input. */
  readonly input: string;
  /**
   * Creates a DurationParseError.
   * @param input The rejected text.
   */
  constructor(input: string) {
    super(`Cannot parse duration "${input}": expected e.g. 500ms, 10s, 2m, 1m 30s`);
    this.name = "DurationParseError";
    this.input = input;
  }
}

/**
 * Parses a duration into milliseconds (fractions of a millisecond round to the nearest).
 *
 * @param text e.g. `"500ms"`, `"10s"`, `"1m 30s"`.
 * @returns Milliseconds.
 * @throws {DurationParseError} For anything else, including a bare number.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseDuration } from "./duration.ts";
 * assertEquals(parseDuration("1m 30s"), 90_000);
 * assertEquals(parseDuration("500ms"), 500);
 * ```
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "") throw new DurationParseError(text);
  const tokens = trimmed.match(/\d+(?:\.\d+)?\s*[a-zµ]+|\S+/g) ?? [];
  let total = 0;
  for (const token of tokens) {
    const m = PART.exec(token);
    const unit = m ? UNIT_MS[m[2]] : undefined;
    if (!m || unit === undefined) throw new DurationParseError(text);
    total += Number(m[1]) * unit;
  }
  return Math.round(total);
}

/**
 * Formats milliseconds in the shortest exact form parseable by {@linkcode parseDuration}.
 *
 * @param ms Non-negative milliseconds.
 * @returns e.g. `"10s"`, `"1m 30s"`, `"250ms"`, `"0s"`.
 * @throws {RangeError} For negative or non-finite input.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatDuration } from "./duration.ts";
 * assertEquals(formatDuration(90_500), "1m 30s 500ms");
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Invalid duration ms: ${ms}`);
  let rest = Math.round(ms);
  if (rest === 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join(" ");
}
