import { assert, assertEquals } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import { WatchCell } from "../../channel/watch_cell.ts";
import { SendError } from "../../channel/errors.ts";
import type { ChannelTx, TxStatus } from "../../channel/types.ts";
import { type MessageEnvelope, postEnvelope } from "../envelope.ts";
import { MailboxClient } from "./mailbox_client.ts";
import { testEnvelope } from "./_test_util.ts";

/** Fake transmitter: keeps posts pending until `ack()` or `fail()`. */
class FakeTx implements ChannelTx<MessageEnvelope> {
  readonly addr = ChannelAddr.parse("unix:@fake-peer");
  readonly status = new WatchCell<TxStatus>({ kind: "Active" });
  readonly wire: MessageEnvelope[] = [];
  #pending: Array<[MessageEnvelope, ((e: SendError<MessageEnvelope>) => void) | undefined]> = [];
  #idle: Array<() => void> = [];
  closes = 0;

  post(message: MessageEnvelope, onReturn?: (e: SendError<MessageEnvelope>) => void): void {
    const closed = this.status.get();
    if (closed.kind === "Closed") {
      onReturn?.(new SendError(closed.reason, message));
      return;
    }
    this.wire.push(message);
    this.#pending.push([message, onReturn]);
  }
  send(): Promise<void> {
    return Promise.reject(new Error("unused"));
  }
  ack(): void {
    this.#pending = [];
    this.#wake();
  }
  fail(reason: string): void {
    const pending = this.#pending;
    this.#pending = [];
    this.status.set({ kind: "Closed", reason });
    this.status.close();
    for (const [m, onReturn] of pending) onReturn?.(new SendError(reason, m));
    this.#wake();
  }
  flush(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
  close(): Promise<void> {
    this.closes++;
    if (this.status.get().kind === "Active") this.fail("closed");
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
  #wake(): void {
    for (const w of this.#idle.splice(0)) w();
  }
}

Deno.test("MB-13: MailboxClient bounces each returned envelope to its own return handle", async () => {
  const tx = new FakeTx();
  await using client = new MailboxClient(tx, { quiet: true });
  const a: MessageEnvelope[] = [];
  const b: MessageEnvelope[] = [];
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 1), (e) => a.push(e));
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 2), (e) => b.push(e));
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 3, false), (e) => a.push(e));
  assertEquals(tx.wire.map((e) => e.data), [1, 2, 3], "posted in order");
  tx.fail("delivery timeout");
  assertEquals(a.map((e) => e.data), [1], "MB-2: envelope 3 asked for silence");
  assertEquals(b.map((e) => e.data), [2]);
  assertEquals(a[0].errors, [{
    kind: "BrokenLink",
    message: "failed to enqueue in MailboxClient unix:@fake-peer: delivery timeout",
  }]);
  assert(client.linkClosed);
  const later: MessageEnvelope[] = [];
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 4), (e) => later.push(e));
  assertEquals(later[0].errors[0].kind, "BrokenLink", "MB-13: closed link bounces at once");
});

Deno.test("MB-14: MailboxClient.flush() waits for acknowledgement or return", async () => {
  const tx = new FakeTx();
  await using client = new MailboxClient(tx, { quiet: true });
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 1), () => {});
  let flushed = false;
  const flushing = client.flush().then(() => (flushed = true));
  await Promise.resolve();
  assert(!flushed, "MB-14: unacknowledged envelope outstanding");
  tx.ack();
  await flushing;
  assert(flushed);
});

Deno.test("MB-13: MailboxClient.close() closes the link once and bounces later posts", async () => {
  const tx = new FakeTx();
  const client = new MailboxClient(tx, { quiet: true });
  const returned: MessageEnvelope[] = [];
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 1), (e) => returned.push(e));
  await client.close();
  await client.close();
  assertEquals(tx.closes, 1);
  assertEquals(returned.map((e) => e.data), [1], "outstanding envelope returned on close");
  postEnvelope(client, testEnvelope("unix:@fake-peer,p,x[0][1]", 2), (e) => returned.push(e));
  assertEquals(returned.map((e) => e.data), [1, 2]);
  assert(
    returned[1].errors[0].kind === "BrokenLink" &&
      returned[1].errors[0].message.endsWith("client closed"),
  );
});

Deno.test("MailboxClient logs once when its link turns Closed", async () => {
  const tx = new FakeTx();
  const logged: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => logged.push(args);
  try {
    await using client = new MailboxClient(tx);
    await Promise.resolve();
    tx.fail("peer rejected session");
    await client.close();
  } finally {
    console.warn = warn;
  }
  assertEquals(logged.length, 1);
  assert(String(logged[0][0]).includes("peer rejected session"));
});
