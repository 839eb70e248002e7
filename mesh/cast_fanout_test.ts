import { assertEquals } from "@std/assert";
import { Proc } from "../actor/proc.ts";
import { MESH_CAST_HEADER } from "../actor/supervision.ts";
import { Region } from "../ndslice/region.ts";
import { ActorMesh } from "./actor_mesh.ts";
import { ProcMesh } from "./proc_mesh.ts";
import { ValueMesh } from "./resource/value_mesh.ts";
import type { Status } from "./resource/status.ts";
import { type CastForward, relayPortOf } from "./cast_fanout.ts";

Deno.test("FO-7, FO-1: a forward to an unreachable host comes back once, as a marked CastForward", async () => {
  await using proc = Proc.local();
  using cx = proc.instance("client");
  const region = Region.parse("procs=2/1");
  const procs = ProcMesh.fromRanks(region, [
    { procId: "local:77,p0", agent: "local:77,p0,proc_agent[0]" },
    { procId: "local:77,p1", agent: "local:77,p1,proc_agent[0]" },
  ]);
  const mesh = new ActorMesh(procs, {
    name: "far",
    spawnStatuses: ValueMesh.fromValues<Status>(region, [{ kind: "Running" }, { kind: "Running" }]),
  });
  mesh.cast(cx, "Note" as never, { seq: 1 } as never);
  const bounced = await cx.undeliverables.recv({ timeoutMs: 5_000 });
  assertEquals(bounced.type, "CastForward", "FO-7: one bounce, for the forward");
  assertEquals(bounced.dest, relayPortOf(procs.rank(0).procId), "FO-7: to the host's relay");
  assertEquals((bounced.data as CastForward).dests.length, 2, "FO-1: both ranks in one forward");
  assertEquals(bounced.headers[MESH_CAST_HEADER], "far", "FO-7: marked as a mesh cast");
  assertEquals(cx.undeliverables.tryRecv(), undefined, "FO-7: only the one");
});
