import { assert, assertEquals } from "@std/assert";
import { Proc } from "../../actor/proc.ts";
import { bindingAddr, serveLocalHost } from "../host_mesh/_serve.ts";
import { addHostLostListener, clearHostLost, type HostLostError, lostHosts } from "./host_lost.ts";
import { HostWatch } from "./host_watch.ts";

Deno.test("HW-2 / HW-3: a released in-process host is declared lost, once; HW-6: the watch closes with its proc", async () => {
  const proc = await Proc.direct(bindingAddr("unix"), "hw-unit");
  const cx = proc.instance("client");
  const served = await serveLocalHost(bindingAddr("unix"));
  const addr = served.ref.addr.toString();
  const seen: [string, HostLostError][] = [];
  using _l = addHostLostListener((host, error) => seen.push([host, error]));
  try {
    const watch = new HostWatch(proc, { intervalMs: 50, timeoutMs: 300 });
    watch.watch([addr]);
    for (let i = 0; i < 100 && !watch.answered.includes(addr); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(watch.answered, [addr], "the host answered the heartbeat");
    const t0 = performance.now();
    await served.release();
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assertEquals(seen.map(([h]) => h), [addr], "HW-1: reported once");
    assert(performance.now() - t0 < 1_000, "HW-2/HW-3: within the deadline");
    assertEquals(watch.watching, [], "a lost host is no longer pinged");
    assertEquals(lostHosts().filter((e) => e.host === addr).length, 1);
    cx[Symbol.dispose]();
    await proc[Symbol.asyncDispose]();
    assert(watch.closed, "HW-6: the watch closed with its proc");
  } finally {
    clearHostLost(addr);
    await served.release();
    await proc[Symbol.asyncDispose]();
  }
});
