import { assertEquals } from "@std/assert";
import { attrs, config } from "../config/mod.ts";
import { context, setRootUndeliverableHook, shutdownContext } from "./context.ts";
import { MESH_CAST_HEADER } from "./supervision.ts";

Deno.test("GC-1: the root client's undeliverables are reported and still queued; bounced mesh casts are not reported again", async () => {
  using _t = config.override(attrs.MESH_DEFAULT_TRANSPORT, "local");
  const seen: string[] = [];
  const previous = setRootUndeliverableHook((e) => seen.push(e.type));
  try {
    const cx = await context();
    const dest = `${cx.self.procId.key},nobody[0]`;
    cx.postMessage(`${dest}[1<Plain>]`, "Plain", 1, true);
    cx.postMessage(`${dest}[2<Cast>]`, "Cast", 2, true, { headers: { [MESH_CAST_HEADER]: "m" } });
    const a = await cx.undeliverables.recv({ timeoutMs: 5_000 });
    const b = await cx.undeliverables.recv({ timeoutMs: 5_000 });
    assertEquals([a.type, b.type].sort(), ["Cast", "Plain"], "GC-1: both still queued");
    assertEquals(seen, ["Plain"], "GC-1: reported once; the cast's failure was reported already");
  } finally {
    setRootUndeliverableHook(previous);
    await shutdownContext();
  }
});
