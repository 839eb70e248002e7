/**
 * SV-16: the owned-destination index of `mesh/supervision/registry.ts`
 * answers SV-15 like the former scan of every rank of every mesh, and empties
 * when the meshes stop.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { ownedDestination, ownedProcCount } from "../mesh/supervision/registry.ts";

Deno.test("SV-16: owned procs are indexed at spawn, looked up by proc id prefix, and dropped at stop (SV-15 kept by `retired`)", async () => {
  const cx = await context();
  try {
    const before = ownedProcCount();
    await using hosts = await HostMesh.localInProcess({ hosts: 2 });
    const a = await hosts.spawn(cx, "a", Extent.of({ procs: 3 }));
    const b = await hosts.spawn(cx, "b", Extent.of({ procs: 2 }));
    assertEquals(ownedProcCount(), before + 10, "every rank of both meshes is indexed");
    for (const mesh of [a, b]) {
      for (const r of mesh.ranks()) {
        assert(ownedDestination(`${r.procId.key},greeter[0][7]`), `${r.procId.key} is owned`);
        assert(!ownedDestination(`${r.procId.key}x,greeter[0][7]`), "a longer proc name is not");
      }
    }
    assert(!ownedDestination("tcp:127.0.0.1:1,elsewhere,greeter[0][7]"), "a foreign proc is not");
    const keys = a.ranks().map((r) => r.procId.key);
    await a.stop(cx);
    await hosts.stop(cx);
    assertEquals(ownedProcCount(), before, "the index empties when the meshes stop");
    for (const k of keys) assert(ownedDestination(`${k},greeter[0][7]`), "SV-15: stopped here");
  } finally {
    await shutdownContext();
  }
});
