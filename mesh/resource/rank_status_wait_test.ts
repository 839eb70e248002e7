import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Extent } from "../../ndslice/extent.ts";
import { Region } from "../../ndslice/region.ts";
import { OverlayError, StatusOverlay } from "./overlay.ts";
import { OverlayAccumulator, RankStatusWaitError, waitRankStatus } from "./rank_status_wait.ts";
import { Status } from "./status.ts";
import { type StatusMesh, ValueMesh } from "./value_mesh.ts";

const REGION = Region.parse("replica=2/2,host=2/1");
const notExist = () => ValueMesh.fromSingle(REGION, Status.NotExist);
const kinds = (m: StatusMesh) => m.values().map((s) => s.kind);

/** A hand-driven async iterable of snapshots. */
function channel() {
  const queue: (StatusMesh | null)[] = [];
  let wake: (() => void) | undefined;
  let returned = false;
  return {
    send(m: StatusMesh | null) {
      queue.push(m);
      wake?.();
    },
    get returned() {
      return returned;
    },
    async *[Symbol.asyncIterator]() {
      try {
        while (true) {
          if (queue.length === 0) await new Promise<void>((r) => (wake = r));
          const m = queue.shift()!;
          if (m === null) return;
          yield m;
        }
      } finally {
        returned = true;
      }
    },
  };
}

Deno.test("MS-17: waitRankStatus() resolves once the first numRanks ranks reported", async () => {
  const ch = channel();
  let m = notExist();
  m = m.merge([{ start: 0, end: 1, value: Status.Running }]);
  ch.send(m);
  m = m.merge([{ start: 1, end: 2, value: Status.failed("x") }]);
  ch.send(m);
  const result = await waitRankStatus(ch, { numRanks: 2, maxIdleMs: 5_000, region: REGION });
  assertEquals(kinds(result), ["Running", "Failed", "NotExist", "NotExist"], "MS-17");
  assert(ch.returned, "the source iterator is released");
});

Deno.test("MS-17: waitRankStatus() rejects on idle with the latest snapshot", async () => {
  const ch = channel();
  ch.send(notExist().merge([{ start: 3, end: 4, value: Status.Running }]));
  const err = await assertRejects(
    () => waitRankStatus(ch, { numRanks: 4, maxIdleMs: 30, region: REGION }),
    RankStatusWaitError,
  );
  assertEquals(err.reason, "idle", "MS-17");
  assertEquals(err.silentRanks, [0, 1, 2], "MS-17");
  assertEquals(kinds(err.latest), ["NotExist", "NotExist", "NotExist", "Running"]);
  ch.send(null); // let the parked generator finish
});

Deno.test("MS-17: waitRankStatus() rejects with all-NotExist when nothing arrives", async () => {
  const ch = channel();
  const err = await assertRejects(
    () => waitRankStatus(ch, { numRanks: 2, maxIdleMs: 20, region: REGION }),
    RankStatusWaitError,
  );
  assertEquals([err.reason, err.silentRanks], ["idle", [0, 1]]);
  assert(err.latest.equals(notExist()), "MS-17: fallback mesh");
  ch.send(null);
});

Deno.test("MS-17: waitRankStatus() rejects when the snapshots end", async () => {
  const ch = channel();
  ch.send(notExist().merge([{ start: 0, end: 1, value: Status.Stopped }]));
  ch.send(null);
  const err = await assertRejects(
    () => waitRankStatus(ch, { numRanks: 2, maxIdleMs: 5_000, region: REGION }),
    RankStatusWaitError,
  );
  assertEquals([err.reason, err.silentRanks], ["closed", [1]]);
});

Deno.test("MS-17: waitRankStatus() re-arms the idle timer after each snapshot", async () => {
  // 8 snapshots ≥ 15 ms apart span more (7 gaps ≥ 105 ms) than maxIdleMs (100 ms) in total, but no
  // single gap comes near it: the wait succeeds only if each snapshot re-arms.
  const ch = channel();
  const region = Region.parse("x=8/1");
  let m = ValueMesh.fromSingle(region, Status.NotExist);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let i = 0;
  const tick = () => {
    m = m.merge([{ start: i, end: i + 1, value: Status.Running }]);
    ch.send(m);
    if (++i < 8) timer = setTimeout(tick, 15);
  };
  tick();
  try {
    const result = await waitRankStatus(ch, { numRanks: 8, maxIdleMs: 100, region });
    assert(result.values().every((s) => s.kind === "Running"), "MS-17");
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("MS-17: waitRankStatus() honours numRanks, abort and bad options", async () => {
  const ch = channel();
  ch.send(notExist().merge([{ start: 0, end: 1, value: Status.Running }]));
  const r = await waitRankStatus(ch, { numRanks: 1, maxIdleMs: 5_000, region: REGION });
  assertEquals(kinds(r)[0], "Running");
  const zero = await waitRankStatus(channel(), { numRanks: 0, maxIdleMs: 10, region: REGION });
  assert(zero.equals(notExist()));

  const ch2 = channel();
  const ac = new AbortController();
  const p = waitRankStatus(ch2, {
    numRanks: 4,
    maxIdleMs: 5_000,
    region: REGION,
    signal: ac.signal,
  });
  ac.abort(new Error("stop waiting"));
  await assertRejects(() => p, Error, "stop waiting");
  ch2.send(null);

  await assertRejects(
    () => waitRankStatus(channel(), { numRanks: 5, maxIdleMs: 10, region: REGION }),
    RangeError,
  );
  await assertRejects(
    () => waitRankStatus(channel(), { numRanks: 1, maxIdleMs: 0, region: REGION }),
    RangeError,
  );
});

Deno.test("MS-18: OverlayAccumulator publishes nothing before the first push", async () => {
  const acc = new OverlayAccumulator(notExist());
  assertEquals(acc.latest, undefined);
  acc.close();
  const seen = [];
  for await (const m of acc.snapshots()) seen.push(m);
  assertEquals(seen, [], "MS-18");
  assertEquals(acc.push(StatusOverlay.single(0, Status.Running)), false, "ignored after close");
});

Deno.test("MS-18: OverlayAccumulator coalesces bursts and never loses the last update", async () => {
  using acc = new OverlayAccumulator(notExist(), { maxUpdateIntervalMs: 30 });
  for (let r = 0; r < 4; r++) acc.push(StatusOverlay.single(r, Status.Running));
  const seen: string[][] = [];
  for await (const m of acc.snapshots()) {
    seen.push(kinds(m));
    if (m.values().every((s) => s.kind === "Running")) break;
  }
  // The first push publishes at once; the other three coalesce into one snapshot.
  assertEquals(seen, [
    ["Running", "NotExist", "NotExist", "NotExist"],
    ["Running", "Running", "Running", "Running"],
  ], "MS-18");
});

Deno.test("MS-18: OverlayAccumulator.close() flushes pending updates and clears its timer", async () => {
  const acc = new OverlayAccumulator(notExist(), { maxUpdateIntervalMs: 60_000 });
  acc.push(StatusOverlay.single(0, Status.Running));
  acc.push(StatusOverlay.single(1, Status.Stopped)); // pending behind a 60 s timer
  acc.close(); // the sanitizer fails this test if the timer survived
  const seen = [];
  for await (const m of acc.snapshots()) seen.push(kinds(m));
  assertEquals(seen, [["Running", "Stopped", "NotExist", "NotExist"]], "MS-18");
});

Deno.test("MS-18: OverlayAccumulator applies overlays right-wins and rejects out-of-range", () => {
  using acc = new OverlayAccumulator(notExist());
  acc.push(new StatusOverlay([{ start: 0, end: 4, value: Status.Initializing }]));
  acc.push(StatusOverlay.single(2, Status.failed("boom")));
  assertThrows(() => acc.push(StatusOverlay.single(9, Status.Running)), OverlayError);
  assertEquals(kinds(acc.latest!), ["Initializing", "Initializing", "Failed", "Initializing"]);
});

Deno.test("MS-18: OverlayAccumulator serves several readers and ends them on close", async () => {
  const acc = new OverlayAccumulator(notExist(), { maxUpdateIntervalMs: 0 });
  const read = async () => {
    const out: string[] = [];
    for await (const m of acc.snapshots()) out.push(kinds(m).join(","));
    return out;
  };
  const a = read();
  const b = read();
  await Promise.resolve();
  acc.push(StatusOverlay.single(0, Status.Running));
  await new Promise((r) => setTimeout(r, 0));
  acc.close();
  const [ra, rb] = await Promise.all([a, b]);
  assertEquals(ra.at(-1), "Running,NotExist,NotExist,NotExist");
  assertEquals(rb.at(-1), "Running,NotExist,NotExist,NotExist");
});

Deno.test("MS-18: OverlayAccumulator.snapshots() rejects with the abort reason", async () => {
  using acc = new OverlayAccumulator(notExist());
  const ac = new AbortController();
  const it = acc.snapshots({ signal: ac.signal });
  const next = it.next();
  ac.abort(new Error("enough"));
  await assertRejects(() => next, Error, "enough");
});

Deno.test("MS-17/MS-18: accumulator + wait, end to end with an idle timeout", async () => {
  using acc = new OverlayAccumulator(notExist(), { maxUpdateIntervalMs: 5 });
  acc.push(StatusOverlay.single(0, Status.Running));
  acc.push(StatusOverlay.single(1, Status.Running));
  const err = await assertRejects(
    () => waitRankStatus(acc.snapshots(), { numRanks: 4, maxIdleMs: 50, region: REGION }),
    RankStatusWaitError,
  );
  assertEquals(err.silentRanks, [2, 3]);
  assertEquals(kinds(err.latest), ["Running", "Running", "NotExist", "NotExist"]);
});

Deno.test("MS-18: OverlayAccumulator publishes a complete state without waiting out the interval", async () => {
  const region = Region.fromExtent(Extent.of({ x: 2 }));
  const acc = new OverlayAccumulator(ValueMesh.fromSingle(region, Status.NotExist), {
    maxUpdateIntervalMs: 60_000,
    publishWhenComplete: true,
  });
  const it = acc.snapshots();
  acc.push(StatusOverlay.single(0, Status.Running)); // first: published at once
  assertEquals((await it.next()).value?.get(1).kind, "NotExist");
  acc.push(StatusOverlay.single(1, Status.Running)); // complete: no 60 s wait
  assertEquals((await it.next()).value?.values().map((s) => s.kind), ["Running", "Running"]);
  acc.close();
  assertEquals((await it.next()).done, true);
});

Deno.test("MS-44: OverlayAccumulator work per push does not grow with the rank count", async () => {
  const perPush: number[] = [];
  for (const n of [16, 256, 4096]) {
    const region = Region.fromExtent(Extent.of({ x: n }));
    const acc = new OverlayAccumulator(ValueMesh.fromSingle(region, Status.NotExist), {
      maxUpdateIntervalMs: 60_000,
      publishWhenComplete: true,
    });
    // Ranks report one by one in a scattered order (the worst case for runs).
    const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    assertEquals(new Set(order).size, n);
    const it = acc.snapshots();
    for (const rank of order) acc.push(StatusOverlay.single(rank, Status.Running));
    assertEquals(acc.reported, n, "MS-44: reported count");
    const done = await it.next(); // complete: published without the 60 s wait
    assert(done.value!.values().every((s) => s.kind === "Running"));
    acc.close();
    // One template copy, one write per push, two snapshots (the first push
    // and the complete state): 4 operations per push at most.
    assert(acc.work <= 4 * n, `MS-44: ${acc.work} operations for ${n} pushes`);
    perPush.push(acc.work / n);
  }
  assertEquals(perPush[0], perPush[2], "MS-44: operations per push independent of N");
});

Deno.test("MS-44: OverlayAccumulator counts ranks that report and ranks reset to NotExist", () => {
  using acc = new OverlayAccumulator(notExist(), { maxUpdateIntervalMs: 60_000 });
  acc.push(new StatusOverlay([{ start: 0, end: 3, value: Status.Running }]));
  assertEquals(acc.reported, 3);
  acc.push(StatusOverlay.single(1, Status.NotExist));
  acc.push(StatusOverlay.single(2, Status.Stopped));
  assertEquals(acc.reported, 2);
  assertEquals(kinds(acc.latest!), ["Running", "NotExist", "Stopped", "NotExist"]);
});
