import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { ChannelAddr } from "./addr.ts";
import { dial, serve } from "./channel.ts";
import { AuthenticationError, ChannelError, SendError } from "./errors.ts";
import { setChannelLogger } from "./net_server.ts";
import {
  ChannelSecret,
  channelSecrets,
  loadDefaultSecret,
  loadSecretFile,
  SecretFileError,
  setChannelSecret,
} from "./secret.ts";

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hm_secret_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AU-5: secret files must be private regular files with enough secret", async () => {
  await withDir((dir) => {
    const path = `${dir}/s`;
    assertThrows(() => loadSecretFile(path), SecretFileError, "no such file");
    Deno.writeTextFileSync(path, "0123456789abcdef0123456789\n", { mode: 0o600 });
    Deno.chmodSync(path, 0o600);
    assertEquals(loadSecretFile(path).keyIdHex, loadSecretFile(path).keyIdHex);
    Deno.chmodSync(path, 0o644);
    assertThrows(() => loadSecretFile(path), SecretFileError, "group or others");
    Deno.chmodSync(path, 0o640);
    assertThrows(() => loadSecretFile(path), SecretFileError, "group or others");
    Deno.chmodSync(path, 0o600);
    Deno.writeTextFileSync(path, "short\n");
    assertThrows(() => loadSecretFile(path), SecretFileError, "shorter");
    assertThrows(() => loadSecretFile(dir), SecretFileError);
  });
});

Deno.test("AU-6: the default secret file is created at first use, 0600 in a 0700 directory, then reused", async () => {
  await withDir((dir) => {
    const path = `${dir}/cfg/hypermesh/secret`;
    const a = loadDefaultSecret(path);
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    assertEquals(Deno.statSync(`${dir}/cfg/hypermesh`).mode! & 0o777, 0o700);
    assertEquals(loadDefaultSecret(path).keyIdHex, a.keyIdHex);
  });
});

Deno.test("AU-2 / AU-4: the right secret links; a wrong one fails terminally with AuthenticationError", async () => {
  const logs: string[] = [];
  const prev = setChannelLogger((m) => logs.push(m));
  try {
    await using server = await serve<string>(ChannelAddr.any("tcp"));
    // One of several offered secrets is enough.
    await using good = dial<string>(server.addr, {
      secrets: [ChannelSecret.generate(), ...channelSecrets()!],
    });
    await good.send("hi");
    assertEquals(await server.recv(), "hi");
    await using bad = dial<string>(server.addr, { secrets: [ChannelSecret.generate()] });
    const err = await assertRejects(() => bad.send("x"), SendError);
    assertInstanceOf(err.cause, AuthenticationError);
    assert(err.reason.includes(server.addr.key) && err.reason.includes("authentication failed"));
    const status = bad.status.get();
    assert(status.kind === "Closed" && status.error instanceof AuthenticationError);
    assertEquals(
      logs.filter((l) => l.includes("authentication failed")).length,
      1,
      logs.join("\n"),
    );
    assert(logs[0].includes("peer 127.0.0.1:"), logs[0]);
    await good.send("still"); // the server keeps serving the owner
    assertEquals(await server.recv(), "still");
  } finally {
    setChannelLogger(prev);
  }
});

Deno.test("AU-7: an insecure dialer is refused by a secure server; insecure serving is loopback only", async () => {
  const prev = setChannelLogger(() => {});
  try {
    await using server = await serve<string>(ChannelAddr.any("unix"));
    await using tx = dial<string>(server.addr, { secrets: null });
    const err = await assertRejects(() => tx.send("x"), SendError);
    assertInstanceOf(err.cause, AuthenticationError);
    const keys = channelSecrets();
    setChannelSecret(null);
    try {
      await assertRejects(
        () => serve(ChannelAddr.tcp("0.0.0.0", 0)),
        ChannelError,
        "without authentication",
      );
      await using plain = await serve<string>(ChannelAddr.any("tcp"));
      await using ptx = dial<string>(plain.addr);
      await ptx.send("plain");
      assertEquals(await plain.recv(), "plain");
    } finally {
      setChannelSecret(keys![0]);
    }
  } finally {
    setChannelLogger(prev);
  }
});

Deno.test("AU-8: unix channels are socket files in a private 0700 directory; abstract names are not served", async () => {
  const addr = ChannelAddr.any("unix");
  assertEquals(addr.abstract, false);
  const dir = addr.path!.slice(0, addr.path!.lastIndexOf("/"));
  assertEquals(Deno.statSync(dir).mode! & 0o777, 0o700);
  const server = await serve<string>(addr);
  assert(Deno.statSync(addr.path!).isSocket);
  await server.close();
  assertThrows(() => Deno.statSync(addr.path!), Deno.errors.NotFound);
  await assertRejects(() => serve(ChannelAddr.parse("unix:@hm-test")), ChannelError, "abstract");
});
