import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";
import { isUnitTerminal, mapUnitExit, UNIT_NAME_MAX, unitName } from "./systemd.ts";
import { unitObjectPath } from "./_systemd_manager.ts";
import { watchedPidOf } from "./_systemd_cleanup.ts";

const VALID_UNIT = /^hypermesh-[0-9a-f]+(-h[0-9a-f]{32})?\.service$/;

Deno.test("unitName() is the hex of the proc id's UTF-8 bytes", () => {
  assertEquals(unitName("a,b"), "hypermesh-612c62.service");
  assertEquals(unitName("é"), "hypermesh-c3a9.service");
  assertEquals(unitName("unix:@x,p0"), unitName("unix:@x,p0"), "deterministic");
  assertNotEquals(unitName("p0"), unitName("p1"));
});

Deno.test("unitName() escapes every character systemd would reject", () => {
  for (const id of ["a b", "x/y\\z", "tcp:[::1]:80,name", "\n\t$`'\"", "😀,π", "@", "-", "."]) {
    const name = unitName(id);
    assertMatch(name, VALID_UNIT, `escaped ${JSON.stringify(id)}`);
    assert(name.length <= UNIT_NAME_MAX);
  }
});

Deno.test("unitName() hashes ids too long for systemd's 255-character limit", () => {
  const longest = "x".repeat(118); // 10 + 236 + 8 = 254 characters: still plain
  assertEquals(unitName(longest), `hypermesh-${"78".repeat(118)}.service`);
  const a = unitName("x".repeat(119));
  const b = unitName("x".repeat(120));
  const c = unitName("x".repeat(300) + "a");
  const d = unitName("x".repeat(300) + "b");
  for (const name of [a, b, c, d]) {
    assertMatch(name, VALID_UNIT);
    assert(name.length <= UNIT_NAME_MAX, `${name.length} characters`);
  }
  assertEquals(new Set([a, b, c, d]).size, 4, "distinct ids, distinct names");
  assertEquals(unitName("x".repeat(300) + "a"), c, "deterministic");
});

Deno.test("unitName() rejects an empty or non-string id", () => {
  assertThrows(() => unitName(""), TypeError);
  assertThrows(() => unitName(42 as unknown as string), TypeError);
});

Deno.test("unitObjectPath() escapes like sd-bus bus_label_escape", () => {
  assertEquals(
    unitObjectPath("hypermesh-612c62.service"),
    "/org/freedesktop/systemd1/unit/hypermesh_2d612c62_2eservice",
  );
  assertEquals(unitObjectPath("1a"), "/org/freedesktop/systemd1/unit/_31a");
});

Deno.test("mapUnitExit() maps ExecMainCode exited/killed/dumped", () => {
  assertEquals(mapUnitExit({ ExecMainCode: 1, ExecMainStatus: 0, Result: "success" }), {
    kind: "Exited",
    code: 0,
  });
  assertEquals(mapUnitExit({ ExecMainCode: 1, ExecMainStatus: 3, Result: "exit-code" }), {
    kind: "Exited",
    code: 3,
  });
  assertEquals(mapUnitExit({ ExecMainCode: 2, ExecMainStatus: 15, Result: "success" }), {
    kind: "Signaled",
    signal: 15,
    coreDumped: false,
  });
  assertEquals(mapUnitExit({ ExecMainCode: 2, ExecMainStatus: 9, Result: "signal" }), {
    kind: "Signaled",
    signal: 9,
    coreDumped: false,
  });
  assertEquals(mapUnitExit({ ExecMainCode: 3, ExecMainStatus: 6, Result: "core-dump" }), {
    kind: "Signaled",
    signal: 6,
    coreDumped: true,
  });
});

Deno.test("mapUnitExit() falls back on Result when ExecMainCode is 0", () => {
  assertEquals(mapUnitExit({ ExecMainCode: 0, Result: "success" }), { kind: "Exited", code: 0 });
  assertEquals(mapUnitExit({ ExecMainCode: 0, ExecMainStatus: 4, Result: "exit-code" }), {
    kind: "Exited",
    code: 4,
  });
  assertEquals(mapUnitExit({ ExecMainStatus: 11, Result: "core-dump" }), {
    kind: "Signaled",
    signal: 11,
    coreDumped: true,
  });
  assertEquals(
    mapUnitExit({ ExecMainCode: 0, ExecMainStatus: 0, Result: "exit-code" }).kind,
    "Failed",
  );
  assertEquals(mapUnitExit({ ExecMainCode: 0, Result: "signal" }).kind, "Failed");
  const timeout = mapUnitExit({ ExecMainCode: 0, Result: "timeout" });
  assert(timeout.kind === "Failed" && timeout.reason.includes("timeout"));
  assertEquals(mapUnitExit({}).kind, "Failed");
});

Deno.test("isUnitTerminal() needs evidence of a start before trusting inactive", () => {
  assert(!isUnitTerminal({ ActiveState: "inactive", SubState: "dead" }, false), "pristine");
  assert(isUnitTerminal({ ActiveState: "inactive", SubState: "dead" }, true), "stopped");
  assert(isUnitTerminal({ ActiveState: "failed" }, false));
  assert(isUnitTerminal({ ActiveState: "active", SubState: "exited" }, true), "RemainAfterExit");
  assert(!isUnitTerminal({ ActiveState: "active", SubState: "running" }, true));
  assert(!isUnitTerminal({ ActiveState: "deactivating", SubState: "stop-sigterm" }, true));
  assert(!isUnitTerminal({ ActiveState: "activating" }, true));
});

Deno.test("LN-S7: a unit's host pid is read from its Environment, strictly", () => {
  assertEquals(watchedPidOf(["A=1", "HYPERMESH_WATCH_PID=4242", "B=2"]), 4242);
  assertEquals(watchedPidOf(["A=1"]), undefined, "no host named");
  assertEquals(watchedPidOf(["HYPERMESH_WATCH_PID=0"]), undefined, "not a pid");
  assertEquals(watchedPidOf(["HYPERMESH_WATCH_PID=12x"]), undefined, "not a number");
  assertEquals(watchedPidOf(["HYPERMESH_WATCH_PID="]), undefined, "empty");
  assertEquals(watchedPidOf("HYPERMESH_WATCH_PID=1"), undefined, "not an array");
  assertEquals(watchedPidOf(undefined), undefined);
});
