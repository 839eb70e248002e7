import { assert, assertEquals } from "@std/assert";
import { type MessageEnvelope, postEnvelope } from "../envelope.ts";
import { ReconfigurableMailboxSender } from "./reconfigurable_sender.ts";
import { RecordingSender, testEnvelope } from "./_test_util.ts";

const DEST = "local:1,world_0,receiver[0][1]";
const noReturn = () => {};

Deno.test("MB-12: ReconfigurableMailboxSender queues before configure() (seed test_queueing_before_configure)", () => {
  const sender = new ReconfigurableMailboxSender();
  const target = new RecordingSender();
  postEnvelope(sender, testEnvelope(DEST, 1), noReturn);
  postEnvelope(sender, testEnvelope(DEST, 2), noReturn);
  assertEquals(target.envelopes.length, 0);
  assertEquals(sender.queued, 2);
  sender.configure(target);
  assertEquals(target.data, [1, 2], "MB-12: queued envelopes flushed in order");
  assertEquals(sender.queued, 0);
});

Deno.test("MB-12: ReconfigurableMailboxSender relays directly after configure() (seed test_direct_delivery_after_configure)", () => {
  const sender = new ReconfigurableMailboxSender();
  const target = new RecordingSender();
  sender.configure(target);
  postEnvelope(sender, testEnvelope(DEST, 3), noReturn);
  postEnvelope(sender, testEnvelope(DEST, 4), noReturn);
  assertEquals(target.data, [3, 4]);
});

Deno.test("MB-20: ReconfigurableMailboxSender.configure() succeeds once (seed test_multiple_configurations)", () => {
  const sender = new ReconfigurableMailboxSender();
  const first = new RecordingSender();
  assert(sender.configure(first));
  assert(!sender.configure(new RecordingSender()), "MB-20: reconfigure refused");
  assert(sender.sender === first);
  assert(sender.configured);
});

Deno.test("MB-12: ReconfigurableMailboxSender keeps order across configure() (seed test_mixed_queueing_and_direct_delivery)", () => {
  const sender = new ReconfigurableMailboxSender();
  const target = new RecordingSender();
  postEnvelope(sender, testEnvelope(DEST, 5), noReturn);
  postEnvelope(sender, testEnvelope(DEST, 6), noReturn);
  sender.configure(target);
  postEnvelope(sender, testEnvelope(DEST, 7), noReturn);
  postEnvelope(sender, testEnvelope(DEST, 8), noReturn);
  assertEquals(target.data, [5, 6, 7, 8]);
});

Deno.test("MB-12: ReconfigurableMailboxSender counts one hop for queued and relayed envelopes alike", () => {
  const sender = new ReconfigurableMailboxSender();
  const target = new RecordingSender();
  const queued = testEnvelope(DEST, 1);
  const ttl = queued.ttl;
  postEnvelope(sender, queued, noReturn);
  sender.configure(target);
  const direct = testEnvelope(DEST, 2);
  postEnvelope(sender, direct, noReturn);
  assertEquals(target.envelopes.map((e) => e.ttl), [ttl - 2, ttl - 2]);
});

Deno.test("ReconfigurableMailboxSender keeps return handles of queued envelopes", async () => {
  const sender = new ReconfigurableMailboxSender();
  const returned: MessageEnvelope[] = [];
  postEnvelope(sender, testEnvelope(DEST, 1), (e) => returned.push(e));
  await sender.flush(); // nothing in flight while queueing
  sender.configure({
    postUnchecked: (e, returnHandle) => returnHandle(e),
  });
  assertEquals(returned.map((e) => e.data), [1]);
});
