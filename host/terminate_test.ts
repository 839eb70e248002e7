import { assertEquals, assertRejects } from "@std/assert";
import { bulkTerminate, TerminateSummary } from "./terminate.ts";
import { TerminateError } from "./proc_handle.ts";

Deno.test("TerminateSummary displays attempted=N ok=N failed=N", () => {
  assertEquals(
    `${new TerminateSummary({ attempted: 0, ok: 0, failed: 0 })}`,
    "attempted=0 ok=0 failed=0",
  );
});

Deno.test("HO-5: bulkTerminate() never exceeds maxInFlight", async () => {
  for (const maxInFlight of [1, 3, 10]) {
    let inFlight = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const running = bulkTerminate(Array.from({ length: 7 }, (_, i) => i), async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
    }, { maxInFlight });
    // Release one at a time, letting the runner refill between releases.
    let released = 0;
    while (released < 7) {
      await new Promise((r) => setTimeout(r, 0));
      const gate = gates.shift();
      if (gate) {
        gate();
        released++;
      }
    }
    const summary = await running;
    assertEquals(String(summary), "attempted=7 ok=7 failed=0");
    assertEquals(peak, Math.min(maxInFlight, 7), `HO-5: peak for maxInFlight=${maxInFlight}`);
  }
});

Deno.test("HO-5: bulkTerminate() treats maxInFlight below 1 as 1", async () => {
  let inFlight = 0;
  let peak = 0;
  const summary = await bulkTerminate([1, 2, 3], async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 1));
    inFlight--;
  }, { maxInFlight: 0 });
  assertEquals(summary.attempted, 3);
  assertEquals(peak, 1);
});

Deno.test("bulkTerminate() counts AlreadyTerminated as ok and other errors as failed", async () => {
  const failures: unknown[] = [];
  const summary = await bulkTerminate(["a", "b", "c", "d"], (x) => {
    switch (x) {
      case "a":
        return Promise.resolve();
      case "b":
        return Promise.reject(TerminateError.alreadyTerminated({ kind: "Stopped" }));
      case "c":
        return Promise.reject(TerminateError.io(new Error("EPERM")));
      default:
        throw new Error("synchronous throw");
    }
  }, { maxInFlight: 4, onError: (item) => failures.push(item) });
  assertEquals(summary.toJSON(), { attempted: 4, ok: 2, failed: 2 });
  assertEquals(failures.sort(), ["c", "d"]);
});

Deno.test("bulkTerminate() rejects a NaN maxInFlight with RangeError", async () => {
  await assertRejects(
    () => bulkTerminate([], () => Promise.resolve(), { maxInFlight: NaN }),
    RangeError,
  );
});
