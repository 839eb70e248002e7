// Integration tests of unix/tcp channels over real sockets (loopback only), in one process.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { attrs, config } from "../config/mod.ts";
import {
  ChannelAddr,
  ChannelError,
  type ChannelServer,
  dial,
  encodeFrame,
  SendError,
  serve,
  setChannelLogger,
} from "../channel/mod.ts";
import { breakConnections } from "../testing.ts";
import { encodePreamble, VERSION_PLAIN } from "../channel/_protocol.ts";
import { dialHandshake } from "../channel/_handshake.ts";
import { channelSecrets } from "../channel/secret.ts";
import { RUNTIME_REMOVES_LISTENER_FILE } from "../internal/socket_file.ts";

type Msg = { i: number };

const CLOSE_BEFORE_EXIT = new URL("./fixtures/close_before_exit.ts", import.meta.url).pathname;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hm_ch_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Captures bad-peer log lines for the duration of `fn`. */
async function captureLogs(fn: (logs: string[]) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const prev = setChannelLogger((m) => logs.push(m));
  try {
    await fn(logs);
  } finally {
    setChannelLogger(prev);
  }
}

async function recvN(server: ChannelServer<Msg>, n: number): Promise<number[]> {
  const got: number[] = [];
  while (got.length < n) got.push((await server.recv())!.i);
  return got;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function eachTransport(fn: (addr: ChannelAddr) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    await fn(ChannelAddr.unix(`${dir}/s.sock`));
    await fn(ChannelAddr.any("unix"));
    await fn(ChannelAddr.any("tcp"));
  });
}

Deno.test("serve()/dial() carry JSON and bytes over unix path, a private unix path and tcp", async () => {
  await eachTransport(async (addr) => {
    const server = await serve<unknown>(addr);
    if (addr.transport === "tcp") assert(server.addr.port! > 0, "real port reported");
    else assert(server.addr.equals(addr));
    const tx = dial<unknown>(server.addr);
    const messages = [{ a: 1 }, "é✓", null, [1, [2]], new Uint8Array([1, 2, 3])];
    for (const m of messages) tx.post(m);
    await tx.send("last");
    for (const m of messages) assertEquals(await server.recv(), m);
    assertEquals(await server.recv(), "last");
    await tx.close();
    await server.close();
    if (addr.transport === "unix") {
      await assertRejects(() => Deno.stat(addr.path!), Deno.errors.NotFound, undefined);
    }
  });
});

Deno.test("CH-3: messages survive broken connections in order, exactly once", async () => {
  await eachTransport(async (addr) => {
    await using server = await serve<Msg>(addr);
    await using tx = dial<Msg>(server.addr);
    const N = 3000;
    for (let i = 0; i < N; i++) {
      tx.post({ i });
      if (i % 500 === 250) {
        await new Promise((r) => setTimeout(r, 1));
        breakConnections(i % 1000 === 250 ? tx : server);
      }
    }
    await tx.flush();
    assertEquals(await recvN(server, N), range(N), "CH-3: in order, no loss, no duplicates");
    assertEquals(tx.status.get().kind, "Active", "breaks are not terminal");
  });
});

Deno.test("CH-8: server close() tells live senders Closed; received messages stay readable", async () => {
  await eachTransport(async (addr) => {
    const server = await serve<Msg>(addr);
    const tx = dial<Msg>(server.addr);
    await tx.send({ i: 0 });
    tx.post({ i: 1 });
    await tx.flush();
    await server.close();
    await server.close();
    const status = await tx.status.waitFor((s) => s.kind === "Closed");
    assertEquals(status, { kind: "Closed", reason: "server closed" });
    assertEquals(await recvN(server, 2), [0, 1]);
    assertEquals(await server.recv(), undefined);
    const err = await assertRejects(() => tx.send({ i: 2 }), SendError);
    assertEquals(err.payload, { i: 2 });
    await tx.close();
  });
});

Deno.test("SK-2, CH-8: a closed unix server's socket file is gone when close() resolves, on this runtime without our own removal", async () => {
  assert(
    RUNTIME_REMOVES_LISTENER_FILE,
    `Deno ${Deno.version.deno} removes a closed listener's file`,
  );
  await withTempDir(async (dir) => {
    const server = await serve<Msg>(`unix:${dir}/s.sock`);
    const tx = dial<Msg>(server.addr);
    await tx.send({ i: 0 }); // a live connection, as a proc has at its stop
    await server.close();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [], "SK-2: nothing left");
    assertEquals((await tx.status.waitFor((s) => s.kind === "Closed"))?.kind, "Closed", "CH-8");
    assertEquals(await recvN(server, 1), [0]);
    await tx.close();
  });
});

Deno.test("CH-15: a server closed with beforeExit by a process that exits at once: every message acknowledged, Closed seen, the socket file left to its owner", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/s.sock`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-net",
        CLOSE_BEFORE_EXIT,
        path,
        "3",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const tx = dial<Msg>(`unix:${path}`); // retries until the child serves
    const returned: number[] = [];
    await tx.send({ i: 0 });
    tx.post({ i: 1 }, (e) => returned.push(e.payload.i));
    tx.post({ i: 2 }, (e) => returned.push(e.payload.i));
    const status = await tx.status.waitFor((s) => s.kind === "Closed");
    assertEquals(status, { kind: "Closed", reason: "server closed" }, "CH-8: Closed was written");
    assertEquals(returned, [], "CH-15: the final ack was written before the exit");
    assertEquals((await child.status).code, 0);
    // CH-15: the file is left to the directory's owner (a proc's host removes it, BS-11).
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["s.sock"], "CH-15: file left");
    await tx.close();
  });
});

Deno.test("CH-15: close({ beforeExit }) resolves before the handlers unwind; close() then waits for the rest", async () => {
  await withTempDir(async (dir) => {
    const server = await serve<Msg>(`unix:${dir}/s.sock`);
    const tx = dial<Msg>(server.addr);
    await tx.send({ i: 0 });
    let full = false;
    const everything = server.close().then(() => (full = true));
    await server.close({ beforeExit: true });
    assertEquals(full, false, "CH-15: did not wait for the accept loop and the handlers");
    assertEquals((await tx.status.waitFor((s) => s.kind === "Closed"))?.kind, "Closed", "CH-8");
    assertEquals(await recvN(server, 1), [0]);
    assertEquals(await server.recv(), undefined, "CH-15: the queue is closed");
    await everything; // the handlers' unwinding (the sanitizers check nothing is left)
    assertEquals(full, true);
    // SK-2: the full close waited for the accept, so the runtime removed the file.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [], "SK-2: no socket file left");
    await tx.close();
  });
});

Deno.test("CH-4: delivery timeout returns every pending message via onReturn", async () => {
  using _t = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 150);
  await withTempDir(async (dir) => {
    const tx = dial<Msg>(`unix:${dir}/nobody.sock`);
    const returned: number[] = [];
    for (let i = 0; i < 20; i++) tx.post({ i }, (e) => returned.push(e.payload.i));
    const sent = tx.send({ i: 20 });
    const err = await assertRejects(() => sent, SendError);
    assertStringIncludes(err.reason, "delivery timeout");
    assertEquals(returned, range(20), "CH-4: each message returned exactly once, in order");
    assertEquals(tx.status.get().kind, "Closed");
    await tx.flush();
    await tx.close();
  });
});

Deno.test("CH-4: close() returns queued messages with reason closed", async () => {
  const tx = dial<Msg>("tcp:127.0.0.1:1"); // nothing listens on port 1
  const returned: SendError<Msg>[] = [];
  for (let i = 0; i < 5; i++) tx.post({ i }, (e) => returned.push(e));
  await tx.close();
  assertEquals(returned.map((e) => [e.reason, e.payload.i]), range(5).map((i) => ["closed", i]));
  assertEquals(tx.status.get(), { kind: "Closed", reason: "closed" });
});

Deno.test("CH-3: a restarted server rejects a resumed session; the sender closes", async () => {
  await captureLogs(async (logs) => {
    await withTempDir(async (dir) => {
      const addr = `unix:${dir}/r.sock`;
      const first = await serve<Msg>(addr);
      const tx = dial<Msg>(addr);
      await tx.send({ i: 0 });
      breakConnections(tx); // the tx does not see the first server's Closed
      await first.close();
      await using second = await serve<Msg>(addr);
      const err = await assertRejects(() => tx.send({ i: 1 }), SendError);
      assertStringIncludes(err.reason, "rejected by server");
      assertEquals(tx.status.get().kind, "Closed");
      assert(logs.some((l) => l.includes("unknown session")), logs.join("\n"));
      await tx.close();
      assertEquals(second.addr.key, addr);
    });
  });
});

Deno.test("CH-5: garbage, oversize, bad preamble and half frames drop only that connection", async () => {
  using _m = config.override(attrs.CODEC_MAX_FRAME_LENGTH, 1024);
  await captureLogs(async (logs) => {
    await using server = await serve<Msg>(ChannelAddr.any("tcp"));
    await using good = dial<Msg>(server.addr);
    await good.send({ i: 0 });
    const session = crypto.getRandomValues(new Uint8Array(8));
    // [logged reason, bytes, half-close, authenticate first (AU-1: frame checks run after it)]
    const attacks: [string, Uint8Array, boolean, boolean][] = [
      ["bad preamble", new Uint8Array(64).fill(0xab), false, false],
      [
        "did not authenticate",
        concat(encodePreamble(session, 0, VERSION_PLAIN), encodeFrame(new Uint8Array([0, 0x31]))),
        false,
        false,
      ],
      ["unknown frame tag", new Uint8Array([0x01, 0x7f]), false, true],
      ["exceeds the limit", encodeFrame(new Uint8Array(2000)), false, true],
      ["not valid JSON", encodeFrame(new Uint8Array([0, 0x7b])), false, true],
      ["EOF inside a frame", new Uint8Array([10, 0, 1]), true, true],
    ];
    for (const [reason, bytes, halfClose, auth] of attacks) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port! });
      const proof = auth
        ? await dialHandshake(conn, server.addr.key, session, 0, channelSecrets())
        : new Uint8Array(0);
      await conn.write(concat(proof, bytes));
      if (halfClose) await conn.closeWrite();
      const buf = new Uint8Array(64);
      // The server drops us: EOF (or reset) rather than a hang (an AUTH_FAILED frame may come first).
      let n: number | null;
      do n = await conn.read(buf).catch(() => null); while (n !== null && !auth);
      assertEquals(n, null, `CH-5: ${reason}: connection dropped`);
      conn.close();
      assert(logs.some((l) => l.includes(reason)), `CH-5: logged "${reason}": ${logs.join("; ")}`);
      await good.send({ i: 1 }); // the server and other sessions keep working
      assertEquals((await server.recv())!.i, 0);
      assertEquals((await server.recv())!.i, 1);
      good.post({ i: 0 });
    }
    await good.flush();
  });
});

Deno.test("serve() reports an address in use as ChannelError", async () => {
  await using a = await serve(ChannelAddr.any("tcp"));
  const err = await assertRejects(() => serve(a.addr), ChannelError);
  assertStringIncludes(err.message, "address in use");
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "");
    await assertRejects(() => serve(`unix:${dir}/f`), ChannelError);
  });
});

Deno.test("CH-6: dial() is lazy; post() never throws; unserializable messages come back", async () => {
  await using server = await serve<unknown>(ChannelAddr.any("tcp"));
  const tx = dial<unknown>(server.addr);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const returned = await new Promise<SendError<unknown>>((r) => tx.post(cyclic, r));
  assert(returned.payload === cyclic);
  assertStringIncludes(returned.reason, "unserializable");
  await tx.send({ ok: true });
  assertEquals(await server.recv(), { ok: true });
  await tx.close();
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
