import { assert, assertEquals } from "@std/assert";
import { type MessageEnvelope, postEnvelope } from "../envelope.ts";
import { isSuffixedProcName, LocalProcDialer } from "./local_proc_dialer.ts";
import { FakeDialer, RecordingSender, testEnvelope } from "./_test_util.ts";

const HOST = "unix:@host-backend";

Deno.test("isSuffixedProcName() accepts spawned names and rejects reserved ones", () => {
  for (const name of ["mesh-0", "trainers-2MuAHeDjLCEd", "a_b-c-d"]) {
    assert(isSuffixedProcName(name), name);
  }
  for (const name of ["service", "local", "-x", "x-", "a::b-1", ""]) {
    assert(!isSuffixedProcName(name), name);
  }
});

Deno.test("MB-22: LocalProcDialer dials same-host suffixed procs directly, the rest via the backend", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/mesh-1`, new Uint8Array()); // stands in for the socket file
    const backend = new RecordingSender();
    const dialer = new FakeDialer();
    const returned: MessageEnvelope[] = [];
    const local = new LocalProcDialer({
      localAddr: HOST,
      socketDir: `${dir}/`,
      backend,
      dialer: dialer.dial,
    });
    const post = (dest: string, data: number) =>
      postEnvelope(local, testEnvelope(dest, data), (e) => returned.push(e));
    post(`${HOST},mesh-1,a[0][1]`, 1); // direct
    post(`${HOST},mesh-1,b[0][1]`, 2); // direct, cached
    post(`${HOST},service,agent[0][1]`, 3); // reserved: backend
    post(`tcp:10.1.1.1:4,mesh-1,a[0][1]`, 4); // other host: backend
    post(`${HOST},mesh-2,a[0][1]`, 5); // no socket: BrokenLink
    post(`${HOST},mesh-2,a[0][1]`, 6); // cached failure
    assertEquals(dialer.dials, [`unix:${dir}/mesh-1`], "MB-23: dialed once");
    assertEquals(dialer.posts, [`unix:${dir}/mesh-1 <- 1`, `unix:${dir}/mesh-1 <- 2`]);
    assertEquals(backend.data, [3, 4]);
    assertEquals(returned.map((e) => e.data), [5, 6]);
    assert(returned.every((e) => e.errors[0].kind === "BrokenLink"), "MB-23");

    await Deno.writeFile(`${dir}/mesh-2`, new Uint8Array());
    post(`${HOST},mesh-2,a[0][1]`, 7);
    assertEquals(returned.length, 3, "MB-23: the failure stays cached until evicted");
    assert(local.evict("mesh-2"));
    post(`${HOST},mesh-2,a[0][1]`, 8);
    assertEquals(dialer.posts.at(-1), `unix:${dir}/mesh-2 <- 8`);

    await local.flush();
    await local.close();
    assertEquals(dialer.closed.sort(), [`unix:${dir}/mesh-1`, `unix:${dir}/mesh-2`]);
    post(`${HOST},service,agent[0][1]`, 9);
    assertEquals(returned.at(-1)?.data, 9, "closed dialer bounces");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocalProcDialer honours a custom isDirectDialable predicate", async () => {
  const backend = new RecordingSender();
  const dialer = new FakeDialer();
  await using local = new LocalProcDialer({
    localAddr: HOST,
    socketDir: "/nonexistent-hypermesh",
    backend,
    dialer: dialer.dial,
    isDirectDialable: () => false,
  });
  postEnvelope(local, testEnvelope(`${HOST},mesh-1,a[0][1]`, 1), () => {});
  assertEquals(backend.data, [1]);
  assertEquals(dialer.dials, []);
});
