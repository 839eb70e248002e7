import { assert, assertEquals } from "@std/assert";
import { Proc } from "./proc.ts";
import type { Context } from "./types.ts";
import type { PortRefData } from "./port.ts";
import type { ActorStatus } from "./status.ts";

Deno.test("MB-3: sync and async handlers run one at a time, in arrival order", async () => {
  await using proc = Proc.local();
  const log: string[] = [];
  const actor = proc.spawn("mixed", {
    handlers: {
      Sync: (_cx: Context, n: number) => {
        log.push(`sync ${n}`);
      },
      Async: async (_cx: Context, n: number) => {
        log.push(`async ${n} start`);
        await new Promise((r) => setTimeout(r, 1));
        log.push(`async ${n} end`);
      },
      Done: (cx: Context, reply: PortRefData<number>) => cx.send(reply, log.length),
    },
  });
  using cx = proc.instance("client");
  for (let i = 0; i < 600; i++) actor.ref.send(cx, i % 200 === 0 ? "Async" : "Sync", i);
  const { ref, receiver } = cx.openOncePort<number>();
  actor.ref.send(cx, "Done", ref);
  await receiver.recv();
  const expected: string[] = [];
  for (let i = 0; i < 600; i++) {
    if (i % 200 === 0) expected.push(`async ${i} start`, `async ${i} end`);
    else expected.push(`sync ${i}`);
  }
  assertEquals(log, expected);
});

Deno.test("MB-40: a run of sync handlers of one type publishes one Processing status", async () => {
  await using proc = Proc.local();
  let seenInside: ActorStatus | undefined;
  const actor = proc.spawn("runs", {
    handlers: {
      A: (_cx: Context, _n: number) => {},
      B: (cx: Context, reply: PortRefData<number>) => {
        seenInside = cx.status.get();
        cx.send(reply, 0);
      },
    },
  });
  using cx = proc.instance("client");
  await actor.status.waitFor((s) => s.kind === "Idle");
  const watch = actor.status.watch();
  assertEquals((await watch.next()).value?.kind, "Idle");
  for (let i = 0; i < 10; i++) actor.ref.send(cx, "A", i);
  const { ref, receiver } = cx.openOncePort<number>();
  actor.ref.send(cx, "B", ref);
  await receiver.recv();
  const seen: string[] = [];
  while (true) {
    const s = (await watch.next()).value!;
    seen.push(s.kind === "Processing" ? `Processing(${s.handler})` : s.kind);
    if (s.kind === "Idle") break;
  }
  await watch.return();
  assertEquals(seen, ["Processing(A)", "Processing(B)", "Idle"]);
  assertEquals(seenInside?.kind, "Processing", "a handler sees itself Processing");
  assert(seenInside?.kind === "Processing" && seenInside.handler === "B");
});

Deno.test("MB-40: an async handler publishes Processing while it is pending", async () => {
  await using proc = Proc.local();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const actor = proc.spawn("pending", {
    handlers: {
      A: (_cx: Context, _n: number) => {},
      Wait: () => gate,
    },
  });
  using cx = proc.instance("client");
  actor.ref.send(cx, "A", 0);
  actor.ref.send(cx, "Wait", 0);
  actor.ref.send(cx, "A", 1);
  const waiting = await actor.status.waitFor((s) =>
    s.kind === "Processing" && s.handler === "Wait"
  );
  assertEquals(waiting?.kind, "Processing");
  const after = actor.status.waitFor((s) => s.kind === "Processing" && s.handler === "A");
  release();
  assertEquals(
    (await after)?.kind,
    "Processing",
    "the A after an async handler is published again",
  );
  await actor.status.waitFor((s) => s.kind === "Idle");
});

Deno.test("MB-4: a failed handler's supervision event carries the message headers", async () => {
  await using proc = Proc.local();
  const originalError = console.error;
  console.error = () => {};
  try {
    const actor = proc.spawn("failing", {
      handlers: {
        Boom: () => {
          throw new Error("boom");
        },
      },
    });
    using cx = proc.instance("client");
    actor.ref.send(cx, "Boom", 0, { headers: { trace: "t-1" } });
    const event = await proc.unhandledSupervisionEvents.waitFor((e) => e !== undefined);
    assertEquals(event?.status, { kind: "Failed", error: "processing error: boom" });
    assertEquals(event?.messageHeaders, { trace: "t-1" });
  } finally {
    console.error = originalError;
  }
});
