import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { WatchCell, WatchCellClosedError } from "./watch_cell.ts";

Deno.test("WC-1: WatchCell.get() returns the latest published value", () => {
  const cell = new WatchCell("a");
  cell.set("b");
  assertEquals(cell.get(), "b", "WC-1");
  assertEquals(cell.update((v) => v + "c"), "bc");
  assertEquals(cell.get(), "bc", "WC-1");
});

Deno.test("WC-2: a slow watcher sees every value in order", async () => {
  const cell = new WatchCell(0);
  const it = cell.watch();
  assertEquals((await it.next()).value, 0);
  for (let i = 1; i <= 100; i++) cell.set(i); // published while the reader is parked
  const seen: number[] = [];
  for (let i = 1; i <= 100; i++) seen.push((await it.next()).value as number);
  assertEquals(seen, Array.from({ length: 100 }, (_, i) => i + 1), "WC-2: no value skipped");
  await it.return(undefined);
});

Deno.test("WC-2: subscribers start from the value current at subscription", async () => {
  const cell = new WatchCell(1);
  cell.set(2);
  const it = cell.watch();
  cell.set(3);
  cell.close();
  const seen: number[] = [];
  for await (const v of it) seen.push(v);
  assertEquals(seen, [2, 3]);
});

Deno.test("WC-3: close() ends every iterator and set() then throws", async () => {
  const cell = new WatchCell(0);
  const readers = [0, 1, 2].map(async () => {
    const out: number[] = [];
    for await (const v of cell.watch()) out.push(v);
    return out;
  });
  cell.set(7);
  cell.close();
  cell.close(); // idempotent
  for (const out of await Promise.all(readers)) assertEquals(out, [0, 7], "WC-3");
  assertThrows(() => cell.set(1), WatchCellClosedError);
  assertEquals(cell.closed, true);
});

Deno.test("WC-4: an aborted signal ends a parked watch() with its reason", async () => {
  const cell = new WatchCell(0);
  const controller = new AbortController();
  const it = cell.watch({ signal: controller.signal });
  await it.next();
  const parked = it.next();
  controller.abort(new Error("stop waiting"));
  await assertRejects(() => parked, Error, "stop waiting");
  cell.set(1); // no subscriber left to queue for
});

Deno.test("WatchCell.changed() resolves with the next value, undefined on close", async () => {
  const cell = new WatchCell(0);
  const next = cell.changed();
  cell.set(5);
  assertEquals(await next, 5);
  const none = cell.changed();
  cell.close();
  assertEquals(await none, undefined);
});

Deno.test("WatchCell.waitFor() returns the first value that satisfies the predicate", async () => {
  const cell = new WatchCell(0);
  const waiting = cell.waitFor((v) => v >= 3);
  for (let i = 1; i <= 5; i++) cell.set(i);
  assertEquals(await waiting, 3);
  assertEquals(await cell.waitFor((v) => v === 5), 5, "the current value counts");
  cell.close();
  assertEquals(await cell.waitFor((v) => v > 100), undefined);
});

Deno.test("WC-4: waitFor() with a timeout signal rejects", async () => {
  const cell = new WatchCell(0);
  await assertRejects(
    () => cell.waitFor((v) => v > 0, { signal: AbortSignal.timeout(10) }),
    DOMException,
  );
});
