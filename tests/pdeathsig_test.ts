import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import {
  installParentDeathGuard,
  PDEATHSIG_ARMED_ENV,
  releaseParentDeathClaim,
} from "../bootstrap/pdeathsig.ts";
import { diesWithin, isAlive, PdeathsigScenario } from "./fixtures/pdeathsig_harness.ts";

const permissions: Deno.PermissionOptions = {
  run: true,
  read: true,
  env: true,
  ffi: true,
};

Deno.test({
  name: "BS-3: a prctl-guarded child dies within 2 s of its parent's SIGKILL",
  permissions,
  async fn() {
    await using scenario = new PdeathsigScenario("main");
    const parent = await scenario.next("parent");
    const guard = await scenario.next("guard");
    assertEquals(guard.mechanism, "prctl", scenario.output);
    assertEquals(guard.deathSignal, "SIGKILL");
    assertEquals(guard.forkedByMainThread, true, "forked by the parent's main thread");
    assertEquals(guard.parentPid, parent.pid);
    const child = guard.pid as number;
    assert(await isAlive(child));
    await scenario.killParent();
    assert(await diesWithin(child, 2_000), "BS-3: the orphan must be dead within 2 s");
  },
});

Deno.test({
  name: "BS-3: without FFI the watchdog kills the orphan within 2 s",
  permissions,
  async fn() {
    await using scenario = new PdeathsigScenario("noffi");
    const parent = await scenario.next("parent");
    const guard = await scenario.next("guard");
    assertEquals(guard.mechanism, "watchdog", scenario.output);
    assertEquals(guard.parentPid, parent.pid);
    const child = guard.pid as number;
    assert(await isAlive(child));
    await scenario.killParent();
    assert(await diesWithin(child, 2_000), "BS-3: the orphan must be dead within 2 s");
  },
});

Deno.test({
  name: "BS-3: a child forked by a Worker thread survives the worker and dies with the parent",
  permissions,
  async fn() {
    await using scenario = new PdeathsigScenario("worker");
    const parent = await scenario.next("parent");
    const guard = await scenario.next("guard");
    assertEquals(guard.mechanism, "prctl-checked", scenario.output);
    assertEquals(guard.deathSignal, "SIGUSR2");
    assertEquals(guard.forkedByMainThread, false, "forked by the worker's thread");
    assertEquals(guard.parentPid, parent.pid);
    const child = guard.pid as number;
    await scenario.send("drop-worker");
    await scenario.next("worker-dropped");
    // The forking thread exited: the kernel sent the death signal, the child checked and stayed.
    const ignored = await scenario.next("ignored");
    assertEquals(ignored.signal, "SIGUSR2");
    assert(await isAlive(child), "BS-3: a healthy parent's child must not be killed");
    await scenario.killParent();
    assert(await diesWithin(child, 2_000), "BS-3: the orphan must be dead within 2 s");
  },
});

Deno.test({
  name: "BS-3: a child whose parent is already gone exits at once",
  permissions,
  async fn() {
    const child = new URL("./fixtures/pdeathsig_child.ts", import.meta.url).pathname;
    for (const ffi of [true, false]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          "--allow-read",
          "--allow-env",
          ...(ffi ? ["--allow-ffi"] : []),
          child,
        ],
        // A parent pid that is not ours: as if the parent died before the guard armed.
        env: { HYPERACTOR_MESH_PARENT_PID: String(Deno.pid + 100_000) },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertFalse(text.includes('"guard"'), `BS-3: must exit before idling (ffi=${ffi})`);
    }
  },
});

Deno.test("installParentDeathGuard() reports a parent that is already gone", () => {
  for (const useFfi of [true, false]) {
    let died = 0;
    using guard = installParentDeathGuard({
      useFfi,
      expectedParentPid: Deno.ppid + 100_000,
      onParentDeath: () => died++,
    });
    assert(guard.parentGone);
    assertEquals(died, 1);
  }
});

Deno.test("installParentDeathGuard() arms and disarms in process", () => {
  using checked = installParentDeathGuard({ useFfi: true, deathSignal: "SIGUSR2" });
  assertEquals(checked.mechanism, "prctl-checked");
  assertFalse(checked.parentGone);
  checked.uninstall();
  checked.uninstall(); // idempotent
  using watchdog = installParentDeathGuard({ useFfi: false, intervalMs: 50 });
  assertEquals([watchdog.mechanism, watchdog.intervalMs], ["watchdog", 50]);
});

Deno.test("installParentDeathGuard() rejects bad options", () => {
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => installParentDeathGuard({ deathSignal: "SIGSTOP" as any }),
    RangeError,
    "SIGSTOP",
  );
  assertThrows(() => installParentDeathGuard({ intervalMs: 0 }), RangeError, "0");
});

Deno.test({
  name:
    "LN-24, BS-51: a child the launcher armed (setpriv) trusts it, loads no FFI, and the kernel kills it with its parent while its JavaScript is blocked",
  permissions,
  async fn() {
    await using scenario = new PdeathsigScenario("launcher");
    const parent = await scenario.next("parent");
    const launched = await scenario.next("launched");
    assertEquals(launched.armed, true, `setpriv --pdeathsig is installed here; ${scenario.output}`);
    const guard = await scenario.next("guard");
    // Without --allow-ffi the guard would be the watchdog, which cannot run while blocked.
    assertEquals(guard.mechanism, "exec", scenario.output);
    assertEquals([guard.deathSignal, guard.parentPid], ["SIGKILL", parent.pid]);
    const child = guard.pid as number;
    assert(await isAlive(child));
    await scenario.killParent();
    assert(await diesWithin(child, 2_000), "BS-3: the orphan must be dead within 2 s");
  },
});

Deno.test({
  name:
    "LN-24 (control): unarmed, the blocked child outlives its parent (only the kernel could have killed it)",
  permissions,
  async fn() {
    await using scenario = new PdeathsigScenario("launcher-off");
    await scenario.next("parent");
    assertEquals((await scenario.next("launched")).armed, false);
    const guard = await scenario.next("guard");
    assertEquals(guard.mechanism, "watchdog", scenario.output);
    const child = guard.pid as number;
    await scenario.killParent();
    assertFalse(await diesWithin(child, 1_000), "nothing in the child could run to exit it");
  },
});

Deno.test({
  name:
    "BS-51: the launcher's claim is taken once and removed from the environment; anything but SIGKILL is no claim",
  permissions,
  fn() {
    Deno.env.set(PDEATHSIG_ARMED_ENV, "SIGKILL");
    const guard = installParentDeathGuard({ expectedParentPid: Deno.ppid, useFfi: false });
    try {
      assertEquals([guard.mechanism, guard.deathSignal, guard.parentGone], [
        "exec",
        "SIGKILL",
        false,
      ]);
      assertEquals(Deno.env.get(PDEATHSIG_ARMED_ENV), undefined, "a child must not inherit it");
    } finally {
      guard.uninstall();
    }
    Deno.env.set(PDEATHSIG_ARMED_ENV, "");
    using unarmed = installParentDeathGuard({ expectedParentPid: Deno.ppid, useFfi: false });
    assertEquals(unarmed.mechanism, "watchdog");
    assertEquals(Deno.env.get(PDEATHSIG_ARMED_ENV), undefined);
    Deno.env.set(PDEATHSIG_ARMED_ENV, "SIGKILL");
    assertEquals(releaseParentDeathClaim({ useFfi: false }), true);
    assertEquals(releaseParentDeathClaim({ useFfi: false }), false, "taken once");
  },
});
