import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelAddr, ChannelError, dial, SendError, serve } from "./mod.ts";

Deno.test("serve(local:0) allocates fresh ids; local:N ≠ 0 is a ChannelError", async () => {
  await using a = await serve(ChannelAddr.any("local"));
  await using b = await serve("local:0");
  assert(a.addr.localId! > 0 && a.addr.localId !== b.addr.localId);
  await assertRejects(() => serve("local:5"), ChannelError, "only local:0");
});

Deno.test("local channel delivers in order, zero-copy", async () => {
  await using server = await serve<{ i: number }>("local:0");
  await using tx = dial<{ i: number }>(server.addr);
  const first = { i: 0 };
  tx.post(first);
  for (let i = 1; i < 100; i++) tx.post({ i });
  const got = await server.recv();
  assert(got === first, "local channels pass the object itself");
  for (let i = 1; i < 100; i++) assertEquals((await server.recv())!.i, i);
});

Deno.test("CH-6: dialing an unserved local id is Closed and returns posts", async () => {
  await using tx = dial<string>("local:999999");
  assertEquals(tx.status.get().kind, "Closed");
  const returned = await new Promise<SendError<string>>((r) => tx.post("x", r));
  assertEquals(returned.payload, "x");
  await assertRejects(() => tx.send("y"), SendError);
});

Deno.test("CH-8: closing a local server closes its senders; queued messages stay readable", async () => {
  const server = await serve<number>("local:0");
  const tx = dial<number>(server.addr);
  tx.post(1);
  tx.post(2);
  await server.close();
  await server.close(); // idempotent
  assertEquals(tx.status.get(), { kind: "Closed", reason: "server closed" });
  const err = await assertRejects(() => tx.send(3), SendError);
  assertEquals(err.reason, "server closed");
  const got: number[] = [];
  for await (const m of server) got.push(m);
  assertEquals(got, [1, 2]);
  assertEquals(await server.recv(), undefined);
  await tx.close();
});

Deno.test("local recv() honours an AbortSignal and loses nothing", async () => {
  await using server = await serve<number>("local:0");
  await using tx = dial<number>(server.addr);
  const ac = new AbortController();
  const pending = server.recv({ signal: ac.signal });
  ac.abort(new Error("stop"));
  await assertRejects(() => pending, Error, "stop");
  tx.post(7);
  assertEquals(await server.recv(), 7, "the aborted recv() must not swallow a message");
});

Deno.test("serve() with an aborted signal closes the server", async () => {
  const ac = new AbortController();
  const server = await serve<number>("local:0", { signal: ac.signal });
  ac.abort();
  assertEquals(await server.recv(), undefined);
});
