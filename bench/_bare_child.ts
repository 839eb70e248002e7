// Bench floor: a bare Deno child that connects back over a unix socket (path in
// BARE_CALLBACK), writes one byte, and idles until SIGTERM (default action: exit).
const conn = await Deno.connect({ transport: "unix", path: Deno.env.get("BARE_CALLBACK")! });
await conn.write(new Uint8Array([1]));
conn.close();
setInterval(() => {}, 60_000);
