import { assert, assertEquals, assertInstanceOf, assertStringIncludes } from "@std/assert";
import type { MessageEnvelope } from "./envelope.ts";
import { handlerPortIndex } from "./reference.ts";
import type { Actor } from "./types.ts";
import type { Context } from "./types.ts";
import { ActorRef, PortRef, type PortRefData } from "./port.ts";
import { DuplicateActorNameError, Proc } from "./proc.ts";
import { type ActorStatus, isTerminal } from "./status.ts";
import type { ActorSupervisionEvent } from "./supervision.ts";
import { MemoryNet } from "./_core_test_util.ts";

type Ping = { n: number; reply: PortRefData<number> };

class Echo implements Actor {
  seen: number[] = [];
  readonly handlers = {
    Ping: (cx: Context, msg: Ping) => {
      this.seen.push(msg.n);
      cx.send(msg.reply, msg.n);
    },
  };
}

class Recorder implements Actor {
  events: ActorSupervisionEvent[] = [];
  readonly handlers = {
    ActorSupervisionEvent: (_cx: Context, event: ActorSupervisionEvent) => {
      this.events.push(event);
      this.changed?.();
    },
  };
  changed?: () => void;
  next(): Promise<void> {
    return new Promise((resolve) => (this.changed = resolve));
  }
}

function failedError(status: ActorStatus): string {
  if (status.kind !== "Failed") throw new Error(`expected Failed, got ${status.kind}`);
  return status.error;
}

function terminal(status: { waitFor(p: (s: ActorStatus) => boolean): Promise<unknown> }) {
  return status.waitFor(isTerminal);
}

Deno.test("MB-3: Proc delivers 1000 messages to an actor sequentially, in order", async () => {
  await using proc = Proc.local();
  let active = 0;
  let maxActive = 0;
  const seen: number[] = [];
  const actor = proc.spawn("seq", {
    handlers: {
      N: async (_cx: Context, n: number) => {
        active++;
        maxActive = Math.max(maxActive, active);
        if (n % 100 === 0) await Promise.resolve();
        seen.push(n);
        active--;
      },
      Done: (cx: Context, reply: PortRefData<number>) => cx.send(reply, seen.length),
    },
  });
  using client = proc.instance("client");
  for (let i = 0; i < 1000; i++) actor.ref.send(client, "N", i);
  const { ref, receiver } = client.openOncePort<number>();
  actor.ref.send(client, "Done", ref);
  assertEquals(await receiver.recv(), 1000);
  assertEquals(seen, Array.from({ length: 1000 }, (_, i) => i), "MB-3: in order");
  assertEquals(maxActive, 1, "MB-3: one handler at a time");
});

Deno.test("MB-5: replies travel through PortRefs carried in messages across procs", async () => {
  const net = new MemoryNet();
  await using a = net.proc("a");
  await using b = net.proc("b");
  const echo = new Echo();
  const handle = b.spawn("echo", echo);
  using client = a.instance("client");
  const { ref, receiver } = client.openPort<number>();
  // The ref crosses as JSON: the receiver only sees {port, returnUndeliverable}.
  const remote = ActorRef.attest<Echo>(JSON.parse(JSON.stringify(handle.ref)));
  for (let n = 1; n <= 3; n++) remote.send(client, "Ping", { n, reply: ref });
  assertEquals([await receiver.recv(), await receiver.recv(), await receiver.recv()], [1, 2, 3]);
  assertEquals(echo.seen, [1, 2, 3]);
  assert(net.crossed >= 6, "messages crossed the net both ways");
});

Deno.test("MB-5, MB-9, MB-7: a once port reply crosses procs; a second delivery bounces as unbound", async () => {
  const net = new MemoryNet();
  await using a = net.proc("a");
  await using b = net.proc("b");
  const handle = b.spawn("echo", new Echo());
  using client = a.instance("client");
  const { ref, receiver } = client.openOncePort<number>();
  handle.ref.send(client, "Ping", { n: 7, reply: ref });
  assertEquals(await receiver.recv({ timeoutMs: 5_000 }), 7);
  using other = b.instance("other");
  other.send(PortRef.from<number>(JSON.parse(JSON.stringify(ref))), 8);
  const returned = await other.undeliverables.recv();
  assertEquals(returned.errors[0].kind, "Unroutable", "MB-9: the once port unbound itself");
  assertStringIncludes(JSON.stringify(returned.errors[0]), "port not bound", "MB-7");
});

Deno.test("MB-8: messages to a stopped remote actor return to the sender; returnUndeliverable=false is silent", async () => {
  const net = new MemoryNet();
  await using a = net.proc("a");
  await using b = net.proc("b");
  const handle = b.spawn("echo", new Echo());
  handle.stop("done");
  assertEquals((await handle.wait()).kind, "Stopped");
  using client = a.instance("client");
  const port = handle.ref.port("Ping");
  const { ref } = client.openPort<number>();
  port.withReturnUndeliverable(false).send(client, { n: 1, reply: ref }); // silent
  port.send(client, { n: 2, reply: ref }); // returned
  const returned = await client.undeliverables.recv();
  assertEquals((returned.data as Ping).n, 2, "MB-2: the silent one never came back");
  assertEquals(returned.errors[0].kind, "Mailbox");
  assertStringIncludes(JSON.stringify(returned.errors), "is stopped");
  assertEquals(client.undeliverables.size, 0);
});

Deno.test("MB-31: unknown actors bounce Unroutable('no mailbox for actor'); a gone proc too", async () => {
  const net = new MemoryNet();
  await using a = net.proc("a");
  const b = net.proc("b");
  using client = a.instance("client");
  ActorRef.attest(b.procId.actor("ghost")).send(client, "X", 1);
  let returned = await client.undeliverables.recv();
  assertStringIncludes(JSON.stringify(returned.errors), "no mailbox for actor");
  net.remove(b);
  await b[Symbol.asyncDispose]();
  ActorRef.attest(b.procId.actor("ghost")).send(client, "X", 2);
  returned = await client.undeliverables.recv();
  assertEquals(returned.errors[0].kind, "Unroutable");
});

Deno.test("Proc.local() bounces outbound traffic as Unroutable", async () => {
  await using proc = Proc.local();
  using client = proc.instance("client");
  ActorRef.attest("unix:@nowhere,p,x[0]").send(client, "X", 1);
  const returned = await client.undeliverables.recv();
  assertEquals(returned.errors[0].kind, "Unroutable");
});

Deno.test("MB-4: an actor's default undeliverable handler fails it; the proc survives", async () => {
  await using proc = Proc.local();
  const coordinator = new Recorder();
  const coord = proc.spawn("coord", coordinator);
  proc.setSupervisionCoordinator(coord.ref.port("ActorSupervisionEvent"));
  const sender = proc.spawn("sender", {
    handlers: {
      Go: (cx: Context) => cx.send({ port: "unix:@x,q,y[0][5]", returnUndeliverable: true }, 1),
    },
  });
  using client = proc.instance("client");
  const event = coordinator.next();
  sender.ref.send(client, "Go", null);
  const status = await sender.wait();
  assertEquals(status.kind, "Failed");
  assertStringIncludes(JSON.stringify(status), "delivery of message from");
  await event;
  assertEquals(coordinator.events[0].actorId, sender.actorId.key);
});

Deno.test("MB-4: an unknown message type fails the actor, not the proc", async () => {
  await using proc = Proc.local();
  const coordinator = new Recorder();
  const coord = proc.spawn("coord", coordinator);
  proc.setSupervisionCoordinator(coord.ref.port("ActorSupervisionEvent"));
  const echo = proc.spawn("echo", new Echo());
  using client = proc.instance("client");
  const event = coordinator.next();
  (echo.ref as ActorRef).send(client, "Nope", 1);
  const status = await echo.wait();
  assert(status.kind === "Failed");
  assertStringIncludes(failedError(status), 'no handler for message type "Nope"');
  await event;
  assertEquals(coordinator.events[0].status, status);
  assertEquals(coord.status.get().kind, "Idle");
});

Deno.test("MB-4: a throwing child's event reaches its parent's handleSupervisionEvent", async () => {
  await using proc = Proc.local();
  const events: ActorSupervisionEvent[] = [];
  let child: ActorRef | undefined;
  const parent = proc.spawn("parent", {
    handlers: {
      Spawn: (cx: Context, reply: PortRefData<string>) => {
        const h = cx.spawn({
          handlers: {
            Boom: () => {
              throw new Error("kaboom");
            },
          },
        });
        child = h.ref;
        cx.send(reply, h.actorId.key);
      },
    },
    handleSupervisionEvent: (_cx: Context, event: ActorSupervisionEvent) => {
      events.push(event);
      return true;
    },
  });
  using client = proc.instance("client");
  const { ref, receiver } = client.openOncePort<string>();
  parent.ref.send(client, "Spawn", ref);
  const childKey = await receiver.recv();
  assertEquals(childKey, `${parent.actorId.key.slice(0, -3)}[1]`, "child shares the name, pid 1");
  child!.send(client, "Boom", null);
  await proc.actorStatus(childKey)!.waitFor(isTerminal);
  while (events.length === 0) await new Promise((r) => setTimeout(r, 1));
  assertEquals(events[0].actorId, childKey);
  assertEquals(events[0].status, { kind: "Failed", error: "processing error: kaboom" });
  assertEquals(parent.status.get().kind, "Idle", "handled: the parent lives on");
});

Deno.test("MB-4: an unhandled child failure fails the parent, escalating to the coordinator", async () => {
  await using proc = Proc.local();
  const coordinator = new Recorder();
  const coord = proc.spawn("coord", coordinator);
  proc.setSupervisionCoordinator(coord.ref.port("ActorSupervisionEvent"));
  const parent = proc.spawn("parent", {
    init: (cx: Context) => {
      cx.spawn("kid", { handlers: {}, init: () => Promise.reject(new Error("bad init")) });
    },
    handlers: {},
  });
  const event = coordinator.next();
  const status = await parent.wait();
  assert(status.kind === "Failed");
  assertStringIncludes(failedError(status), "UnhandledSupervisionEvent");
  assertStringIncludes(failedError(status), "initialization error: bad init");
  await event;
  assertEquals(coordinator.events[0].actorId, parent.actorId.key);
  assertEquals(coordinator.events[0].causedBy?.actorId, proc.procId.actor("kid", 1).key);
});

Deno.test("MB-34: a root failure without coordinator is published, not a crash (policy log)", async () => {
  await using proc = Proc.local({ onUnhandledSupervisionEvent: "log" });
  const failing = proc.spawn("f", {
    handlers: {},
    init: () => {
      throw new Error("nope");
    },
  });
  const event = await proc.unhandledSupervisionEvents.waitFor((e) => e !== undefined);
  assertEquals(event!.actorId, failing.actorId.key);
  assertEquals(failing.status.get(), { kind: "Failed", error: "initialization error: nope" });
});

Deno.test("Proc.setSupervisionCoordinator() may be called once", async () => {
  await using proc = Proc.local();
  proc.setSupervisionCoordinator(PortRef.attest(proc.procId.actor("c").port(1)));
  let threw = false;
  try {
    proc.setSupervisionCoordinator(PortRef.attest(proc.procId.actor("c").port(1)));
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test("MB-32: root names are unique for the proc's lifetime", async () => {
  await using proc = Proc.local();
  const h = proc.spawn("x", { handlers: {} });
  h.stop("bye");
  await h.wait();
  let error: unknown;
  try {
    proc.instance("x");
  } catch (e) {
    error = e;
  }
  assertInstanceOf(error, DuplicateActorNameError);
});

Deno.test("MB-30: selfMessageWithDelay delivers later; pending timers die with the actor", async () => {
  await using proc = Proc.local();
  const got: string[] = [];
  const ticker = proc.spawn("ticker", {
    handlers: {
      Start: (cx: Context<Actor>) => {
        cx.selfMessageWithDelay("Tick", "late", { delayMs: 60_000 }); // must be cleared on stop
        cx.selfMessageWithDelay("Tick", "soon", { delayMs: 5 });
      },
      Tick: (cx: Context, what: string) => {
        got.push(what);
        cx.stop("ticked");
      },
    },
  });
  using client = proc.instance("client");
  ticker.ref.send(client, "Start", null);
  assertEquals(await ticker.wait(), { kind: "Stopped", reason: "ticked" });
  assertEquals(got, ["soon"]);
});

Deno.test("MB-33: destroyAndWait stops well-behaved actors (children too) and reports them", async () => {
  await using proc = Proc.local();
  const cleaned: string[] = [];
  const mk = (name: string): Actor => ({
    handlers: {},
    init: (cx: Context) =>
      void cx.spawn({ handlers: {}, cleanup: () => void cleaned.push(`${name}-kid`) }),
    cleanup: async () => {
      await Promise.resolve();
      cleaned.push(name);
    },
  });
  const a = proc.spawn("a", mk("a"));
  const b = proc.spawn("b", mk("b"));
  await a.status.waitFor((s) => s.kind === "Idle");
  await b.status.waitFor((s) => s.kind === "Idle");
  const result = await proc.destroyAndWait({ graceMs: 5_000, reason: "bye" });
  assertEquals(result.stopped.map(String).sort(), [a.actorId.key, b.actorId.key]);
  assertEquals(result.aborted, []);
  assertEquals(a.status.get(), { kind: "Stopped", reason: "bye" });
  assertEquals(cleaned.sort(), ["a", "a-kid", "b", "b-kid"]);
  assertEquals(proc.allActorIds(), []);
  assert(proc.terminatedSnapshot(a.actorId) !== undefined);
});

Deno.test("MB-33: destroyAndWait aborts an actor whose handler never returns", async () => {
  await using proc = Proc.local();
  const hang = proc.spawn("hang", { handlers: { Hang: () => new Promise<void>(() => {}) } });
  const fine = proc.spawn("fine", { handlers: {} });
  using client = proc.instance("client");
  hang.ref.send(client, "Hang", null);
  await hang.status.waitFor((s) => s.kind === "Processing");
  const result = await proc.destroyAndWait({ graceMs: 50 });
  assertEquals(result.stopped.map(String), [fine.actorId.key]);
  assertEquals(result.aborted.map(String), [hang.actorId.key]);
  assertEquals(hang.status.get(), { kind: "Failed", error: "aborted" });
  assertEquals(client.status.get().kind, "Client", "client instances are left alone");
});

Deno.test("MB-33: destroyAndWait with exceptCurrent stops everyone else and keeps the caller", async () => {
  for (const exceptCurrent of [true, false]) {
    await using proc = Proc.local();
    const coordinator = new Recorder();
    const other = proc.spawn("other", { handlers: {} });
    const agent = proc.spawn("agent", {
      handlers: {
        StopAll: async (cx: Context, reply: PortRefData<string[]>) => {
          const r = await Proc.of(cx).destroyAndWait({
            graceMs: 5_000,
            cx,
            reason: "stop all",
            exceptCurrent,
          });
          cx.send(reply, [...r.stopped, ...r.aborted].map(String));
        },
        ActorSupervisionEvent: (cx: Context, e: ActorSupervisionEvent) =>
          coordinator.handlers.ActorSupervisionEvent(cx, e),
      },
      init: (cx: Context) =>
        Proc.of(cx).setSupervisionCoordinator(cx.selfRef.port("ActorSupervisionEvent")),
    });
    using client = proc.instance("client");
    const { ref, receiver } = client.openOncePort<string[]>();
    agent.ref.send(client, "StopAll", ref);
    if (exceptCurrent) {
      assertEquals(await receiver.recv(), [other.actorId.key]);
      const after = await agent.status.waitFor((s) => s.kind === "Idle" || isTerminal(s));
      assertEquals(after?.kind, "Idle", "MB-33: the caller lives on");
      assertEquals(coordinator.events.map((e) => e.actorId), [other.actorId.key]);
    } else {
      await agent.wait();
      assertEquals(agent.status.get(), { kind: "Failed", error: "aborted" });
      assertEquals(other.status.get().kind, "Stopped");
    }
  }
});

Deno.test("Proc.stopActor() drains then stops; unknown ids give undefined", async () => {
  await using proc = Proc.local();
  const seen: number[] = [];
  const h = proc.spawn("s", { handlers: { N: (_cx: Context, n: number) => void seen.push(n) } });
  using client = proc.instance("client");
  for (let i = 0; i < 5; i++) h.ref.send(client, "N", i);
  const status = proc.stopActor(h.actorId, "enough");
  assert(status !== undefined);
  await terminal(status!);
  assertEquals(seen, [0, 1, 2, 3, 4], "DrainAndStop processes what was queued");
  assertEquals(proc.stopActor(h.actorId), undefined);
  assertEquals(proc.stopActor("local:0,p,none[0]"), undefined);
});

Deno.test("Context.headers exposes the headers of the message being handled", async () => {
  await using proc = Proc.local();
  const h = proc.spawn("h", {
    handlers: {
      Q: (cx: Context, reply: PortRefData<string>) => cx.send(reply, String(cx.headers.trace)),
    },
  });
  using client = proc.instance("client");
  const { ref, receiver } = client.openOncePort<string>();
  h.ref.send(client, "Q", ref, { headers: { trace: "t-1" } });
  assertEquals(await receiver.recv(), "t-1");
});

Deno.test("MB-6: Mailbox handler ports use handlerPortIndex; undeliverables of clients queue up", async () => {
  await using proc = Proc.local();
  const h = proc.spawn("e", new Echo());
  assertEquals(h.ref.port("Ping").portId.index, handlerPortIndex("Ping"), "MB-6");
  using client = proc.instance("c");
  const envelopes: MessageEnvelope[] = [];
  client.send({ port: `${proc.procId.key},none[0][1]`, returnUndeliverable: true }, 1);
  envelopes.push(await client.undeliverables.recv());
  assertEquals(envelopes.length, 1);
});
