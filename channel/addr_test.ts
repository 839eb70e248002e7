import { assert, assertInstanceOf, assertStringIncludes, assertThrows } from "@std/assert";
import { ChannelAddr, ChannelAddrParseError } from "./addr.ts";

Deno.test("CH-1: ChannelAddr.parse(a.toString()) equals a for every transport", () => {
  const addrs = [
    ChannelAddr.local(7),
    ChannelAddr.unix("/tmp/hypermesh.sock"),
    ChannelAddr.unix("name", true),
    ChannelAddr.tcp("127.0.0.1", 4000),
    ChannelAddr.tcp("::1", 4001),
    ChannelAddr.tls("localhost", 4002),
  ];
  for (const a of addrs) {
    const back = ChannelAddr.parse(a.toString());
    assert(back.equals(a), `CH-1: ${a} came back as ${back}`);
  }
});

Deno.test("CH-2: ChannelAddr.parse() rejects any other text with ChannelAddrParseError naming it", () => {
  for (
    const text of [
      "",
      "tcp",
      "tcp:",
      "tcp:host",
      "tcp:host:port",
      "udp:1.2.3.4:5",
      "local:x",
      "unix:",
    ]
  ) {
    const err = assertThrows(() => ChannelAddr.parse(text));
    assertInstanceOf(err, ChannelAddrParseError, `CH-2: ${JSON.stringify(text)}`);
    assertStringIncludes(err.message, JSON.stringify(text).slice(1, -1), "CH-2: names the input");
  }
});
