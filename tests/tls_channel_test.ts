/**
 * TLS channels (TL-1..TL-4) over real sockets, with a CA and certificates
 * made by `openssl` for the test.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { attrs, config } from "../config/mod.ts";
import {
  ChannelAddr,
  ChannelError,
  dial,
  type SendError,
  serve,
  setChannelLogger,
} from "../channel/mod.ts";
import { makeTestPki, type TestPki } from "./_tls_support.ts";

let pki: TestPki | undefined;
async function testPki(): Promise<TestPki> {
  return pki ??= await makeTestPki();
}

function useTls(p: TestPki, ca = p.caFile, cert = p.certFile, key = p.keyFile): Disposable {
  const held = [
    config.override(attrs.TLS_CERT_FILE, cert),
    config.override(attrs.TLS_KEY_FILE, key),
    config.override(attrs.TLS_CA_FILE, ca),
  ];
  return { [Symbol.dispose]: () => held.reverse().forEach((h) => h[Symbol.dispose]()) };
}

Deno.test("TL-1: tls addresses parse, print and round trip like tcp ones", () => {
  for (const text of ["tls:127.0.0.1:26600", "tls:[::1]:0", "tls:host.example:1"]) {
    assertEquals(ChannelAddr.parse(text).toString(), text);
    assertEquals(ChannelAddr.parse(text).transport, "tls");
  }
  assertEquals(ChannelAddr.any("tls").toString(), "tls:127.0.0.1:0");
  assert(!ChannelAddr.parse("tls:127.0.0.1:1").equals(ChannelAddr.parse("tcp:127.0.0.1:1")));
});

Deno.test("TL-1 / TL-3: messages round trip over tls through serve() and dial()", async () => {
  using _tls = useTls(await testPki());
  await using server = await serve<{ n: number } | Uint8Array>(ChannelAddr.any("tls"));
  assertEquals(server.addr.transport, "tls");
  await using tx = dial<{ n: number } | Uint8Array>(server.addr);
  for (let n = 0; n < 50; n++) tx.post({ n });
  await tx.send(new Uint8Array([1, 2, 3]));
  for (let n = 0; n < 50; n++) assertEquals(await server.recv(), { n });
  assertEquals([...(await server.recv()) as Uint8Array], [1, 2, 3]);
});

Deno.test("TL-4: a server certificate from an untrusted CA closes the sender, naming the address", async () => {
  const p = await testPki();
  using _tls = useTls(p);
  const prev = setChannelLogger(() => {});
  try {
    await using server = await serve<string>(ChannelAddr.any("tls"));
    using _untrusted = config.override(attrs.TLS_CA_FILE, p.otherCaFile);
    await using tx = dial<string>(server.addr);
    const err = await assertRejects(() => tx.send("hi")) as SendError<string>;
    assertStringIncludes(err.reason, `Cannot dial "${server.addr.key}": TLS handshake failed`);
    assertStringIncludes(err.reason, "UnknownIssuer");
    assertEquals(err.payload, "hi");
    assertEquals(tx.status.get().kind, "Closed");
  } finally {
    setChannelLogger(prev);
  }
});

Deno.test("TL-4: a certificate for another host name fails the handshake", async () => {
  const p = await testPki();
  using _tls = useTls(p, p.caFile, p.wrongNameCertFile, p.wrongNameKeyFile);
  const prev = setChannelLogger(() => {});
  try {
    await using server = await serve<string>(ChannelAddr.any("tls"));
    await using tx = dial<string>(server.addr);
    const err = await assertRejects(() => tx.send("hi")) as SendError<string>;
    assertStringIncludes(err.reason, `Cannot dial "${server.addr.key}": TLS handshake failed`);
    assertStringIncludes(err.reason, "not valid for name");
  } finally {
    setChannelLogger(prev);
  }
});

Deno.test("TL-2 / TL-3: missing certificate, key or CA files fail serve()/dial() naming address and file", async () => {
  const p = await testPki();
  {
    using _tls = useTls(p, p.caFile, `${p.dir}/nope.pem`);
    const err = await assertRejects(() => serve("tls:127.0.0.1:0"), ChannelError);
    assertStringIncludes(err.message, 'Cannot serve "tls:127.0.0.1:0"');
    assertStringIncludes(
      err.message,
      `HYPERMESH_TLS_CERT_FILE file "${p.dir}/nope.pem" is not found`,
    );
  }
  {
    using _tls = useTls(p, p.caFile, p.certFile, "");
    const err = await assertRejects(() => serve("tls:127.0.0.1:0"), ChannelError);
    assertStringIncludes(err.message, "HYPERMESH_TLS_KEY_FILE is empty");
  }
  {
    using _tls = useTls(p, `${p.dir}/no-ca.pem`);
    const err = assertThrows(() => dial("tls:127.0.0.1:1"), ChannelError);
    assertStringIncludes(err.message, 'Cannot dial "tls:127.0.0.1:1"');
    assertStringIncludes(err.message, "HYPERMESH_TLS_CA_FILE");
  }
});

Deno.test("TL-cleanup: remove the test PKI", async () => {
  if (pki !== undefined) await Deno.remove(pki.dir, { recursive: true });
});
