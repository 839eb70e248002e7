import { assertEquals, assertThrows } from "@std/assert";
import { closeQuietly } from "./_net_io.ts";

/** A real unix socket pair in a fresh directory. */
async function socketPair(): Promise<
  { dir: string; listener: Deno.UnixListener; client: Deno.UnixConn; server: Deno.UnixConn }
> {
  const dir = Deno.makeTempDirSync({ prefix: "ch14-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s` });
  const [client, server] = await Promise.all([
    Deno.connect({ transport: "unix", path: `${dir}/s` }),
    listener.accept(),
  ]);
  return { dir, listener, client, server };
}

/** Counts `close()` calls reaching a real socket. */
function counting<T extends { close(): void }>(real: T): { conn: T; closes: () => number } {
  let closes = 0;
  const conn = new Proxy(real, {
    get(target, key) {
      if (key === "close") {
        return () => {
          closes++;
          target.close();
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { conn, closes: () => closes };
}

Deno.test("CH-14: closeQuietly closes a socket once; later calls do not close it again", async () => {
  const { dir, listener, client, server } = await socketPair();
  const spy = counting(client);
  closeQuietly(spy.conn);
  closeQuietly(spy.conn);
  closeQuietly(spy.conn);
  assertEquals(spy.closes(), 1);
  // Closed for real: the peer reads end-of-file, and a direct close is refused.
  assertEquals(await server.read(new Uint8Array(8)), null);
  assertThrows(() => client.close(), Deno.errors.BadResource);
  closeQuietly(server);
  closeQuietly(listener);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("CH-14: closeQuietly of a socket closed some other way ignores the error", async () => {
  const { dir, listener, client, server } = await socketPair();
  client.close();
  closeQuietly(client); // already closed: BadResource is swallowed
  closeQuietly(undefined);
  server.close();
  const spy = counting(listener);
  closeQuietly(spy.conn);
  closeQuietly(spy.conn);
  assertEquals(spy.closes(), 1);
  Deno.removeSync(dir, { recursive: true });
});
