import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { ChannelAddr } from "./addr.ts";
import { checkAdvertisable, UnadvertisableAddrError } from "./advertise.ts";
import { dial, serve } from "./channel.ts";
import { ChannelError } from "./errors.ts";

Deno.test("AD-1: 0.0.0.0 and :: are refused as advertised addresses, naming --bind", () => {
  for (const text of ["tcp:0.0.0.0:26600", "tcp:[::]:26600", "tls:[0:0:0:0:0:0:0:0]:1"]) {
    const err = assertThrows(
      () => checkAdvertisable(ChannelAddr.parse(text)),
      UnadvertisableAddrError,
    );
    assertEquals(err.addr, text, "AD-1: the error names the address");
    assertStringIncludes(err.message, "--bind", "AD-1: the message says what to use instead");
    assertStringIncludes(err.suggestion, "$(hostname -f)");
  }
  for (const text of ["tcp:127.0.0.1:0", "tcp:node7.cluster:1", "unix:/tmp/x", "local:0"]) {
    assertEquals(checkAdvertisable(ChannelAddr.parse(text)).key, text);
  }
});

Deno.test("AD-2: serving tcp:localhost:0 keeps the name, with the bound port, and is dialable", async () => {
  await using server = await serve<string>("tcp:localhost:0");
  assertEquals(server.addr.host, "localhost", "AD-2: the name is kept");
  assert(server.addr.port! > 0, "AD-2: the bound port is filled in");
  await using tx = dial<string>(server.addr);
  await tx.send("by name");
  assertEquals(await server.recv(), "by name");
  await using ip = await serve<string>("tcp:127.0.0.1:0");
  assertEquals(ip.addr.host, "127.0.0.1", "AD-2: an IP literal is reported as bound");
});

Deno.test("AD-3: a separate bind address listens there and reports the advertised one", async () => {
  await using server = await serve<string>("tcp:localhost:0", { bind: "tcp:127.0.0.1:0" });
  assertEquals(server.addr.host, "localhost", "AD-3: the advertised host is reported");
  await using tx = dial<string>(`tcp:127.0.0.1:${server.addr.port}`);
  await tx.send("via bind");
  assertEquals(await server.recv(), "via bind");
  // A fixed advertised port is what the listener binds when `bind` has port 0.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using fixed = await serve<string>(`tcp:localhost:${port}`, { bind: "tcp:127.0.0.1:0" });
  assertEquals(fixed.addr.key, `tcp:localhost:${port}`);
  await assertRejects(
    () => serve("unix:/tmp/hm-never.sock", { bind: "tcp:127.0.0.1:0" }),
    ChannelError,
    "tcp: and tls: only",
  );
  await assertRejects(
    () => serve("tcp:localhost:0", { bind: "tls:127.0.0.1:0" }),
    ChannelError,
    "same transport",
  );
});
