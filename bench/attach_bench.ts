/**
 * What an attach costs and how fast it fails (HM-6, CH-11), against floors
 * measured in the same run:
 *
 * - a config push to a live host daemon (what `HostMesh.attach` waits for:
 *   the probe runs beside it) vs a plain request round trip to the same
 *   host agent (a push without a probe) vs the probe alone vs a bare TCP
 *   connect + close to the same port;
 * - `HostMesh.attach` to a port where nothing listens (time to the error)
 *   vs a bare refused `Deno.connect`.
 *
 * `deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys --allow-ffi bench/attach_bench.ts [rounds]`
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { probeChannel } from "../channel/probe.ts";
import { config } from "../config/config.ts";
import { FORWARDER_FLUSH_TIMEOUT } from "../config/attrs.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { workerCommand } from "../cli/worker.ts";
import { stats } from "./_floor.ts";
import { request } from "../actor/request.ts";
import type { HostInfo } from "../mesh/host_agent/protocol.ts";

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 50);
  using _f = config.override(FORWARDER_FLUSH_TIMEOUT, 200);
  const cx = await context();
  const hosts = await HostMesh.process(Extent.of({ hosts: 1 }), workerCommand(), {
    transport: "tcp",
  });
  const host = hosts.ref.hosts[0];
  const addr = host.addr;
  // `HostMesh.process` returns before its hosts listen; attach is for running hosts.
  for (let tries = 0;; tries++) {
    try {
      await probeChannel(addr);
      break;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const rows: Record<string, number[]> = {
    "config push to a live host (attach's wait)": [],
    "floor: a request round trip to the host agent": [],
    "probe alone (dial + handshake + goodbye)": [],
    "floor: bare TCP connect + close": [],
    "attach where nothing listens → error": [],
    "floor: bare refused connect": [],
  };
  try {
    for (let i = 0; i < rounds + 5; i++) {
      const push = await time(() => hosts.ref.pushConfig(cx));
      const roundTrip = await time(() =>
        request<HostInfo>(cx, "Introspect", (reply) => {
          host.agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply });
        }, { timeoutMs: 10_000 })
      );
      const probe = await time(() => probeChannel(addr));
      const bare = await time(async () => {
        const conn = await Deno.connect({ hostname: addr.host!, port: addr.port! });
        conn.close();
      });
      const port = freePort();
      const refused = await time(() =>
        HostMesh.attach(cx, "nothing", [`tcp:127.0.0.1:${port}`]).then(
          () => {
            throw new Error("attached to nothing");
          },
          () => {},
        )
      );
      const bareRefused = await time(() =>
        Deno.connect({ hostname: "127.0.0.1", port }).then((c) => c.close(), () => {})
      );
      if (i < 5) continue; // warm-up
      const values = [push, roundTrip, probe, bare, refused, bareRefused];
      Object.values(rows).forEach((list, k) => list.push(values[k]));
    }
  } finally {
    await hosts.shutdown(cx);
    await shutdownContext();
  }
  for (const [name, samples] of Object.entries(rows)) {
    const { median, p90 } = stats(samples);
    console.log(
      `${name.padEnd(45)} median ${median.toFixed(2).padStart(7)} ms  p90 ${p90.toFixed(2)}`,
    );
  }
}
