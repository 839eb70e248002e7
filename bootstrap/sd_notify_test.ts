import { assertEquals, assertThrows } from "@std/assert";
import { NOTIFY_SOCKET_ENV, sdNotify, SdNotifyError } from "./sd_notify.ts";

/** A unix datagram receiver in a child (`Deno.listenDatagram` needs --unstable-net). */
function receiver(
  path: string,
): { child: Deno.ChildProcess; lines: ReadableStreamDefaultReader<string> } {
  const code = `const c = Deno.listenDatagram({ transport: "unixpacket", path: ${
    JSON.stringify(path)
  } });
console.log("listening");
const [data] = await c.receive();
console.log(JSON.stringify(new TextDecoder().decode(data)));
c.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-net", code],
    stdin: "null",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  return { child, lines };
}

async function readLine(lines: ReadableStreamDefaultReader<string>, buf: { text: string }) {
  while (!buf.text.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    buf.text += value;
  }
  const nl = buf.text.indexOf("\n");
  const line = buf.text.slice(0, nl);
  buf.text = buf.text.slice(nl + 1);
  return line;
}

Deno.test("SN-2: sdNotify sends one datagram to NOTIFY_SOCKET and can unset it; no socket is a no-op", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hm_notify_" });
  const path = `${dir}/notify`;
  const { child, lines } = receiver(path);
  const buf = { text: "" };
  try {
    assertEquals(await readLine(lines, buf), "listening");
    Deno.env.set(NOTIFY_SOCKET_ENV, path);
    assertEquals(sdNotify("READY=1\nSTATUS=serving", { unsetEnvironment: true }), true);
    assertEquals(JSON.parse(await readLine(lines, buf)), "READY=1\nSTATUS=serving");
    assertEquals(Deno.env.get(NOTIFY_SOCKET_ENV), undefined, "SN-2: unset after sending");
    assertEquals(sdNotify("READY=1"), false, "SN-2: without NOTIFY_SOCKET nothing is sent");
    while (!(await lines.read()).done) { /* the receiver exits */ }
    await child.status;
    assertThrows(() => sdNotify("READY=1", { socket: path }), SdNotifyError, path);
    assertThrows(() => sdNotify("READY=1", { socket: "vsock:2:1" }), SdNotifyError, "unix");
  } finally {
    Deno.env.delete(NOTIFY_SOCKET_ENV);
    await lines.cancel();
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
