import { assertEquals, assertThrows } from "@std/assert";
import {
  backoffDelay,
  NO_RESTART,
  RESTART_DEFAULTS,
  restartPolicy,
  RestartPolicyError,
  type RestartPolicyInit,
} from "./policy.ts";

Deno.test("RS-1: defaults fill every field but the mode; no policy means never", () => {
  assertEquals(restartPolicy(undefined), NO_RESTART);
  const p = restartPolicy({ restart: "on-failure" });
  assertEquals(p, { ...RESTART_DEFAULTS, restart: "on-failure" });
  assertEquals(Object.isFrozen(p) && Object.isFrozen(p.backoff), true);
  const q = restartPolicy({ restart: "always", backoff: { initialMs: 20_000 } });
  assertEquals(q.backoff.maxMs, 20_000, "a larger initial delay raises the default max");
});

Deno.test("RS-1: each nonsensical field is refused with its name", () => {
  const bad: [unknown, string][] = [
    [null, "policy"],
    [{ restart: "sometimes" }, "restart"],
    [{ restart: "on-failure", maxRestarts: -1 }, "maxRestarts"],
    [{ restart: "on-failure", maxRestarts: 1.5 }, "maxRestarts"],
    [{ restart: "on-failure", withinMs: 0 }, "withinMs"],
    [{ restart: "on-failure", withinMs: Infinity }, "withinMs"],
    [{ restart: "on-failure", backoff: { initialMs: -5 } }, "backoff.initialMs"],
    [{ restart: "on-failure", backoff: { initialMs: 500, maxMs: 100 } }, "backoff.initialMs"],
    [{ restart: "on-failure", backoff: { maxMs: Number.NaN } }, "backoff.maxMs"],
    [{ restart: "on-failure", backoff: { factor: 0.9 } }, "backoff.factor"],
    [{ restart: "on-failure", backoff: 3 }, "backoff"],
    [{ restart: "on-failure", stopExitCodes: [1, 256] }, "stopExitCodes"],
    [{ restart: "on-failure", stopExitCodes: "0" }, "stopExitCodes"],
  ];
  for (const [init, field] of bad) {
    const e = assertThrows(() => restartPolicy(init as RestartPolicyInit), RestartPolicyError);
    assertEquals(e.field, field, JSON.stringify(init));
  }
});

Deno.test("RS-3: backoff grows by the factor from the initial delay and stops at the max", () => {
  const b = { initialMs: 50, maxMs: 1_000, factor: 3 };
  assertEquals([1, 2, 3, 4, 5].map((n) => backoffDelay(b, n)), [50, 150, 450, 1_000, 1_000]);
  assertEquals(backoffDelay({ initialMs: 10, maxMs: 10, factor: 1 }, 7), 10, "factor 1: constant");
  assertEquals(backoffDelay(b, 0), 50, "attempts count from 1");
  const atOnce = restartPolicy({ restart: "on-failure", backoff: { initialMs: 0, maxMs: 0 } });
  assertEquals(backoffDelay(atOnce.backoff, 3), 0, "0 restarts at once (OTP's behaviour)");
});
