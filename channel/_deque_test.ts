import { assertEquals } from "@std/assert";
import { Deque } from "./_deque.ts";

Deno.test("Deque.drain returns every item head first after the ring wrapped, and empties it", () => {
  const d = new Deque<number>(16);
  for (let i = 0; i < 12; i++) d.push(i);
  for (let i = 0; i < 10; i++) assertEquals(d.shift(), i);
  for (let i = 12; i < 24; i++) d.push(i); // wraps around the 16-slot ring
  assertEquals(d.drain(), Array.from({ length: 14 }, (_, i) => i + 10));
  assertEquals(d.length, 0);
  assertEquals(d.shift(), undefined);
  assertEquals(d.peek(), undefined);
});

Deno.test("Deque.drain of an empty deque is an empty array; the deque stays usable", () => {
  const d = new Deque<string>(1024);
  assertEquals(d.drain(), []);
  d.push("a");
  d.push("b");
  assertEquals(d.drain(), ["a", "b"]);
  for (let i = 0; i < 40; i++) d.push(String(i)); // grows past 16 after a drain
  assertEquals(d.length, 40);
  assertEquals(d.at(39), "39");
  assertEquals(d.shift(), "0");
});

Deno.test("Deque.drain lets go of the items it returned (no slot keeps a reference)", () => {
  const d = new Deque<object>(16);
  const items = [{}, {}, {}];
  for (const item of items) d.push(item);
  d.shift();
  d.drain();
  // Every slot reads empty: nothing drained is still held by the ring.
  for (let i = 0; i < 16; i++) assertEquals(d.at(i), undefined);
});
