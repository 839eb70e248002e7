import { assertEquals } from "@std/assert";
import { restartPolicy, type RestartPolicyInit } from "./policy.ts";
import { RestartBudget } from "./budget.ts";

const budget = (init: RestartPolicyInit) => new RestartBudget(restartPolicy(init));
const killed = (rank = 0) => ({ kind: "ProcExit" as const, rank });
const exited = (exitCode: number, rank = 0) => ({ kind: "ProcExit" as const, rank, exitCode });

Deno.test("RS-2: at most maxRestarts within withinMs per rank; the window slides", () => {
  const b = budget({ restart: "on-failure", maxRestarts: 2, withinMs: 1_000 });
  assertEquals(b.decide(killed(), 0).restart, true);
  assertEquals(b.decide(killed(), 100).restart, true);
  assertEquals(b.decide(killed(), 200), { restart: false, why: "intensity" });
  assertEquals(b.decide(killed(1), 200).restart, true, "ranks are counted apart");
  const later = b.decide(killed(), 1_050);
  assertEquals(later.restart && later.attempt, 3, "the first restart left the window");
  assertEquals(b.restarts(0), 3);
  assertEquals(budget({ restart: "on-failure", maxRestarts: 0 }).decide(killed(), 0), {
    restart: false,
    why: "intensity",
  });
});

Deno.test("RS-3: consecutive restarts back off further; a quiet window starts over", () => {
  const b = budget({
    restart: "on-failure",
    maxRestarts: 10,
    withinMs: 1_000,
    backoff: { initialMs: 100, factor: 2, maxMs: 350 },
  });
  const delays = [0, 10, 20, 30].map((t) => {
    const d = b.decide(killed(), t);
    return d.restart ? d.delayMs : -1;
  });
  assertEquals(delays, [100, 200, 350, 350]);
  const after = b.decide(killed(), 5_000);
  assertEquals(after.restart && after.delayMs, 100, "no restart within the window: initial delay");
});

Deno.test("RS-4: what each mode restarts; stop exit codes and lost hosts never", () => {
  const never = budget({ restart: "never" });
  assertEquals(never.decide(killed(), 0), { restart: false, why: "policy" });
  const onFailure = budget({ restart: "on-failure", stopExitCodes: [3] });
  assertEquals(onFailure.decide(exited(1), 0).restart, true);
  assertEquals(onFailure.decide(exited(0, 1), 0), { restart: false, why: "policy" });
  assertEquals(onFailure.decide(exited(3, 2), 0), { restart: false, why: "stop-exit-code" });
  assertEquals(onFailure.decide({ kind: "ActorFailure", rank: 3 }, 0).restart, true);
  assertEquals(onFailure.decide({ kind: "HostLost", rank: 4 }, 0), {
    restart: false,
    why: "host-lost",
  });
  const always = budget({ restart: "always", stopExitCodes: [0] });
  assertEquals(always.decide(exited(0), 0), { restart: false, why: "stop-exit-code" });
  assertEquals(budget({ restart: "always" }).decide(exited(0), 0).restart, true);
});
