import { assertEquals, assertThrows } from "@std/assert";
import { postEnvelope } from "../envelope.ts";
import { ProcOrDialSender } from "./proc_or_dial.ts";
import { ProcId } from "../reference.ts";
import { RecordingSender, testEnvelope } from "./_test_util.ts";

Deno.test("MB-21: ProcOrDialSender delivers to local procs first, else to the router", async () => {
  const router = new RecordingSender();
  const service = new RecordingSender();
  const local = new RecordingSender();
  const forwarder = new ProcOrDialSender(router, [["unix:@h,service", service]]);
  forwarder.addLocal(ProcId.parse("unix:@h,local"), local);
  for (
    const [dest, data] of [
      ["unix:@h,service,agent[0][1]", 1],
      ["unix:@h,local,x[0][1]", 2],
      ["unix:@h,service2,x[0][1]", 3],
      ["unix:@h,p-1,x[0][1]", 4],
    ] as const
  ) postEnvelope(forwarder, testEnvelope(dest, data), () => {});
  assertEquals([service.data, local.data, router.data], [[1], [2], [3, 4]]);
  assertEquals(forwarder.removeLocal("unix:@h,local"), true);
  postEnvelope(forwarder, testEnvelope("unix:@h,local,x[0][1]", 5), () => {});
  assertEquals(router.data, [3, 4, 5]);
  await forwarder.flush();
  assertEquals([router.flushes, service.flushes, local.flushes], [1, 1, 0]);
});

Deno.test("ProcOrDialSender.addLocal() rejects non-proc keys", () => {
  const forwarder = new ProcOrDialSender(new RecordingSender());
  assertThrows(() => forwarder.addLocal("unix:@h,p,a[0]", new RecordingSender()), TypeError);
  assertThrows(() => forwarder.addLocal("unix:@h", new RecordingSender()), TypeError);
});
