import { assert, assertEquals, assertRejects } from "@std/assert";
import { Proc } from "./proc.ts";
import { ActorRef } from "./port.ts";
import type { Context } from "./types.ts";
import { RequestError } from "./request.ts";

class Greeter {
  readonly held = Promise.withResolvers<void>();
  readonly handlers = {
    Greet: (_cx: Context, msg: { name: string }) => `hello ${msg.name}`,
    Slow: async (_cx: Context, msg: { ms: number }) => {
      await new Promise((r) => setTimeout(r, msg.ms));
      return msg.ms;
    },
    Throw: (_cx: Context, _msg: null): string => {
      throw new Error("boom");
    },
    Reject: async (_cx: Context, _msg: null): Promise<string> => {
      await Promise.resolve();
      throw new Error("async boom");
    },
    Hold: (_cx: Context, _msg: null) => this.held.promise,
  };
}

Deno.test("RQ-1: ActorRef.ask() returns the handler's (awaited) return value", async () => {
  await using proc = Proc.local();
  const g = proc.spawn("g", new Greeter());
  using cx = proc.instance("c");
  assertEquals(await g.ref.ask(cx, "Greet", { name: "mesh" }, { timeoutMs: 5_000 }), "hello mesh");
  assertEquals(await g.ref.ask(cx, "Slow", { ms: 5 }, { timeoutMs: 5_000 }), 5);
});

Deno.test("RQ-1: a plain send to a replying handler still works (the value is dropped)", async () => {
  await using proc = Proc.local();
  const g = proc.spawn("g", new Greeter());
  using cx = proc.instance("c");
  g.ref.send(cx, "Greet", { name: "x" });
  assertEquals(await g.ref.ask(cx, "Greet", { name: "y" }, { timeoutMs: 5_000 }), "hello y");
  assertEquals(g.status.get().kind, "Idle");
});

Deno.test("RQ-2: a throwing or rejecting handler is the caller's error; the actor keeps running", async () => {
  await using proc = Proc.local();
  const g = proc.spawn("g", new Greeter());
  using cx = proc.instance("c");
  for (const type of ["Throw", "Reject"] as const) {
    const err = await assertRejects(
      () => g.ref.ask(cx, type, null, { timeoutMs: 5_000 }),
      RequestError,
    );
    assertEquals(err.reason, "failed", "RQ-2");
    assert(err.message.includes("boom"), err.message);
  }
  const unknown = ActorRef.attest(g.actorId);
  const err = await assertRejects(
    () => unknown.ask(cx, "Nope", null, { timeoutMs: 5_000 }),
    RequestError,
  );
  assertEquals(err.reason, "failed");
  assertEquals(await g.ref.ask(cx, "Greet", { name: "z" }, { timeoutMs: 5_000 }), "hello z");
  assert(g.status.get().kind !== "Failed", "RQ-2: the actor must keep running");
});

Deno.test("RQ-3: a request to a missing actor rejects `undeliverable` and is not queued on undeliverables", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("c");
  const ghost = ActorRef.attest(proc.procId.actor("ghost"));
  const err = await assertRejects(
    () => ghost.ask(cx, "Greet", { name: "x" }, { timeoutMs: 5_000 }),
    RequestError,
  );
  assertEquals(err.reason, "undeliverable", "RQ-3");
  await assertRejects(() => cx.undeliverables.recv({ timeoutMs: 50 }));
});

Deno.test("RQ-3: an actor asking a missing actor gets the error; it does not fail", async () => {
  await using proc = Proc.local();
  const ghost = ActorRef.attest(proc.procId.actor("ghost"));
  const asker = proc.spawn("asker", {
    handlers: {
      Go: async (cx: Context, _msg: null) => {
        try {
          await ghost.ask(cx, "Greet", { name: "x" }, { timeoutMs: 5_000 });
          return "replied";
        } catch (error) {
          return (error as RequestError).reason;
        }
      },
    },
  });
  using cx = proc.instance("c");
  assertEquals(await asker.ref.ask(cx, "Go", null, { timeoutMs: 10_000 }), "undeliverable");
  assert(asker.status.get().kind !== "Failed", "RQ-3");
});

Deno.test("RQ-4: ask() rejects `timeout` after timeoutMs and `aborted` when the signal aborts", async () => {
  await using proc = Proc.local();
  const greeter = new Greeter();
  const g = proc.spawn("g", greeter);
  using cx = proc.instance("c");
  const t = await assertRejects(() => g.ref.ask(cx, "Hold", null, { timeoutMs: 50 }), RequestError);
  assertEquals(t.reason, "timeout", "RQ-4");
  const ac = new AbortController();
  const pending = g.ref.ask(cx, "Hold", null, { signal: ac.signal });
  ac.abort(new Error("stop"));
  const a = await assertRejects(() => pending, RequestError);
  assertEquals(a.reason, "aborted", "RQ-4");
  assertEquals((a.cause as Error).message, "stop");
  greeter.held.resolve();
});
