/**
 * Benchmark peer for `channel_bench.ts` (a child process).
 *
 * `deno run ... bench/_channel_peer.ts ROLE TRANSPORT`, ROLE one of:
 * - `bare-echo`: raw socket; echoes every byte back.
 * - `bare-sink`: raw socket; reads and discards; after the first 8 bytes
 *   (u64 total byte count, big-endian) and that many more, writes one byte.
 * - `bare-sink-fresh`: as `bare-sink`, but every read goes into a fresh
 *   256 KiB buffer, as a receiver that hands the bytes on (and so cannot
 *   reuse its buffer) must: the floor for handing messages over.
 * - `chan-echo`: channel; the first message is the reply address; every later
 *   message is posted back unchanged.
 * - `chan-sink`: channel; the first message is `{ reply, count }`; after
 *   `count` more messages it posts `"done"` to `reply`.
 * Prints the served address as the first stdout line, then serves until killed.
 * @module
 */

import { ChannelAddr, type ChannelTx, dial, serve, type Transport } from "../channel/mod.ts";

const [role, transport] = Deno.args as [string, Transport];

if (role.startsWith("bare")) {
  const addr = ChannelAddr.any(transport);
  const listener = transport === "tcp"
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listen({ transport: "unix", path: addr.path! }); // a socket file, like channels (AU-8)
  const bound = transport === "tcp"
    ? `tcp:127.0.0.1:${(listener.addr as Deno.NetAddr).port}`
    : addr.key;
  console.log(bound);
  for await (const conn of listener) {
    if (transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
    (role === "bare-echo" ? echo(conn) : sink(conn, role === "bare-sink-fresh")).catch(() => {});
  }
} else {
  const server = await serve<unknown>(ChannelAddr.any(transport));
  console.log(server.addr.key);
  let reply: ChannelTx<unknown> | undefined;
  if (role === "chan-echo") {
    for await (const m of server) {
      if (reply === undefined) reply = dial(m as string);
      else reply.post(m);
    }
  } else {
    let left = -1;
    for await (const m of server) {
      if (reply === undefined) {
        const first = m as { reply: string; count: number };
        reply = dial(first.reply);
        left = first.count;
      } else if (--left === 0) {
        reply.post("done");
      }
    }
  }
}

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    let off = 0;
    while (off < n) off += await conn.write(buf.subarray(off, n));
  }
}

async function sink(conn: Deno.Conn, fresh: boolean): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  let total = -1;
  let seen = 0;
  while (true) {
    // The header (first 8 bytes) is always read into `buf`.
    const n = await conn.read(fresh && seen >= 8 ? new Uint8Array(256 * 1024) : buf);
    if (n === null) return;
    seen += n;
    if (total < 0 && seen >= 8) total = Number(new DataView(buf.buffer).getBigUint64(0)) + 8;
    if (total >= 0 && seen >= total) {
      await conn.write(new Uint8Array(1));
      total = -1;
      seen = 0;
    }
  }
}
