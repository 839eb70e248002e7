import { assertEquals, assertThrows } from "@std/assert";
import { DurationParseError, formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration() accepts humantime-style units and sums parts", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["10s", 10_000],
    ["2m", 120_000],
    ["1m 30s", 90_000],
    ["2h", 7_200_000],
    ["1.5s", 1_500],
    ["  3 s ", 3_000],
    ["1d", 86_400_000],
    ["1500us", 2],
    ["0s", 0],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration(text), ms, text);
});

Deno.test("parseDuration() rejects bare numbers, unknown units and junk", () => {
  for (const bad of ["", "10", "10 parsecs", "s", "-1s", "1m x", "NaNs"]) {
    const error = assertThrows(() => parseDuration(bad), DurationParseError, undefined, bad);
    assertEquals(error.input, bad);
  }
});

Deno.test("CF-1: formatDuration() round-trips through parseDuration()", () => {
  for (const ms of [0, 1, 999, 1_000, 59_999, 60_000, 90_500, 3_600_001, 123_456_789]) {
    assertEquals(parseDuration(formatDuration(ms)), ms, `CF-1: ${ms}`);
  }
  assertThrows(() => formatDuration(-1), RangeError);
});
