import { assert, assertEquals } from "@std/assert";
import { settlesWithinLight, startLightTimer } from "./light_timer.ts";

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

Deno.test("an armed light timer keeps a process running until it fires", async () => {
  const script = `
    import { startLightTimer } from ${
    JSON.stringify(new URL("./light_timer.ts", import.meta.url).href)
  };
    const started = performance.now();
    startLightTimer(150, () => console.log("fired", Math.round(performance.now() - started)));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(text.startsWith("fired "), `the process ended before the timer: ${JSON.stringify(text)}`);
  assert(Number(text.split(" ")[1]) >= 149);
});

Deno.test("a cancelled light timer no longer keeps a process running", async () => {
  const script = `
    import { startLightTimer } from ${
    JSON.stringify(new URL("./light_timer.ts", import.meta.url).href)
  };
    startLightTimer(3000, () => console.log("fired")).cancel();
  `;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    stdout: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "");
  assert(performance.now() - started < 2500, "the process waited for a cancelled timer");
});

Deno.test("settlesWithinLight: true when the promise settles in time (either way), else false", async () => {
  assertEquals(await settlesWithinLight(Promise.resolve(1), 1000), true);
  assertEquals(await settlesWithinLight(Promise.reject(new Error("x")), 1000), true);
  assertEquals(await settlesWithinLight(new Promise(() => {}), 20), false);
});

Deno.test("settlesWithinLight: an already-settled promise arms no timer; a pending one does, and it is cancelled when it settles", async () => {
  const original = AbortSignal.timeout;
  let armed = 0;
  AbortSignal.timeout = (ms: number) => {
    armed++;
    return original.call(AbortSignal, ms);
  };
  try {
    const done = Promise.resolve();
    await done;
    assertEquals(await settlesWithinLight(done, 1000), true);
    assertEquals(await settlesWithinLight(Promise.reject(new Error("x")), 1000), true);
    assertEquals(armed, 0, "settled work needs no timer");
    let finish!: () => void;
    const pending = new Promise<void>((resolve) => (finish = resolve));
    const bounded = settlesWithinLight(pending, 1000);
    await null;
    await null;
    finish();
    assertEquals(await bounded, true);
    assertEquals(armed, 1, "pending work is bounded by one timer");
  } finally {
    AbortSignal.timeout = original;
  }
});
