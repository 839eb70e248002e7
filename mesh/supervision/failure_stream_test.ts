import { assertEquals, assertThrows } from "@std/assert";
import { FailureStream } from "./failure_stream.ts";
import type { MeshFailure } from "./failure.ts";

function failure(rank: number): MeshFailure {
  return {
    kind: "ActorFailure",
    meshName: "m",
    rank,
    procId: `p${rank}`,
    actorId: `p${rank},m[0]`,
    status: { kind: "Failed", message: "x" },
    reason: "x",
    stderrTail: [],
    occurredAt: 0,
  };
}

Deno.test("SV-4: every subscriber sees every failure published after it subscribed, in order", async () => {
  const stream = new FailureStream();
  stream.publish(failure(0)); // before anyone subscribed
  const a = stream.subscribe();
  const b = stream.subscribe();
  stream.publish(failure(1));
  stream.publish(failure(2));
  stream.close();
  const ranks = async (it: AsyncIterable<MeshFailure>) => {
    const out: number[] = [];
    for await (const f of it) out.push(f.rank);
    return out;
  };
  assertEquals(await ranks(a), [1, 2]);
  assertEquals(await ranks(b), [1, 2]);
});

Deno.test("SV-4: break, return() and an aborted signal unsubscribe at once", async () => {
  const stream = new FailureStream();
  const a = stream.subscribe();
  const ac = new AbortController();
  const b = stream.subscribe({ signal: ac.signal });
  assertEquals(stream.subscriberCount, 2);
  const pending = b.next();
  ac.abort();
  assertEquals((await pending).done, true, "SV-4: a parked reader ends on abort");
  await a.return!();
  assertEquals(stream.subscriberCount, 0);
  const c = stream.subscribe();
  stream.publish(failure(3));
  for await (const f of c) {
    assertEquals(f.rank, 3);
    break;
  }
  assertEquals(stream.subscriberCount, 0, "SV-4: break unsubscribes");
});

Deno.test("SV-5: a full buffer drops the oldest, marks the next read lagged, and never blocks others", async () => {
  const stream = new FailureStream();
  const slow = stream.subscribe({ bufferSize: 2 });
  const fast = stream.subscribe({ bufferSize: 1000 });
  for (let i = 0; i < 1000; i++) stream.publish(failure(i)); // never blocks
  let seen = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await fast.next();
    assertEquals(r.value?.lagged, undefined);
    seen++;
  }
  assertEquals(seen, 1000, "SV-5: the fast reader is unaffected");
  const first = (await slow.next()).value!;
  assertEquals([first.rank, first.lagged], [998, 998], "SV-5: lagged counts the dropped failures");
  const second = (await slow.next()).value!;
  assertEquals([second.rank, second.lagged], [999, undefined], "SV-5: marked once");
  assertThrows(() => stream.subscribe({ bufferSize: 0 }), RangeError);
  stream.close();
});

Deno.test("SV-6: close() ends iterations after draining; later publishes are ignored", async () => {
  const stream = new FailureStream();
  const a = stream.subscribe();
  stream.publish(failure(1));
  stream.close();
  stream.publish(failure(2));
  assertEquals((await a.next()).value?.rank, 1);
  assertEquals((await a.next()).done, true);
  assertEquals(
    (await stream.subscribe().next()).done,
    true,
    "SV-6: a late subscriber ends at once",
  );
});
