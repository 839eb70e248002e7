import { assert, assertEquals } from "@std/assert";
import { startLightTimer } from "./_light_timer.ts";

Deno.test("startLightTimer fires once after its delay", async () => {
  const started = performance.now();
  let calls = 0;
  await new Promise<void>((resolve) =>
    startLightTimer(20, () => {
      calls++;
      resolve();
    })
  );
  assert(performance.now() - started >= 19, "fired early");
  assertEquals(calls, 1);
});

Deno.test("a cancelled light timer never fires; cancel is idempotent", async () => {
  let fired = false;
  const timer = startLightTimer(5, () => (fired = true));
  timer.cancel();
  timer.cancel();
  // A later timer on the same runtime queue fires after the cancelled one was due.
  await new Promise<void>((resolve) => startLightTimer(30, resolve));
  assertEquals(fired, false);
});

Deno.test("a negative delay counts as zero", async () => {
  await new Promise<void>((resolve) => startLightTimer(-5, resolve));
});
