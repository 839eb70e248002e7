import { assertEquals } from "@std/assert";
import { context, shutdownContext } from "../../actor/context.ts";
import { Extent } from "../../ndslice/extent.ts";
import { HostMesh } from "../host_mesh/host_mesh.ts";
import { registeredProcMeshes } from "./registry.ts";

Deno.test("SV-24: a stopped proc mesh leaves the registry at once", async () => {
  const cx = await context();
  try {
    await using hosts = await HostMesh.localInProcess({ transport: "local" });
    const before = registeredProcMeshes();
    for (let i = 0; i < 3; i++) {
      const procs = await hosts.spawn(cx, "reg", Extent.of({ procs: 1 }));
      assertEquals(registeredProcMeshes(), before + 1);
      await procs.stop(cx);
      assertEquals(registeredProcMeshes(), before, "SV-24: released on stop");
    }
    await hosts.spawn(cx, "reg", Extent.of({ procs: 1 }));
    await hosts.shutdown(cx);
    assertEquals(registeredProcMeshes(), before, "SV-24: released by the teardown");
  } finally {
    await shutdownContext();
  }
});
