import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { Proc } from "../actor/proc.ts";
import { type AdminNode, aggregateHosts, HostSet, spawnAdmin } from "./admin.ts";
import { HostMeshRef, HostRef } from "./host_mesh/host_mesh_ref.ts";

Deno.test("SA-1: spawnAdmin() rejects an empty mesh set", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("c");
  const err = await assertRejects(() => spawnAdmin([], cx));
  assertStringIncludes((err as Error).message, "SA-1");
});

Deno.test("SA-2: spawnAdmin() rejects a mesh with no hosts", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("c");
  const err = await assertRejects(() => spawnAdmin([HostMeshRef.fromHosts("empty", [])], cx));
  assertStringIncludes((err as Error).message, "SA-2");
});

Deno.test("SA-3: HostSet.insert() is idempotent by agent id, first seen wins", () => {
  const a = HostRef.parse("tcp:127.0.0.1:2001");
  const b = HostRef.parse("tcp:127.0.0.1:2002");
  const set = new HostSet();
  set.insert(a.toString(), a.agent);
  set.insert(b.toString(), b.agent);
  set.insert("duplicate_addr", a.agent);
  assertEquals(set.entries().map(([addr]) => addr), [a.toString(), b.toString()], "SA-3");
});

Deno.test("SA-3: aggregateHosts() dedups across meshes in first-seen order", () => {
  const a = "tcp:127.0.0.1:1001", b = "tcp:127.0.0.1:1002", c = "tcp:127.0.0.1:1003";
  const result = aggregateHosts([
    HostMeshRef.fromHosts("mesh-a", [a, b]),
    HostMeshRef.fromHosts("mesh-b", [b, c]),
  ]);
  assertEquals(result.map(([addr]) => addr), [a, b, c], "SA-3");
});

Deno.test("SA-6, MA-C1: the client host is merged last and appears once", () => {
  const a = "tcp:127.0.0.1:1001", b = "tcp:127.0.0.1:1002", d = "tcp:127.0.0.1:1004";
  const mesh = HostMeshRef.fromHosts("mesh", [a, b]);
  const overlapping = aggregateHosts([mesh], [["client_addr", HostRef.parse(a).agent]]);
  assertEquals(overlapping.map(([addr]) => addr), [a, b], "MA-C1: the client host appears once");
  const distinct = aggregateHosts([mesh], [[d, HostRef.parse(d).agent]]);
  assertEquals(distinct.map(([addr]) => addr), [a, b, d], "SA-6");
});

Deno.test("spawnAdmin() answers a tree with an error node for an unreachable host (MA-R1)", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("c");
  const admin = await spawnAdmin([HostMeshRef.fromHosts("m", ["local:999999"])], cx, {
    queryTimeoutMs: 200,
  });
  const { ref, receiver } = cx.openOncePort<AdminNode>();
  admin.send(cx, "GetTree", { reply: ref });
  const tree = await receiver.recv();
  assertEquals(tree.children.map((c) => c.nodeType), ["error"]);
});
