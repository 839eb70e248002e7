import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  ActorId,
  actorKeyOf,
  handlerPortIndex,
  parseReference,
  PortId,
  ProcId,
  procKeyOf,
  ReferenceParseError,
} from "./reference.ts";
import { ChannelAddr } from "../channel/addr.ts";

Deno.test("ID-1: proc, actor and port ids round-trip through their text", () => {
  const texts = [
    "unix:@abc,service",
    "tcp:[::1]:4000,myprocs-2MuAHeDjLCEd",
    "tcp:[::1]:4000,service,host_agent[0]",
    "local:7,p,worker[12]",
    "unix:/run/user/0/x/sock,p,a[0][1024]",
    "tcp:127.0.0.1:1,p,a[3][4503599627370497<hyperactor_mesh::resource::Stop>]",
  ];
  for (const text of texts) {
    assertEquals(parseReference(text).toString(), text, `ID-1: ${text}`);
  }
});

Deno.test("ID-1: a missing [pid] means 0", () => {
  const a = ActorId.parse("local:1,p,agent");
  assertEquals(a.pid, 0);
  assertEquals(a.toString(), "local:1,p,agent[0]");
});

Deno.test("ID-2: malformed references are rejected with a typed error naming the input", () => {
  const bad = [
    "",
    "local:1",
    "nope:1,p",
    "local:1,",
    "local:1,p q",
    "local:1,p,a[",
    "local:1,p,a[x]",
    "local:1,p,a[0][1",
    "local:1,p,a[0][1<>]",
    "local:1,p,a,b",
    "local:1,p,a[0]junk",
  ];
  for (const text of bad) {
    const error = assertThrows(() => parseReference(text), ReferenceParseError, undefined, text);
    assertEquals(error.input, text, "ID-2");
  }
  assertThrows(() => ProcId.parse("local:1,p,a"), ReferenceParseError);
  assertThrows(() => ActorId.parse("local:1,p"), ReferenceParseError);
  assertThrows(() => PortId.parse("local:1,p,a[0]"), ReferenceParseError);
});

Deno.test("ID-2: random strings never throw anything but ReferenceParseError", () => {
  const alphabet = "local:unix@/tcp[]0123456789,<>_-abc:";
  for (let i = 0; i < 2_000; i++) {
    let text = "";
    const n = Math.floor(Math.random() * 30);
    for (let j = 0; j < n; j++) text += alphabet[Math.floor(Math.random() * alphabet.length)];
    try {
      assertEquals(parseReference(text).toString().length > 0, true);
    } catch (error) {
      assertInstanceOf(error, ReferenceParseError, text);
    }
  }
});

Deno.test("ID-3: proc and actor keys prefix their members' keys", () => {
  const proc = new ProcId(ChannelAddr.parse("unix:@x"), "p");
  const actor = proc.actor("a", 2);
  const port = actor.port(1024, "T");
  assert(actor.key.startsWith(proc.key + ","), "ID-3");
  assert(port.key.startsWith(actor.key), "ID-3");
  assertEquals(procKeyOf(port.toString()), proc.key);
  assertEquals(actorKeyOf(port.toString()), actor.key);
  assertEquals(procKeyOf(proc.key), proc.key);
});

Deno.test("PortId equality ignores the type annotation", () => {
  const a = PortId.parse("local:1,p,a[0][5<T>]");
  const b = PortId.parse("local:1,p,a[0][5]");
  assert(a.equals(b));
  assertEquals(a.toString(), "local:1,p,a[0][5<T>]");
  assertEquals(JSON.stringify({ a }), '{"a":"local:1,p,a[0][5<T>]"}');
});

Deno.test("handlerPortIndex() is stable, high-range and distinct for distinct names", () => {
  const a = handlerPortIndex("Ping");
  assertEquals(a, handlerPortIndex("Ping"));
  assert(a >= 2 ** 52 && a < 2 ** 53 && Number.isSafeInteger(a));
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(handlerPortIndex(`Type${i}`));
  assertEquals(seen.size, 1000);
});

Deno.test("ids reject invalid names and pids at construction", () => {
  const addr = ChannelAddr.local(1);
  assertThrows(() => new ProcId(addr, "a,b"), TypeError);
  assertThrows(() => new ActorId(new ProcId(addr, "p"), "a", -1), TypeError);
  assertThrows(() => new PortId(new ActorId(new ProcId(addr, "p"), "a"), 1.5), TypeError);
});
