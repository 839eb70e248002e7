/**
 * Uniform waiting: every stop takes `{ graceMs, reason, signal }`, and an
 * aborted `signal` forces what is left at once and rejects the call with
 * `signal.reason` — long before the grace would have ended. Real processes
 * that ignore SIGTERM, real actors whose handlers never return.
 */

import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { Proc } from "../actor/proc.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { LocalProcManager } from "../host/local_proc_manager.ts";
import { Host } from "../host/host.ts";
import { fixtureCommand, withManager } from "./_support.ts";

/** A grace no test waits out: an abort must end the call long before. */
const LONG_GRACE_MS = 60_000;
/** What "at once" means here, with ~10x headroom on a loaded machine. */
const PROMPT_MS = 10_000;

const SIGKILL = 9;

function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** Whether `pid` has a SIGTERM handler installed (`ps`'s caught-signal mask, bit 15). */
async function catchesSigterm(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "caught=", "-p", String(pid)] }).output();
  const mask = new TextDecoder().decode(out.stdout).trim();
  return mask !== "" && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
}

/** Resolves once every child of `manager` (by pid) ignores SIGTERM with its own handler. */
async function stubborn(pids: () => Iterable<number>, count: number): Promise<void> {
  while (true) {
    const all = [...pids()];
    if (all.length === count && (await Promise.all(all.map(catchesSigterm))).every(Boolean)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("LN-2: NativeProcLauncher.terminate({ signal }) SIGKILLs a child ignoring SIGTERM at once and rejects with the reason", async () => {
  await using launcher = new NativeProcLauncher();
  const id = "unix:@abort,stubborn";
  const cmd = BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    fixture("launcher_ignore_sigterm.ts"),
  ]);
  const result = await launcher.launch(id, {
    bootstrapPayload: "eyJQcm9jIjp7fX0=",
    processName: "stubborn @ testhost",
    command: cmd,
    wantStdio: true,
    tailLines: 0,
  });
  const stdio = result.stdio;
  if (stdio.kind !== "Captured") throw new Error("stdio must be captured");
  const reader = stdio.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the fixture ended before "ready": ${seen}`);
    seen += value;
  }
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const started = performance.now();
  const terminating = launcher.terminate(id, { graceMs: LONG_GRACE_MS, signal: controller.signal });
  controller.abort(reason);
  const error = await assertRejects(() => terminating);
  assertStrictEquals(error, reason, "the call rejects with signal.reason itself");
  const exit = await result.exit;
  assert(performance.now() - started < PROMPT_MS, "the abort ended the grace at once");
  assertEquals(exit.kind, { kind: "Signaled", signal: SIGKILL, coreDumped: false });
  while (!(await reader.read()).done) { /* drain */ }
  await stdio.stderr.cancel();
});

Deno.test("BootstrapProcHandle.terminate({ signal }) kills a child ignoring SIGTERM at once and rejects with the reason", async () => {
  await withManager(async ({ cx, manager, spawn }) => {
    const handle = await spawn("abort-stubborn-0", {
      bootstrapCommand: fixtureCommand("bootstrap_ignore_sigterm.ts"),
    });
    await stubborn(() => manager.pids.values(), 1);
    const controller = new AbortController();
    const reason = new Error("no more waiting");
    const started = performance.now();
    const terminating = handle.terminate(cx, {
      graceMs: LONG_GRACE_MS,
      reason: "test",
      signal: controller.signal,
    });
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => terminating), reason);
    const status = await handle.wait();
    assert(performance.now() - started < PROMPT_MS, "the abort ended the grace at once");
    assertEquals(status, { kind: "Killed", signal: SIGKILL, coreDumped: false });
  });
});

Deno.test("BS-10: BootstrapProcManager.terminateAll({ signal }) kills every stubborn child at once and rejects with the reason", async () => {
  await withManager(async ({ cx, manager, spawn }) => {
    const handles = await Promise.all(
      [0, 1, 2].map((i) =>
        spawn(`abort-all-${i}`, {
          bootstrapCommand: fixtureCommand("bootstrap_ignore_sigterm.ts"),
        })
      ),
    );
    await stubborn(() => manager.pids.values(), 3);
    const controller = new AbortController();
    const reason = new Error("shutdown budget spent");
    const started = performance.now();
    const terminating = manager.terminateAll(cx, {
      graceMs: LONG_GRACE_MS,
      maxInFlight: 1, // the queued children start already aborted: killed at once too
      signal: controller.signal,
    });
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => terminating), reason);
    const statuses = await Promise.all(handles.map((h) => h.wait()));
    assert(performance.now() - started < PROMPT_MS, "the abort ended every grace at once");
    for (const status of statuses) {
      assertEquals(status, { kind: "Killed", signal: SIGKILL, coreDumped: false });
    }
  });
});

Deno.test("MB-33: Proc.destroyAndWait({ signal }) aborts a hung actor at once and rejects with the reason", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "abort-destroy");
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => entered = resolve);
  const handle = proc.spawn("hung", {
    handlers: {
      Hang: () => {
        entered();
        return new Promise<void>(() => {}); // never returns
      },
    },
  });
  using cx = proc.instance("client");
  handle.ref.send(cx, "Hang", null);
  await inHandler;
  const controller = new AbortController();
  const reason = new Error("enough");
  const started = performance.now();
  const destroying = proc.destroyAndWait({ graceMs: LONG_GRACE_MS, signal: controller.signal });
  controller.abort(reason);
  assertStrictEquals(await assertRejects(() => destroying), reason);
  const status = await handle.wait();
  assert(performance.now() - started < PROMPT_MS, "the abort ended the grace at once");
  assertEquals(status.kind, "Failed", JSON.stringify(status));
});

Deno.test("HO-6: Host.terminateProc({ signal }) of a local proc escalates to an abort and rejects with the reason", async () => {
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => entered = resolve);
  const manager = new LocalProcManager((proc) =>
    proc.spawn("agent", {
      handlers: {
        Hang: () => {
          entered();
          return new Promise<void>(() => {});
        },
      },
    })
  );
  const { host } = await Host.serve(manager, ChannelAddr.any("local"));
  await using _host = host;
  const { procId, agentRef } = await host.spawn("hung");
  using cx = host.systemProc.instance("abort-client");
  agentRef.send(cx, "Hang", null);
  await inHandler;
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const started = performance.now();
  const terminating = host.terminateProc(cx, procId, {
    graceMs: LONG_GRACE_MS,
    signal: controller.signal,
  });
  controller.abort(reason);
  assertStrictEquals(await assertRejects(() => terminating), reason);
  assert(performance.now() - started < PROMPT_MS, "the abort ended the grace at once");
  // The escalation finished the stop: the proc is gone from the manager.
  await assertRejects(() => host.terminateProc(cx, procId), Error, "doesn't exist");
});
