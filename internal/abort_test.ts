import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { raceAbort, waitWithin } from "./abort.ts";

Deno.test("AB-1: waitWithin resolves a wait that settles first and never aborts its signal", async () => {
  let given: AbortSignal | undefined;
  const value = await waitWithin((signal) => {
    given = signal;
    return new Promise<string>((resolve) => setTimeout(() => resolve("done"), 10));
  }, 5_000);
  assertEquals(value, "done");
  assertEquals(given!.aborted, false, "a settled wait's signal must not be aborted");
});

Deno.test("AB-1: at the deadline waitWithin resolves undefined and aborts the wait with a TimeoutError", async () => {
  let given: AbortSignal | undefined;
  let ended: unknown;
  const value = await waitWithin((signal) => {
    given = signal;
    // A parked wait: ends only through its signal, as a status-cell wait does.
    return raceAbort(new Promise<never>(() => {}), signal).catch((error) => {
      ended = error;
      throw error;
    });
  }, 20);
  assertEquals(value, undefined);
  const signal = given!;
  assert(signal.aborted);
  assertInstanceOf(signal.reason, DOMException);
  assertEquals((signal.reason as DOMException).name, "TimeoutError");
  await Promise.resolve(); // the wait's own rejection runs its handler
  assertEquals((ended as DOMException | undefined)?.name, "TimeoutError");
});

Deno.test("waitWithin counts a rejected wait as undefined, before the deadline", async () => {
  const started = performance.now();
  const value = await waitWithin(() => Promise.reject(new Error("gone")), 5_000);
  assertEquals(value, undefined);
  assert(performance.now() - started < 4_000, "waited for the deadline");
});
