// Long (~65 s) on purpose: kept alone in this file so it can run in parallel with other suites.
import { assert, assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import { diesWithin, isAlive, PdeathsigScenario } from "./fixtures/pdeathsig_harness.ts";

Deno.test({
  name: "BS-3: a SIGKILL-pdeathsig child outlives a 65 s idle parent, then dies with it",
  permissions: { run: true, read: true, env: true, ffi: true },
  async fn() {
    await using scenario = new PdeathsigScenario("main");
    const parent = await scenario.next("parent");
    const guard = await scenario.next("guard");
    assertEquals(guard.mechanism, "prctl", scenario.output);
    assertEquals(guard.deathSignal, "SIGKILL");
    const child = guard.pid as number;
    // Longer than any runtime thread keep-alive (tokio's blocking pool idles out after 10 s).
    await delay(65_000);
    assert(await isAlive(parent.pid as number), "the parent idles, alive");
    assert(await isAlive(child), "BS-3: an idle parent's child must not be killed");
    await scenario.killParent();
    assert(await diesWithin(child, 2_000), "BS-3: the orphan must be dead within 2 s");
  },
});
