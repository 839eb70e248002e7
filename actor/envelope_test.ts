import { assertEquals } from "@std/assert";
import {
  bounce,
  createEnvelope,
  describeEnvelope,
  isMessageEnvelope,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
} from "./envelope.ts";

const base = { sender: "local:1,p,a[0]", dest: "local:1,p,b[0][9]", type: "Ping", data: { n: 1 } };

Deno.test("MB-1: postEnvelope() decrements ttl per hop and bounces when spent", () => {
  const posted: MessageEnvelope[] = [];
  const returned: MessageEnvelope[] = [];
  const hop: MailboxSender = { postUnchecked: (e) => posted.push(e) };
  const e = createEnvelope({ ...base, ttl: 2 });
  postEnvelope(hop, e, (x) => returned.push(x));
  postEnvelope(hop, e, (x) => returned.push(x));
  assertEquals([posted.length, e.ttl], [2, 0], "MB-1");
  postEnvelope(hop, e, (x) => returned.push(x));
  assertEquals(posted.length, 2, "MB-1: not forwarded once spent");
  assertEquals(returned[0].errors, [{ kind: "TtlExpired" }], "MB-1");
});

Deno.test("MB-2: bounce() returns only when returnUndeliverable is set", () => {
  const returned: MessageEnvelope[] = [];
  const loud = createEnvelope(base);
  bounce(loud, { kind: "Unroutable", message: "x" }, (e) => returned.push(e));
  const quiet = createEnvelope({ ...base, returnUndeliverable: false });
  bounce(quiet, { kind: "Unroutable", message: "x" }, (e) => returned.push(e));
  assertEquals(returned, [loud], "MB-2");
  assertEquals(quiet.errors.length, 1, "the error is still recorded");
});

Deno.test("bounce() contains a throwing return handle", () => {
  const e = createEnvelope(base);
  const original = console.error;
  console.error = () => {};
  try {
    bounce(e, { kind: "BrokenLink", message: "gone" }, () => {
      throw new Error("handle failed");
    });
  } finally {
    console.error = original;
  }
  assertEquals(e.errors.length, 1);
});

Deno.test("describeEnvelope() shows route, type, headers and errors", () => {
  const e = createEnvelope({ ...base, headers: { rank: 3 } });
  e.errors.push({ kind: "BrokenLink", message: "peer gone" });
  assertEquals(
    describeEnvelope(e),
    'local:1,p,a[0] > local:1,p,b[0][9]: Ping {"rank":3}: delivery error: broken link: peer gone',
  );
});

Deno.test("isMessageEnvelope() accepts envelopes and rejects other shapes", () => {
  const e = JSON.parse(JSON.stringify(createEnvelope(base)));
  assertEquals(isMessageEnvelope(e), true);
  for (const bad of [null, 1, "x", {}, { ...e, ttl: "1" }, { ...e, errors: null }]) {
    assertEquals(isMessageEnvelope(bad), false);
  }
  const { data: _d, ...withoutData } = e;
  assertEquals(isMessageEnvelope(withoutData), false);
});
