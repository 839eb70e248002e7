import { assert, assertEquals } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import type { ChannelServer } from "../../channel/types.ts";
import { createEnvelope, type MailboxSender, type MessageEnvelope } from "../envelope.ts";
import {
  serveMailbox,
  UNDELIVERABLE_TYPE,
  undeliverableEnvelope,
  undeliverablePortOf,
} from "./mailbox_server.ts";
import { handlerPortIndex } from "../reference.ts";
import { UNROUTABLE_SENDER } from "../unroutable.ts";
import { testEnvelope } from "./_test_util.ts";

/** Fake channel server: a queue fed by `push()`; close() drains, then ends. */
class FakeServer implements ChannelServer<MessageEnvelope> {
  readonly addr = ChannelAddr.parse("unix:@fake-server");
  #items: unknown[] = [];
  #waiter: ((v: MessageEnvelope | undefined) => void) | undefined;
  closed = false;
  closes = 0;
  push(value: unknown): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w(value as MessageEnvelope);
    } else this.#items.push(value);
  }
  recv(): Promise<MessageEnvelope | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as MessageEnvelope);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#waiter = resolve));
  }
  close(): Promise<void> {
    this.closes++;
    this.closed = true;
    if (this.#items.length === 0 && this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w(undefined);
    }
    return Promise.resolve();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<MessageEnvelope> {
    while (true) {
      const m = await this.recv();
      if (m === undefined) return;
      yield m;
    }
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A proc-like sender: delivers to `proc` ports it knows, bounces the rest. */
class FakeProc implements MailboxSender {
  readonly delivered: MessageEnvelope[] = [];
  readonly known = new Set<string>();
  postUnchecked(envelope: MessageEnvelope, returnHandle: (e: MessageEnvelope) => void): void {
    if (this.known.has(envelope.dest)) this.delivered.push(envelope);
    else UNROUTABLE_SENDER.postUnchecked(envelope, returnHandle);
  }
}

const SENDER = "local:1,client,c[0]";

Deno.test("undeliverablePortOf() names the sender's well-known Undeliverable port", () => {
  const port = `${SENDER}[${handlerPortIndex(UNDELIVERABLE_TYPE)}]`;
  assertEquals(undeliverablePortOf(SENDER), port);
  assertEquals(undeliverablePortOf(`${SENDER}[5<T>]`), port);
  const u = undeliverableEnvelope(testEnvelope("local:2,p,a[0][1]"));
  assertEquals([u.sender, u.dest, u.returnUndeliverable], [SENDER, port, false]);
});

Deno.test("MB-11: serveMailbox() returns undeliverable envelopes to the sender's Undeliverable port", async () => {
  const server = new FakeServer();
  const proc = new FakeProc();
  proc.known.add("local:1,client,ok[0][1]");
  proc.known.add(undeliverablePortOf(SENDER));
  await using handle = serveMailbox(server, proc);
  server.push(testEnvelope("local:1,client,ok[0][1]", "fine"));
  server.push(testEnvelope("local:1,client,missing[0][1]", "lost"));
  server.push(testEnvelope("local:1,client,missing[0][1]", "silent", false));
  handle.stop("test done");
  await handle.done;
  assertEquals(proc.delivered.length, 2);
  assertEquals(proc.delivered[0].data, "fine");
  const u = proc.delivered[1];
  assertEquals([u.type, u.dest, u.returnUndeliverable], [
    UNDELIVERABLE_TYPE,
    undeliverablePortOf(SENDER),
    false,
  ]);
  const original = u.data as MessageEnvelope;
  assertEquals(original.data, "lost");
  assertEquals(original.errors.map((e) => e.kind), ["Unroutable", "BrokenLink"]);
  assertEquals(original.errors[1], { kind: "BrokenLink", message: "message was undeliverable" });
});

Deno.test("MB-15: serveMailbox() never bounces an undeliverable again", async () => {
  const server = new FakeServer();
  const proc = new FakeProc(); // knows nothing: every post bounces
  const errors: unknown[][] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using handle = serveMailbox(server, proc);
    server.push(testEnvelope("local:1,client,missing[0][1]", "lost"));
    const forcedReturn = createEnvelope({
      sender: SENDER,
      dest: "local:1,client,gone[0][1]",
      type: UNDELIVERABLE_TYPE,
      data: {},
    });
    server.push(forcedReturn); // an Undeliverable that still asks for returns
    handle.stop("test done");
    await handle.done;
  } finally {
    console.error = error;
  }
  assertEquals(proc.delivered, []);
  assertEquals(errors.length, 1, "MB-15: the returned Undeliverable is logged once");
  assert(String(errors[0][0]).includes("dropping returned undeliverable"));
});

Deno.test("MB-16: serveMailbox() drops garbage and keeps serving", async () => {
  const server = new FakeServer();
  const proc = new FakeProc();
  proc.known.add("local:1,client,ok[0][1]");
  const errors: unknown[][] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await using handle = serveMailbox(server, proc);
    for (const junk of [null, 42, "text", { sender: 1 }, [1, 2], { dest: "x" }]) server.push(junk);
    server.push(testEnvelope("local:1,client,ok[0][1]", "after junk"));
    handle.stop("test done");
    await handle.done;
  } finally {
    console.error = error;
  }
  assertEquals(errors.length, 6, "MB-16: each non-envelope logged");
  assertEquals(proc.delivered.map((e) => e.data), ["after junk"]);
});

Deno.test("MB-17: stop() closes the server once, drains received envelopes, keeps the first reason", async () => {
  const server = new FakeServer();
  const proc = new FakeProc();
  proc.known.add("local:1,client,ok[0][1]");
  const handle = serveMailbox(server, proc);
  server.push(testEnvelope("local:1,client,ok[0][1]", 1));
  server.push(testEnvelope("local:1,client,ok[0][1]", 2));
  handle.stop("first");
  handle.stop("second");
  await handle.done;
  await handle[Symbol.asyncDispose]();
  assertEquals(handle.stopReason, "first");
  assertEquals(server.closes, 1);
  assertEquals(proc.delivered.map((e) => e.data), [1, 2], "MB-17: drained");
});

Deno.test("MB-17: serveMailbox() ends on its own when the channel server closes", async () => {
  const server = new FakeServer();
  const handle = serveMailbox(server, new FakeProc());
  await server.close();
  await handle.done;
  assertEquals(handle.stopReason, undefined);
});
