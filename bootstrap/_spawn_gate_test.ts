import { assertEquals, assertRejects } from "@std/assert";
import { type ReleaseSlot, SpawnGate } from "./_spawn_gate.ts";

const microtasks = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

Deno.test("BS-46: SpawnGate grants in request order, one grant per macrotask", async () => {
  const gate = new SpawnGate();
  const order: number[] = [];
  const releases: ReleaseSlot[] = [];
  const all = [0, 1, 2, 3].map((i) =>
    gate.acquire().then((release) => {
      order.push(i);
      releases.push(release);
    })
  );
  await all[0];
  await microtasks(50); // a microtask chain never sees a second grant
  assertEquals(order, [0], "BS-46: the next launch waits for a macrotask");
  await Promise.all(all);
  assertEquals(order, [0, 1, 2, 3], "BS-46: FIFO");
  assertEquals(gate.starting, 4, "no bound: every child may start at once");
  for (const release of releases) release();
  assertEquals(gate.starting, 0);
});

Deno.test("BS-47: SpawnGate keeps at most max children starting and grants the rest as slots free", async () => {
  const gate = new SpawnGate(2);
  let peak = 0;
  const granted: number[] = [];
  const releases = new Map<number, ReleaseSlot>();
  const all = [0, 1, 2, 3, 4].map((i) =>
    gate.acquire().then((release) => {
      granted.push(i);
      releases.set(i, release);
      peak = Math.max(peak, gate.starting);
    })
  );
  await Promise.all(all.slice(0, 2));
  await new Promise((r) => setTimeout(r, 20));
  assertEquals([granted, gate.waiting], [[0, 1], 3], "BS-47: the third waits for a slot");
  releases.get(0)!();
  releases.get(0)!(); // idempotent: frees one slot only
  await all[2];
  assertEquals(gate.starting, 2);
  releases.get(1)!();
  releases.get(2)!();
  await Promise.all(all);
  assertEquals(granted, [0, 1, 2, 3, 4]);
  assertEquals(peak, 2, "BS-47: never more than max starting");
  releases.get(3)!();
  releases.get(4)!();
  assertEquals([gate.starting, gate.granted], [0, 5]);
});

Deno.test("BS-47: an aborted SpawnGate waiter leaves the queue and is never granted", async () => {
  const gate = new SpawnGate(1);
  const first = await gate.acquire();
  const ac = new AbortController();
  const aborted = gate.acquire(ac.signal);
  const next = gate.acquire();
  ac.abort(new Error("spawn cancelled"));
  await assertRejects(() => aborted, Error, "spawn cancelled");
  assertEquals(gate.waiting, 1);
  first();
  (await next)();
  assertEquals([gate.starting, gate.granted], [0, 2]);
});

Deno.test("BS-46: an idle SpawnGate grants at once; the next launch in the same macrotask waits", async () => {
  const gate = new SpawnGate();
  let second = false;
  const first = gate.acquire();
  const next = gate.acquire().then((release) => (second = true, release));
  const releaseFirst = await first; // granted without a timer
  await microtasks(50);
  assertEquals(second, false, "BS-46: not in the macrotask of the first grant");
  (await next)();
  releaseFirst(); // a child's callback: a later macrotask, the gate is idle again
  const third = gate.acquire();
  let granted = false;
  third.then(() => (granted = true));
  await microtasks(5);
  assertEquals(granted, true, "an idle gate grants without a timer");
  (await third)();
  assertEquals([gate.starting, gate.granted], [0, 3]);
});
