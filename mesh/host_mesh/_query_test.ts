import { assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import type { Context } from "../../actor/types.ts";
import { ConfigPushError } from "./errors.ts";
import { replyAddressHint } from "./_query.ts";

/** Only what the hint reads of a caller: its proc's address (a stand-in, not a real context). */
function callerAt(addr: string): Context {
  return { self: { procId: { addr: ChannelAddr.parse(addr) } } } as unknown as Context;
}

Deno.test("HM-5: a timed-out push to another machine from a local-only client names the address and HYPERMESH_CLIENT_ADDR", () => {
  const timedOut = [{
    host: "tcp:10.0.0.7:26600",
    failure: { kind: "ReplyTimedOut" as const, timeoutMs: 10 },
  }];
  const hint = replyAddressHint(callerAt("unix:/tmp/h/c.sock"), timedOut);
  assertStringIncludes(hint!, "told to reply to unix:/tmp/h/c.sock");
  assertStringIncludes(hint!, "HYPERMESH_CLIENT_ADDR");
  assertStringIncludes(new ConfigPushError(timedOut, hint).message, "HYPERMESH_CLIENT_ADDR");
  // No hint when the client is reachable, the host is local, or it did not time out.
  assertEquals(replyAddressHint(callerAt("tcp:10.0.0.10:4000"), timedOut), undefined);
  const local = [{ host: "tcp:127.0.0.1:26600", failure: timedOut[0].failure }];
  assertEquals(replyAddressHint(callerAt("unix:/tmp/h/c.sock"), local), undefined);
  const closed = [{ host: "tcp:10.0.0.7:26600", failure: { kind: "ReplyChannelClosed" as const } }];
  assertEquals(replyAddressHint(callerAt("unix:/tmp/h/c.sock"), closed), undefined);
});
