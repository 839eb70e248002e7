import { assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import { checkGrace, forceOnAbort } from "./stop_options.ts";

/** A signal that counts its live abort listeners. */
function countingSignal(): { controller: AbortController; live: () => number } {
  const controller = new AbortController();
  const signal = controller.signal;
  let live = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    live++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    live--;
    remove(...args);
  };
  return { controller, live: () => live };
}

Deno.test("forceOnAbort settles as the stop and drops its listener when no abort comes", async () => {
  const { controller, live } = countingSignal();
  let forced = 0;
  assertEquals(await forceOnAbort(Promise.resolve(7), () => forced++, controller.signal), 7);
  await assertRejects(
    () => forceOnAbort(Promise.reject(new Error("io")), () => forced++, controller.signal),
    Error,
    "io",
  );
  assertEquals([live(), forced], [0, 0]);
});

Deno.test("forceOnAbort forces once and rejects with signal.reason at once; a later stop failure is handled", async () => {
  const { controller, live } = countingSignal();
  let forced = 0;
  let fail!: (e: Error) => void;
  const stopping = new Promise<number>((_, reject) => fail = reject);
  const waiting = forceOnAbort(stopping, () => {
    forced++;
    throw new Error("force failed too"); // swallowed: the stop in flight reports
  }, controller.signal);
  const reason = new Error("gave up");
  controller.abort(reason);
  assertStrictEquals(await assertRejects(() => waiting), reason);
  fail(new Error("late")); // must not surface as an unhandled rejection
  await Promise.resolve();
  assertEquals([live(), forced], [0, 1]);
});

Deno.test("forceOnAbort with an already aborted signal forces and rejects without a listener", async () => {
  let forced = 0;
  const reason = new Error("before");
  const waiting = forceOnAbort(
    new Promise<void>(() => {}),
    () => forced++,
    AbortSignal.abort(reason),
  );
  assertStrictEquals(await assertRejects(() => waiting), reason);
  assertEquals(forced, 1);
});

Deno.test("checkGrace accepts 0..Infinity and names the action otherwise", () => {
  assertEquals(checkGrace("stop x", 0), 0);
  assertEquals(checkGrace("stop x", Infinity), Infinity);
  assertThrows(() => checkGrace("stop x", -1), RangeError, "Cannot stop x: invalid graceMs -1");
  assertThrows(() => checkGrace("stop x", NaN), RangeError, "invalid graceMs NaN");
});
