import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import type { Context } from "../actor/types.ts";
import type { LaunchOptions, LaunchResult, ProcLauncher } from "../launcher/types.ts";
import { ReadyError, TerminateError, WaitError } from "../host/proc_handle.ts";
import { BootstrapProcHandle } from "./proc_handle.ts";
import type { ProcStatus } from "./proc_status.ts";
import type { StopOptions } from "../launcher/stop.ts";

const quiet = { onIllegal: () => {} };

function procId(name = "worker-0"): ProcId {
  return new ProcId(ChannelAddr.unix("/tmp/nonexistent-host"), name);
}

/** A launcher that records calls and runs a callback instead of signalling. */
class RecordingLauncher implements ProcLauncher {
  readonly kind = "native" as const;
  calls: string[] = [];
  onTerminate: () => void = () => {};
  onKill: () => void = () => {};
  launch(_procId: string, _options: LaunchOptions): Promise<LaunchResult> {
    throw new Error("RecordingLauncher.launch should not be called");
  }
  terminate(procId: string, options: StopOptions = {}): Promise<void> {
    this.calls.push(`terminate ${procId} ${options.graceMs}`);
    this.onTerminate();
    return Promise.resolve();
  }
  kill(procId: string): Promise<void> {
    this.calls.push(`kill ${procId}`);
    this.onKill();
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

const noCx = {} as Context; // never used when the proc is not Ready

Deno.test("BootstrapProcHandle.watch() notifies on status changes", async () => {
  const handle = new BootstrapProcHandle(procId(), quiet);
  const seen: ProcStatus["kind"][] = [];
  const watching = (async () => {
    for await (const status of handle.watch()) seen.push(status.kind);
  })();
  const now = Date.now();
  assert(handle.markRunning(now));
  assertEquals(handle.status(), { kind: "Running", startedAt: now });
  assert(handle.markStopped(0, []));
  handle.close();
  await watching;
  assertEquals(seen, ["Starting", "Running", "Stopped"]);
});

Deno.test("BootstrapProcHandle.ready() rejects with Terminal when the process exits before running", async () => {
  const handle = new BootstrapProcHandle(procId("early-exit"), quiet);
  assert(handle.markStopped(7, []));
  const error = await assertRejects(() => handle.ready(), ReadyError);
  assertEquals(error.kind, "Terminal");
  assertEquals(error.status, { kind: "Stopped", exitCode: 7, stderrTail: [] });
  handle.close();
});

Deno.test("BootstrapProcHandle.ready() resolves once Ready and exposes addr and agent", async () => {
  const id = procId("worker-42");
  const handle = new BootstrapProcHandle(id, quiet);
  const startedAt = Date.now() - 5;
  assert(handle.markRunning(startedAt));
  const waiter = handle.ready();
  const agent = id.actor("proc_agent").toString();
  assert(handle.markReady("unix:/tmp/s/worker-42", agent));
  await waiter;
  const status = handle.status();
  assertEquals(status.kind === "Ready" && status.startedAt, startedAt);
  assertEquals(handle.addr()?.toString(), "unix:/tmp/s/worker-42");
  assertEquals(handle.agentRef()?.toString(), agent);
  handle.close();
});

Deno.test("BootstrapProcHandle.wait() returns the terminal status", async () => {
  const handle = new BootstrapProcHandle(procId(), quiet);
  assert(handle.markStopped(0, ["last"]));
  assertEquals(await handle.wait(), { kind: "Stopped", exitCode: 0, stderrTail: ["last"] });
  handle.close();
});

Deno.test("BootstrapProcHandle.wait() rejects with WaitError when closed first", async () => {
  const handle = new BootstrapProcHandle(procId(), quiet);
  const waiting = handle.wait();
  handle.close();
  await assertRejects(() => waiting, WaitError);
  await assertRejects(() => handle.ready(), ReadyError, "channel closed");
});

Deno.test("BootstrapProcHandle.terminate() and kill() reject AlreadyTerminated after exit", async () => {
  const launcher = new RecordingLauncher();
  const handle = new BootstrapProcHandle(procId(), { ...quiet, launcher });
  assert(handle.markKilled(9, false));
  const t = await assertRejects(() => handle.terminate(noCx, { graceMs: 100 }), TerminateError);
  assertEquals([t.kind, t.status], ["AlreadyTerminated", {
    kind: "Killed",
    signal: 9,
    coreDumped: false,
  }]);
  const k = await assertRejects(() => handle.kill(), TerminateError);
  assertEquals(k.kind, "AlreadyTerminated");
  assertEquals(launcher.calls, []);
  handle.close();
});

Deno.test("BootstrapProcHandle.terminate() without an agent goes Stopping, then the launcher escalates", async () => {
  const launcher = new RecordingLauncher();
  const id = procId();
  const handle = new BootstrapProcHandle(id, { ...quiet, launcher });
  handle.markRunning(Date.now());
  const kinds: string[] = [];
  launcher.onTerminate = () => {
    kinds.push(handle.status().kind);
    queueMicrotask(() => handle.markKilled(15, false)); // the exit monitor's job
  };
  const first = handle.terminate(noCx, { graceMs: 50, reason: "test" });
  const second = handle.terminate(noCx, { graceMs: 50, reason: "test" }); // coalesces
  assertEquals(await first, { kind: "Killed", signal: 15, coreDumped: false });
  assertEquals(await second, { kind: "Killed", signal: 15, coreDumped: false });
  assertEquals(kinds, ["Stopping"]);
  assertEquals(launcher.calls, [`terminate ${id} 50`]);
  handle.close();
});

Deno.test("BootstrapProcHandle.kill() delegates to the launcher and waits for Killed(9)", async () => {
  const launcher = new RecordingLauncher();
  const id = procId();
  const handle = new BootstrapProcHandle(id, { ...quiet, launcher });
  handle.markRunning(Date.now());
  launcher.onKill = () => queueMicrotask(() => handle.markKilled(9, false));
  assertEquals(await handle.kill(), { kind: "Killed", signal: 9, coreDumped: false });
  assertEquals(launcher.calls, [`kill ${id}`]);
  handle.close();
});

Deno.test("BootstrapProcHandle.terminate() maps a launcher failure to TerminateError Io", async () => {
  const launcher = new RecordingLauncher();
  launcher.terminate = () => Promise.reject(new Error("EPERM"));
  const handle = new BootstrapProcHandle(procId(), { ...quiet, launcher });
  handle.markRunning(Date.now());
  const error = await assertRejects(() => handle.terminate(noCx, { graceMs: 10 }), TerminateError);
  assertEquals(error.kind, "Io");
  assertInstanceOf(error.cause, Error);
  assert(error.message.includes("launcher termination failed: EPERM"), error.message);
  handle.close();
});

Deno.test("BootstrapProcHandle.changed() resolves with the next status", async () => {
  const handle = new BootstrapProcHandle(procId(), quiet);
  const next = handle.changed();
  handle.markFailed("boom");
  assertEquals(await next, { kind: "Failed", reason: "boom" });
  handle.close();
});
