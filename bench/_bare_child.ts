// Bench floor: a bare Deno child that connects back over a unix socket (path in
// BARE_CALLBACK), writes one byte, and idles until SIGTERM (default action: exit).
// With BARE_EXIT_ON_MESSAGE=1 it keeps the connection and exits (code 0) the
// moment it reads a byte on it: a stop by message with no work to do.
const conn = await Deno.connect({ transport: "unix", path: Deno.env.get("BARE_CALLBACK")! });
await conn.write(new Uint8Array([1]));
if (Deno.env.get("BARE_EXIT_ON_MESSAGE") === "1") {
  await conn.read(new Uint8Array(1));
  Deno.exit(0);
}
conn.close();
setInterval(() => {}, 60_000);
