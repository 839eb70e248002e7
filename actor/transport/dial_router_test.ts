import { assert, assertEquals, assertThrows } from "@std/assert";
import { ChannelAddr } from "../../channel/addr.ts";
import { type MessageEnvelope, postEnvelope } from "../envelope.ts";
import { DialMailboxRouter, isReferencePrefix } from "./dial_router.ts";
import { ActorId, ProcId, ReferenceParseError } from "../reference.ts";
import { UNROUTABLE_MESSAGE } from "../unroutable.ts";
import { FakeDialer, RecordingSender, testEnvelope } from "./_test_util.ts";

const A = "unix:@hostA";

function post(router: DialMailboxRouter, dest: string, data: unknown): MessageEnvelope[] {
  const returned: MessageEnvelope[] = [];
  postEnvelope(router, testEnvelope(dest, data), (e) => returned.push(e));
  return returned;
}

Deno.test("MB-10: isReferencePrefix() matches only at reference boundaries", () => {
  assert(isReferencePrefix(`${A},p`, `${A},p`));
  assert(isReferencePrefix(`${A},p`, `${A},p,a[0]`));
  assert(isReferencePrefix(`${A},p,a[0]`, `${A},p,a[0][12<Ping>]`));
  assert(!isReferencePrefix(`${A},p`, `${A},p2`), "MB-10: proc p must not cover proc p2");
  assert(!isReferencePrefix(`${A},p`, `${A},p2,a[0]`));
  assert(!isReferencePrefix(`${A},p,a[1]`, `${A},p,a[10]`));
  assert(!isReferencePrefix(`${A},p,a[1]`, `${A},p,a[1`));
});

Deno.test("MB-10: DialMailboxRouter routes by the longest bound prefix", async () => {
  const dialer = new FakeDialer();
  await using router = new DialMailboxRouter({ dialer: dialer.dial });
  router.bind(`${A},p`, "unix:@proc-p");
  router.bind(ActorId.parse(`${A},p,special[0]`), "unix:@actor-special");
  router.bind(`${A},p,special[0][7]`, "unix:@port-7");
  router.bind(ProcId.parse(`${A},p2`), "unix:@proc-p2");

  assertEquals(router.lookup(`${A},p,worker[0][1]`)?.key, "unix:@proc-p");
  assertEquals(router.lookup(`${A},p,special[0][1]`)?.key, "unix:@actor-special");
  assertEquals(router.lookup(`${A},p,special[0][7<Ping>]`)?.key, "unix:@port-7");
  assertEquals(router.lookup(`${A},p,special[1][7]`)?.key, "unix:@proc-p");
  assertEquals(router.lookup(`${A},p2,special[0][7]`)?.key, "unix:@proc-p2", "MB-10: p2 ≠ p");
  assertEquals(router.lookup(`${A},p22,x[0][1]`)?.key, A, "MB-10: unbound → direct address");

  assertEquals(post(router, `${A},p,worker[0][1]`, 1), []);
  assertEquals(post(router, `${A},p,special[0][1]`, 2), []);
  assertEquals(post(router, `${A},p,special[0][7<Ping>]`, 3), []);
  assertEquals(post(router, `${A},p2,w[0][1]`, 4), []);
  assertEquals(post(router, `${A},p,worker[3][1]`, 5), []);
  assertEquals(dialer.posts, [
    "unix:@proc-p <- 1",
    "unix:@actor-special <- 2",
    "unix:@port-7 <- 3",
    "unix:@proc-p2 <- 4",
    "unix:@proc-p <- 5",
  ]);
  assertEquals(dialer.dials, [
    "unix:@proc-p",
    "unix:@actor-special",
    "unix:@port-7",
    "unix:@proc-p2",
  ], "one dial per address (cached)");
  assertEquals(router.bindings().map(([k]) => k), [
    `${A},p`,
    `${A},p,special[0]`,
    `${A},p,special[0][7]`,
    `${A},p2`,
  ]);
});

Deno.test("MB-10: DialMailboxRouter.unbind() removes every entry the reference covers", async () => {
  const dialer = new FakeDialer();
  await using router = new DialMailboxRouter({ dialer: dialer.dial });
  router.bind(`${A},p`, "unix:@1");
  router.bind(`${A},p,a[0]`, "unix:@2");
  router.bind(`${A},p,a[0][3]`, "unix:@3");
  router.bind(`${A},p2`, "unix:@4");
  router.bind(`${A},p2,a[0]`, "unix:@5");
  assertEquals(router.unbind(`${A},p,a[0]`), 2);
  assertEquals(router.lookup(`${A},p,a[0][3]`)?.key, "unix:@1");
  assertEquals(router.unbind(ProcId.parse(`${A},p`)), 1);
  assertEquals(router.bindings().map(([k]) => k), [`${A},p2`, `${A},p2,a[0]`]);
  assertEquals(router.lookup(`${A},p,a[0][3]`)?.key, A);
});

Deno.test("MB-18: DialMailboxRouter.bind() evicts the old client only when the address changes", async () => {
  const dialer = new FakeDialer();
  const router = new DialMailboxRouter({ dialer: dialer.dial });
  router.bind(`${A},p`, "unix:@old");
  post(router, `${A},p,a[0][1]`, 1);
  router.bind(`${A},p`, "unix:@old");
  post(router, `${A},p,a[0][1]`, 2);
  assertEquals(dialer.dials, ["unix:@old"], "same address: client kept");
  router.bind(`${A},p`, ChannelAddr.parse("unix:@new"));
  post(router, `${A},p,a[0][1]`, 3);
  await router.flush();
  await router.close();
  assertEquals(dialer.dials, ["unix:@old", "unix:@new"]);
  assertEquals(dialer.posts, ["unix:@old <- 1", "unix:@old <- 2", "unix:@new <- 3"]);
  assertEquals(dialer.closed.sort(), ["unix:@new", "unix:@old"]);
});

Deno.test("MB-18: DialMailboxRouter.evict() re-dials on the next post and drops stale routes", async () => {
  const dialer = new FakeDialer();
  await using router = new DialMailboxRouter({ dialer: dialer.dial });
  post(router, "tcp:127.0.0.1:9,p,a[0][1]", 1);
  assert(router.evict("tcp:127.0.0.1:9"));
  assert(!router.evict("tcp:127.0.0.1:9"));
  post(router, "tcp:127.0.0.1:9,p,a[0][1]", 2);
  router.bind("tcp:127.0.0.1:9,p", "unix:@elsewhere");
  post(router, "tcp:127.0.0.1:9,p,a[0][1]", 3);
  router.unbind("tcp:127.0.0.1:9,p");
  post(router, "tcp:127.0.0.1:9,p,a[0][1]", 4);
  assertEquals(dialer.posts, [
    "tcp:127.0.0.1:9 <- 1",
    "tcp:127.0.0.1:9 <- 2",
    "unix:@elsewhere <- 3",
    "tcp:127.0.0.1:9 <- 4",
  ]);
  assertEquals(dialer.dials, ["tcp:127.0.0.1:9", "tcp:127.0.0.1:9", "unix:@elsewhere"]);
});

Deno.test("DialMailboxRouter with directAddressedRemoteOnly sends unix/local to the default sender", async () => {
  const dialer = new FakeDialer();
  const fallback = new RecordingSender();
  await using router = new DialMailboxRouter({
    dialer: dialer.dial,
    defaultSender: fallback,
    directAddressedRemoteOnly: true,
  });
  post(router, "unix:@x,p,a[0][1]", 1);
  post(router, "local:3,p,a[0][1]", 2);
  post(router, "tcp:[::1]:7,p,a[0][1]", 3);
  router.bind("unix:@x,q", "unix:@bound");
  post(router, "unix:@x,q,a[0][1]", 4);
  assertEquals(fallback.data, [1, 2]);
  assertEquals(dialer.posts, ["tcp:[::1]:7 <- 3", "unix:@bound <- 4"]);
  await router.flush();
  assertEquals(fallback.flushes, 0, "the default sender is not owned by the router");
});

Deno.test("DialMailboxRouter defaults to the unroutable sender for undirectable destinations", async () => {
  await using router = new DialMailboxRouter({
    dialer: new FakeDialer().dial,
    directAddressedRemoteOnly: true,
  });
  const returned = post(router, "unix:@x,p,a[0][1]", 1);
  assertEquals(returned.map((e) => e.errors), [[{
    kind: "Unroutable",
    message: UNROUTABLE_MESSAGE,
  }]]);
});

Deno.test("DialMailboxRouter bounces dial failures as Unroutable and retries the dial later", async () => {
  const dialer = new FakeDialer();
  dialer.failing.add("unix:@gone");
  await using router = new DialMailboxRouter({ dialer: dialer.dial });
  router.bind(`${A},p`, "unix:@gone");
  const first = post(router, `${A},p,a[0][1]`, 1);
  assertEquals(first.length, 1);
  assertEquals(first[0].errors[0].kind, "Unroutable");
  assert(
    first[0].errors[0].kind === "Unroutable" &&
      first[0].errors[0].message.startsWith("cannot dial destination: "),
  );
  dialer.failing.clear();
  assertEquals(post(router, `${A},p,a[0][1]`, 2), []);
  assertEquals(dialer.dials, ["unix:@gone", "unix:@gone"]);
  assertEquals(dialer.posts, ["unix:@gone <- 2"]);
  const silent = testEnvelope(`${A},p9,a[0][1]`, 3, false);
  router.bind(`${A},p9`, "unix:@gone2");
  dialer.failing.add("unix:@gone2");
  let returnedSilent = 0;
  postEnvelope(router, silent, () => returnedSilent++);
  assertEquals(returnedSilent, 0, "MB-2: returnUndeliverable false stays silent");
});

Deno.test("MB-19: DialMailboxRouter bounces posts after close()", async () => {
  const dialer = new FakeDialer();
  const router = new DialMailboxRouter({ dialer: dialer.dial });
  post(router, "unix:@a,p,x[0][1]", 1);
  await router.close();
  await router.close();
  const returned = post(router, "unix:@a,p,x[0][1]", 2);
  assertEquals(returned[0].errors[0].kind, "BrokenLink");
  assertEquals(dialer.closed, ["unix:@a"]);
});

Deno.test("DialMailboxRouter.bind() rejects malformed references and addresses", () => {
  const router = new DialMailboxRouter({ dialer: new FakeDialer().dial });
  assertThrows(() => router.bind("not a ref", "unix:@x"), ReferenceParseError);
  assertThrows(() => router.bind(`${A},p`, "bogus"), Error);
});

Deno.test("DialMailboxRouter routes unparsable destinations to the default sender", async () => {
  const fallback = new RecordingSender();
  await using router = new DialMailboxRouter({
    dialer: new FakeDialer().dial,
    defaultSender: fallback,
  });
  post(router, "garbage", 1);
  post(router, "nope:1,p,a[0][1]", 2);
  assertEquals(fallback.data, [1, 2]);
});

Deno.test("MB-36: bounces that re-enter a closing router never dial a new link", async () => {
  const dialed: string[] = [];
  const closed: string[] = [];
  // Each link hands its pending envelope back synchronously inside close(),
  // as a channel does, and the bounce is re-posted into the router (the way
  // a mailbox server's undeliverable path does).
  const pending = new Map<string, () => void>();
  const router = new DialMailboxRouter({
    dialer: (addr) => {
      dialed.push(addr.key);
      return {
        postUnchecked: (e: MessageEnvelope, returnHandle: (e: MessageEnvelope) => void) => {
          pending.set(addr.key, () => returnHandle(e));
        },
        close: () => {
          closed.push(addr.key);
          pending.get(addr.key)?.();
          return Promise.resolve();
        },
      };
    },
  });
  const reposted: MessageEnvelope[] = [];
  postEnvelope(router, testEnvelope(`${A},p,a[0][1]`, 1), () => {
    // The undeliverable goes to a proc on another address.
    postEnvelope(router, testEnvelope("unix:@elsewhere,q,b[0][1]", 2), (e) => reposted.push(e));
  });
  await router.close();
  assertEquals(dialed, [A], "MB-36: no dial after close()");
  assertEquals(closed, [A], "every dialed link was closed");
  assertEquals(reposted.map((e) => e.errors[0].kind), ["BrokenLink"]);
});

Deno.test("MB-44: bind, unbind and evict of one proc keep every other proc's cached route", async () => {
  const dialer = new FakeDialer();
  await using router = new DialMailboxRouter({ dialer: dialer.dial });
  const n = 200;
  for (let i = 0; i < n; i++) router.bind(`${A},p${i}`, `unix:@proc-${i}`);
  for (let i = 0; i < n; i++) assertEquals(post(router, `${A},p${i},w[0][1]`, i), []);
  assertEquals([dialer.dials.length, router.cachedRoutes], [n, n]);

  router.bind(`${A},fresh`, "unix:@proc-fresh"); // a new proc
  assertEquals(router.unbind(`${A},p0`), 1); // a dropped proc: O(1), no scan
  assertEquals(router.evict("unix:@proc-1"), true); // its link closed
  assertEquals(router.cachedRoutes, n - 1, "MB-44: only p0's route was forgotten");

  for (let i = 2; i < n; i++) assertEquals(post(router, `${A},p${i},w[0][1]`, i), []);
  assertEquals(dialer.dials.length, n, "MB-44: the other procs' routes and links were kept");
  assertEquals(post(router, `${A},p1,w[0][1]`, "again"), []);
  assertEquals(dialer.dials.at(-1), "unix:@proc-1", "MB-18: the evicted route is not reused");
  assertEquals(router.lookup(`${A},p0,w[0][1]`)?.key, A, "MB-10: unbound → direct address");
});
