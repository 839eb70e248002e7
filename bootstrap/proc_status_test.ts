import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import {
  displayProcStatus,
  formatUptime,
  isExit,
  isLegalTransition,
  type ProcStatus,
  ProcStatusCell,
} from "./proc_status.ts";
import { ReadyError, WaitError } from "../host/proc_handle.ts";

const addr = ChannelAddr.parse("unix:@any_ready");
const agent = ProcId.parse("unix:@any_ready,proc").actor("proc_agent").toString();

/** A cell whose warnings are collected instead of printed. */
function cellForTest(now?: () => number): { cell: ProcStatusCell; warnings: string[] } {
  const warnings: string[] = [];
  const cell = new ProcStatusCell({ onIllegal: (_f, _t, msg) => warnings.push(msg), now });
  return { cell, warnings };
}

Deno.test("ProcStatusCell: Starting -> Running ok", () => {
  const { cell } = cellForTest();
  assertEquals(cell.get(), { kind: "Starting" });
  const startedAt = Date.now();
  assert(cell.markRunning(startedAt));
  assertEquals(cell.get(), { kind: "Running", startedAt });
  cell.close();
});

Deno.test("ProcStatusCell: Running -> Stopping -> Stopped ok", () => {
  const { cell } = cellForTest();
  assert(cell.markRunning(Date.now()));
  assert(cell.markStopping());
  assertEquals(cell.get().kind, "Stopping");
  assert(cell.markStopped(0, []));
  assertEquals(cell.get(), { kind: "Stopped", exitCode: 0, stderrTail: [] });
  cell.close();
});

Deno.test("ProcStatusCell: Running -> Killed ok", () => {
  const { cell } = cellForTest();
  assert(cell.markRunning(Date.now()));
  assert(cell.markKilled(9, true));
  assertEquals(cell.get(), { kind: "Killed", signal: 9, coreDumped: true });
  cell.close();
});

Deno.test("ProcStatusCell: Running -> Failed ok", () => {
  const { cell } = cellForTest();
  assert(cell.markRunning(Date.now()));
  assert(cell.markFailed("bootstrap error"));
  assertEquals(cell.get(), { kind: "Failed", reason: "bootstrap error" });
  cell.close();
});

Deno.test("BS-6: ProcStatusCell rejects illegal transitions and warns with both states", () => {
  const { cell, warnings } = cellForTest();
  const t0 = Date.now();
  // Starting -> Running is fine; a second Running is rejected.
  assert(cell.markRunning(t0));
  assertFalse(cell.markRunning(Date.now()));
  assertEquals(cell.get(), { kind: "Running", startedAt: t0 });
  // Once Stopped, nothing else is accepted.
  assert(cell.markStopping());
  assert(cell.markStopped(0, []));
  assertFalse(cell.markRunning(t0), "BS-6");
  assertFalse(cell.markKilled(9, false), "BS-6");
  assertFalse(cell.markFailed("nope"), "BS-6");
  assertFalse(cell.markReady(addr, agent), "BS-6");
  assertFalse(cell.markStopping(), "BS-6");
  assertFalse(cell.markStopped(1, []), "BS-6");
  assertEquals(cell.get(), { kind: "Stopped", exitCode: 0, stderrTail: [] });
  assertEquals(warnings.length, 7);
  assertStringIncludes(warnings[0], "Running up");
  assertStringIncludes(warnings[1], "illegal transition: Stopped(exit=0) -> Running");
  assertStringIncludes(warnings[2], "Stopped(exit=0) -> Killed(sig=9)");
  cell.close();
});

Deno.test("ProcStatusCell: transitions from Ready are legal (Ready -> Stopping -> Stopped)", () => {
  const { cell } = cellForTest();
  const t0 = Date.now() - 5;
  assert(cell.markRunning(t0));
  assert(cell.markReady(addr, agent));
  assertEquals(cell.get(), { kind: "Ready", startedAt: t0, addr, agent });
  assert(cell.markStopping());
  assertEquals(cell.get(), { kind: "Stopping", startedAt: t0 }, "keeps startedAt");
  assert(cell.markStopped(0, []));
  cell.close();
});

Deno.test("ProcStatusCell: Ready -> Killed is legal", () => {
  const { cell } = cellForTest();
  assert(cell.markRunning(Date.now()));
  assert(cell.markReady(addr, agent));
  assert(cell.markKilled(9, false));
  cell.close();
});

Deno.test("ProcStatusCell: markFailed() from Stopping is allowed", () => {
  const { cell } = cellForTest(() => 1234);
  assert(cell.markStopping(), "precondition: Starting -> Stopping");
  assertEquals(cell.get(), { kind: "Stopping", startedAt: 1234 });
  assert(cell.markFailed("boom"), "markFailed() should succeed from Stopping");
  assertEquals(cell.get(), { kind: "Failed", reason: "boom" });
  cell.close();
});

Deno.test("ProcStatusCell: Starting -> Ready is tolerated with the current time", () => {
  const { cell } = cellForTest(() => 42);
  assert(cell.markReady("unix:/x", agent));
  assertEquals(cell.get(), { kind: "Ready", startedAt: 42, addr: "unix:/x", agent });
  cell.close();
});

Deno.test("ProcStatusCell: Stopping refuses Running, Ready and Stopping", () => {
  const { cell, warnings } = cellForTest();
  assert(cell.markRunning(1));
  assert(cell.markStopping());
  assertFalse(cell.markRunning(2));
  assertFalse(cell.markReady(addr, agent));
  assertFalse(cell.markStopping());
  assertEquals(cell.get(), { kind: "Stopping", startedAt: 1 });
  assertEquals(warnings.length, 3);
  cell.close();
});

Deno.test("ProcStatusCell: Ready refuses Running and Ready; Running refuses Running", () => {
  const { cell } = cellForTest();
  assert(cell.markRunning(1));
  assert(cell.markReady(addr, agent));
  assertFalse(cell.markRunning(2));
  assertFalse(cell.markReady(addr, agent));
  assertEquals(cell.get().kind, "Ready");
  cell.close();
});

Deno.test("ProcStatusCell: every exit is legal from every live state and final", () => {
  const drive: Record<string, (c: ProcStatusCell) => void> = {
    Starting: () => {},
    Running: (c) => c.markRunning(1),
    Ready: (c) => (c.markRunning(1), c.markReady(addr, agent)),
    Stopping: (c) => c.markStopping(),
  };
  const exits: Record<string, (c: ProcStatusCell) => boolean> = {
    Stopped: (c) => c.markStopped(3, ["tail"]),
    Killed: (c) => c.markKilled(15, false),
    Failed: (c) => c.markFailed("x"),
  };
  for (const [from, go] of Object.entries(drive)) {
    for (const [to, exit] of Object.entries(exits)) {
      const { cell } = cellForTest();
      go(cell);
      assertEquals(cell.get().kind, from);
      assert(exit(cell), `${from} -> ${to} should be legal`);
      assertEquals(cell.get().kind, to);
      for (const [again, exit2] of Object.entries(exits)) {
        assertFalse(exit2(cell), `BS-6: ${to} -> ${again} should be refused`);
      }
      cell.close();
    }
  }
});

Deno.test("ProcStatusCell.transition() refuses Starting and anything after close()", () => {
  const { cell, warnings } = cellForTest();
  assertFalse(cell.transition({ kind: "Starting" }));
  cell.close();
  assertFalse(cell.markRunning(1));
  assertEquals(cell.get(), { kind: "Starting" });
  assertStringIncludes(warnings[1], "closed");
});

Deno.test("isLegalTransition() matches the seed's table", () => {
  assert(isLegalTransition("Starting", "Stopping"));
  assert(isLegalTransition("Running", "Ready"));
  assertFalse(isLegalTransition("Ready", "Running"));
  assertFalse(isLegalTransition("Failed", "Stopped"));
  assertFalse(isLegalTransition("Running", "Starting"));
});

Deno.test("BS-1: ProcStatusCell stores and publishes each transition in one step, in order", async () => {
  const { cell } = cellForTest();
  const seen: ProcStatus[] = [];
  const it = cell.watch();
  assertEquals((await it.next()).value, { kind: "Starting" });
  const now = Date.now();
  assert(cell.markRunning(now));
  assertEquals(cell.get(), { kind: "Running", startedAt: now }, "BS-1: stored synchronously");
  assert(cell.markStopped(0, []));
  assertEquals(cell.get().kind, "Stopped", "BS-1: stored synchronously");
  cell.close();
  for await (const status of it) seen.push(status);
  assertEquals(seen, [
    { kind: "Running", startedAt: now },
    { kind: "Stopped", exitCode: 0, stderrTail: [] },
  ]);
});

Deno.test("ProcStatusCell.ready() errs if the process exits before running", async () => {
  const { cell } = cellForTest();
  assert(cell.markStopped(7, []));
  const err = await assertRejects(() => cell.ready(), ReadyError);
  assertEquals(err.kind, "Terminal");
  assertEquals(err.status, { kind: "Stopped", exitCode: 7, stderrTail: [] });
  assertStringIncludes(err.message, "terminal state (status: Stopped(exit=7))");
  cell.close();
});

Deno.test("ProcStatusCell.ready() errs when the exit comes while waiting", async () => {
  const { cell } = cellForTest();
  const pending = cell.ready();
  assert(cell.markRunning(1));
  assert(cell.markStopping());
  assert(cell.markKilled(9, false));
  const err = await assertRejects(() => pending, ReadyError);
  assertEquals(err.status, { kind: "Killed", signal: 9, coreDumped: false });
  cell.close();
});

Deno.test("ProcStatusCell.ready() reports ChannelClosed when closed first", async () => {
  const { cell } = cellForTest();
  const pending = cell.ready();
  assert(cell.markRunning(1));
  cell.close();
  const err = await assertRejects(() => pending, ReadyError);
  assertEquals(err.kind, "ChannelClosed");
  assertEquals(err.status, undefined);
});

Deno.test("ProcStatusCell.ready() allows concurrent waiters", async () => {
  const { cell } = cellForTest();
  const startedAt = Date.now();
  const waiters = [cell.ready(), cell.ready()];
  assert(cell.markRunning(startedAt));
  assert(cell.markReady(addr, agent));
  for (const status of await Promise.all(waiters)) {
    assertEquals(status, { kind: "Ready", startedAt, addr, agent });
  }
  assertEquals((await cell.ready()).addr, addr, "already Ready resolves at once");
  cell.close();
});

Deno.test("ProcStatusCell.ready() and wait() honour the abort signal", async () => {
  const { cell } = cellForTest();
  const controller = new AbortController();
  const ready = cell.ready({ signal: controller.signal });
  const wait = cell.wait({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assertRejects(() => ready, Error, "gave up");
  await assertRejects(() => wait, Error, "gave up");
  cell.close();
});

Deno.test("ProcStatusCell.wait() returns the terminal status", async () => {
  const { cell } = cellForTest();
  const pending = cell.wait();
  assert(cell.markRunning(1));
  assert(cell.markStopped(0, ["bye"]));
  assertEquals(await pending, { kind: "Stopped", exitCode: 0, stderrTail: ["bye"] });
  assertEquals((await cell.wait()).kind, "Stopped", "already terminal resolves at once");
  cell.close();
});

Deno.test("ProcStatusCell.wait() rejects with WaitError when closed first", async () => {
  const { cell } = cellForTest();
  const pending = cell.wait();
  assert(cell.markRunning(5));
  cell.close();
  const err = await assertRejects(() => pending, WaitError);
  assertEquals(String(err.cause).includes("Running"), true);
  assertInstanceOf(err, Error);
});

Deno.test("isExit() is true for Stopped, Killed and Failed only", () => {
  assert(isExit({ kind: "Stopped", exitCode: 0, stderrTail: [] }));
  assert(isExit({ kind: "Killed", signal: 9, coreDumped: false }));
  assert(isExit({ kind: "Failed", reason: "" }));
  assertFalse(isExit({ kind: "Starting" }));
  assertFalse(isExit({ kind: "Running", startedAt: 0 }));
  assertFalse(isExit({ kind: "Ready", startedAt: 0, addr, agent }));
  assertFalse(isExit({ kind: "Stopping", startedAt: 0 }));
});

Deno.test("displayProcStatus(): Running includes the uptime", () => {
  const now = Date.now();
  const text = displayProcStatus({ kind: "Running", startedAt: now - 42_000 }, now);
  assertEquals(text, "Running up 42s");
});

Deno.test("displayProcStatus(): Ready includes the address", () => {
  const now = Date.now();
  const text = displayProcStatus({ kind: "Ready", startedAt: now - 1_000, addr, agent }, now);
  assertEquals(text, `Ready at ${addr} up 1s`);
  assertEquals(
    displayProcStatus({ kind: "Ready", startedAt: 0, addr: "unix:/tmp/p", agent }, 1_000),
    "Ready at unix:/tmp/p up 1s",
  );
});

Deno.test("displayProcStatus(): Stopped includes the exit code", () => {
  assertEquals(
    displayProcStatus({ kind: "Stopped", exitCode: 7, stderrTail: [] }),
    "Stopped(exit=7)",
  );
});

Deno.test("displayProcStatus(): other variants", () => {
  assertEquals(displayProcStatus({ kind: "Starting" }), "Starting");
  assertEquals(
    displayProcStatus({ kind: "Stopping", startedAt: 0 }, 2_500),
    "Stopping up 2s 500ms",
  );
  assertEquals(
    displayProcStatus({ kind: "Killed", signal: 9, coreDumped: false }),
    "Killed(sig=9)",
  );
  assertEquals(
    displayProcStatus({ kind: "Killed", signal: 9, coreDumped: true }),
    "Killed(sig=9, core)",
  );
  assertEquals(displayProcStatus({ kind: "Failed", reason: "boom" }), "Failed(boom)");
  assertEquals(displayProcStatus({ kind: "Running", startedAt: 10 }, 5), "Running", "future start");
});

Deno.test("formatUptime() follows humantime", () => {
  assertEquals(formatUptime(0), "0s");
  assertEquals(formatUptime(999), "999ms");
  assertEquals(formatUptime(3_600_000 + 61_000), "1h 1m 1s");
  assertEquals(formatUptime(2 * 86_400_000), "2days");
  assertEquals(formatUptime(86_400_000 + 1), "1day 1ms");
  assertEquals(formatUptime(31_557_600_000), "1year");
});
