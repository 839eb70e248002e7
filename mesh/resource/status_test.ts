import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  clampMin,
  compareStatus,
  formatElapsed,
  formatStatus,
  isFailure,
  isHealthy,
  isNotExist,
  isStatus,
  isTerminated,
  isTerminating,
  Status,
  STATUS_KINDS,
  statusEquals,
  statusKey,
} from "./status.ts";

const ALL: Status[] = [
  Status.NotExist,
  Status.Initializing,
  Status.Running,
  Status.Stopping,
  Status.Stopped,
  Status.failed("boom"),
  Status.timeout(1500),
  Status.Unknown,
];

Deno.test("MS-9: compareStatus() follows the declared order", () => {
  for (let i = 0; i < ALL.length; i++) {
    for (let j = 0; j < ALL.length; j++) {
      assertEquals(Math.sign(compareStatus(ALL[i], ALL[j])), Math.sign(i - j), "MS-9");
    }
  }
  assertEquals(ALL.map((s) => s.kind), [...STATUS_KINDS]);
  assert(compareStatus(Status.failed("a"), Status.failed("b")) < 0, "MS-9: by message");
  assert(compareStatus(Status.timeout(2), Status.timeout(1)) > 0, "MS-9: by elapsed");
  assert(compareStatus(Status.Unknown, Status.Stopped) >= 0, "MS-9: Unknown satisfies ≥ Stopped");
});

Deno.test("Status predicates match the reference table", () => {
  const table: [(s: Status) => boolean, StatusKindList][] = [
    [isTerminating, ["Stopping", "Stopped", "Failed", "Timeout"]],
    [isTerminated, ["Stopped", "Failed", "Timeout"]],
    [isFailure, ["Failed", "Timeout"]],
    [isHealthy, ["Initializing", "Running"]],
    [isNotExist, ["NotExist"]],
  ];
  for (const [pred, kinds] of table) {
    assertEquals(ALL.filter(pred).map((s) => s.kind), kinds, pred.name);
  }
});
type StatusKindList = string[];

Deno.test("MS-10: Status equality is structural", () => {
  const wire = JSON.parse('{"message":"boom","kind":"Failed","extra":1}');
  assert(isStatus(wire));
  assert(statusEquals(wire, Status.failed("boom")), "MS-10: property order and extras ignored");
  assert(!statusEquals(Status.failed("a"), Status.failed("b")));
  assert(!statusEquals(Status.timeout(1), Status.timeout(2)));
  assertEquals(new Set(ALL.map(statusKey)).size, ALL.length);
  assert(statusKey(Status.failed("x:1")) !== statusKey(Status.timeout(1)));
});

Deno.test("MS-11: clampMin() raises non-terminating statuses to a terminating floor", () => {
  for (const s of ALL) {
    const clamped = clampMin(s, Status.Stopped);
    assertEquals(clamped, isTerminating(s) ? s : Status.Stopped, `MS-11: ${formatStatus(s)}`);
    assertEquals(clampMin(s, Status.Running), s, "MS-11: healthy floor changes nothing");
  }
});

Deno.test("formatStatus() uses variant names and Rust-like durations", () => {
  assertEquals(ALL.map(formatStatus), [
    "NotExist",
    "Initializing",
    "Running",
    "Stopping",
    "Stopped",
    "Failed(boom)",
    "Timeout(1.5s)",
    "Unknown",
  ]);
  assertEquals(
    [30_000, 1000, 999, 1.5, 0.5, 0.0005, 0].map(formatElapsed),
    ["30s", "1s", "999ms", "1.5ms", "500µs", "500ns", "0ns"],
  );
});

Deno.test("Status values are frozen JSON-safe plain objects", () => {
  for (const s of ALL) {
    assert(Object.isFrozen(s));
    const back = JSON.parse(JSON.stringify(s));
    assert(isStatus(back) && statusEquals(back, s));
  }
  assertThrows(() => Status.timeout(-1), RangeError);
  assertThrows(() => Status.timeout(Infinity), RangeError);
});

Deno.test("isStatus() rejects malformed values without throwing", () => {
  for (
    const bad of [
      null,
      undefined,
      1,
      "Running",
      [],
      {},
      { kind: "running" },
      { kind: "Failed" },
      { kind: "Failed", message: 3 },
      { kind: "Timeout", elapsedMs: -1 },
      { kind: "Timeout", elapsedMs: "1" },
      { kind: "Timeout", elapsedMs: NaN },
    ]
  ) {
    assert(!isStatus(bad), JSON.stringify(bad));
  }
});
