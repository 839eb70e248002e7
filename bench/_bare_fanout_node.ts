// Bench floor for the cast fan-out (`_fanout_floor.ts`): one bare Deno
// process, a relay (`FANOUT_ROLE=relay`) or a leaf (`FANOUT_ROLE=leaf`).
//
// - A relay listens on `FANOUT_RELAY_SOCK`, spawns `FANOUT_LEAVES` leaves,
//   accepts each, connects to the client's control socket
//   (`FANOUT_CONTROL`), and copies every chunk the client writes to every leaf
//   (one write per leaf, as a host relays one cast to its procs). EOF from the
//   client: it closes the leaves' connections, waits for them, and exits.
// - A leaf connects to its relay and to the client's reply socket
//   (`FANOUT_REPLY`) and writes back every chunk it reads (one reply per
//   cast, as an actor answers). EOF from its relay: it exits.
const env = (name: string) => Deno.env.get(name)!;

async function pump(
  from: Deno.Conn,
  onChunk: (chunk: Uint8Array) => Promise<unknown>,
): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await from.read(buf);
    } catch {
      return;
    }
    if (n === null) return;
    await onChunk(buf.subarray(0, n));
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

if (env("FANOUT_ROLE") === "leaf") {
  const relay = await Deno.connect({ transport: "unix", path: env("FANOUT_RELAY_SOCK") });
  const reply = await Deno.connect({ transport: "unix", path: env("FANOUT_REPLY") });
  await pump(relay, (chunk) => writeAll(reply, chunk));
  reply.close();
  relay.close();
} else {
  const path = env("FANOUT_RELAY_SOCK");
  const n = Number(env("FANOUT_LEAVES"));
  const listener = Deno.listen({ transport: "unix", path });
  const leaves = Array.from({ length: n }, () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        import.meta.filename!,
      ],
      env: { FANOUT_ROLE: "leaf" },
      stdin: "null",
    }).spawn());
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) conns.push(await listener.accept());
  listener.close();
  const control = await Deno.connect({ transport: "unix", path: env("FANOUT_CONTROL") });
  await pump(control, (chunk) => Promise.all(conns.map((c) => writeAll(c, chunk))));
  for (const c of conns) c.close();
  await Promise.all(leaves.map((l) => l.status));
  control.close();
}
