/**
 * Errors that say what happened (HM-6, CH-11, CH-12): an attach to an
 * address where nothing listens, where the peer hangs up, where another
 * protocol answers or where the secret differs fails at once and says
 * which — against real sockets, a real HTTP server and a real host daemon
 * with another secret. Each attach runs with a 60 s push deadline, so a
 * test that waited for it would hang well past its 20 s guard.
 */

import { assertEquals, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { ConfigPushError } from "../mesh/host_mesh/errors.ts";
import { ChannelProbeError, probeChannel } from "../channel/probe.ts";
import { ChannelAddr, dial, ForeignPeerError, SendError, serve } from "../channel/mod.ts";
import { ChannelSecret } from "../channel/secret.ts";

const GUARD_MS = 20_000;

/** Runs `attach` against `addr` and returns its error, failing the test after {@linkcode GUARD_MS}. */
async function attachError(addr: string): Promise<ConfigPushError> {
  using _t = config.override(attrs.MESH_ATTACH_CONFIG_TIMEOUT, 60_000);
  using _f = config.override(attrs.FORWARDER_FLUSH_TIMEOUT, 200); // the push stays unacked
  const cx = await context();
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    const attached = HostMesh.attach(cx, "attach_errors", [addr]);
    const timedOut = new Promise<never>((_, reject) => {
      guard = setTimeout(
        () => reject(new Error(`HM-6: attach to ${addr} still waiting after ${GUARD_MS} ms`)),
        GUARD_MS,
      );
    });
    return await assertRejects(() => Promise.race([attached, timedOut]), ConfigPushError);
  } finally {
    clearTimeout(guard);
    await shutdownContext();
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("HM-6: attach where nothing listens fails at once as Unreachable, connection refused", async () => {
  const addr = `tcp:127.0.0.1:${freePort()}`;
  const err = await attachError(addr);
  assertEquals(err.failures.map((f) => [f.host, f.failure.kind]), [[addr, "Unreachable"]]);
  assertStringIncludes(
    err.message,
    `${addr}: Cannot reach "${addr}": nothing listens there (connection refused)`,
  );
});

Deno.test("HM-6: attach to a unix path with no socket says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const addr = `unix:${dir}/none.sock`;
    const err = await attachError(addr);
    assertEquals(err.failures[0].failure.kind, "Unreachable");
    assertStringIncludes(err.message, "nothing listens there (no such socket file)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HM-6 / CH-12: attach to an HTTP server names the other protocol and quotes it", async () => {
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("not a host"),
  );
  const addr = `tcp:127.0.0.1:${http.addr.port}`;
  const err = await attachError(addr);
  assertEquals(err.failures[0].failure.kind, "Unreachable");
  assertStringIncludes(
    err.message,
    'the peer does not speak the hypermesh channel protocol (it answered "HTTP/1.1 400 Bad Request")',
  );
});

Deno.test("HM-6: attach to a peer that hangs up at once says it hung up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `tcp:127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const accepting = (async () => {
    for await (const conn of listener) conn.close(); // every dial: accepted, then closed
  })();
  try {
    const err = await attachError(addr);
    assertEquals(err.failures[0].failure.kind, "Unreachable");
    assertStringIncludes(err.message, "the peer hung up during the handshake");
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
});

Deno.test("CH-11: a probe with another secret fails as authentication", async () => {
  await using server = await serve<string>(ChannelAddr.any("tcp"));
  const err = await assertRejects(
    () => probeChannel(server.addr, { secrets: [ChannelSecret.generate()] }),
    ChannelProbeError,
  );
  assertEquals(err.failure, "authentication");
  assertStringIncludes(err.message, "authentication failed");
});

Deno.test("CH-11: a probe of a live server succeeds and leaves the server nothing to read", async () => {
  await using server = await serve<string>(ChannelAddr.any("unix"));
  await probeChannel(server.addr);
  await probeChannel(server.addr.toString(), { timeoutMs: 1_000 });
  await using tx = dial<string>(server.addr);
  await tx.send("after the probes");
  assertEquals(await server.recv(), "after the probes", "CH-11: the probes delivered nothing");
});

Deno.test("CH-11: a probe of a silent server times out naming the address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `tcp:127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accepts, never answers
  })();
  try {
    const err = await assertRejects(
      () => probeChannel(addr, { timeoutMs: 200 }),
      ChannelProbeError,
    );
    assertEquals(err.failure, "timeout");
    assertStringIncludes(err.message, `Cannot reach "${addr}": connected, but no handshake answer`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("CH-11: an aborted probe rejects with the signal's reason", async () => {
  const controller = new AbortController();
  controller.abort(new Error("enough"));
  const err = await assertRejects(
    () => probeChannel(`tcp:127.0.0.1:${freePort()}`, { signal: controller.signal }),
    Error,
  );
  assertEquals(err.message, "enough");
});

Deno.test("CH-12: a link to an HTTP server closes at once with ForeignPeerError as the cause", async () => {
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("not a host"),
  );
  await using tx = dial<string>(`tcp:127.0.0.1:${http.addr.port}`);
  const err = await assertRejects(() => tx.send("hello"), SendError);
  assertInstanceOf(err.cause, ForeignPeerError, "CH-12: the cause is typed");
  assertStringIncludes((err.cause as ForeignPeerError).answered, "HTTP/1.1 400");
  const status = tx.status.get();
  assertEquals(status.kind, "Closed", "CH-12: terminal, not retried");
  if (status.kind === "Closed") assertInstanceOf(status.error, ForeignPeerError);
});
