/**
 * Example client for hosts on other machines: attaches to running host
 * daemons, spawns two procs on each, calls a Greeter on every proc, prints
 * the replies and shuts the hosts down.
 *
 * ```sh
 * # on each host machine
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/greeter_worker.ts host --addr tcp:10.0.0.11:26600
 * # on the client machine: HYPERMESH_CLIENT_ADDR is where the hosts send replies
 * HYPERMESH_CLIENT_ADDR=tcp:10.0.0.10:0 deno run --allow-run --allow-read --allow-write \
 *   --allow-net --allow-env --allow-sys --allow-ffi examples/cluster.ts \
 *   tcp:10.0.0.11:26600 tcp:10.0.0.12:26600
 * ```
 * @module
 */

import { context, Extent, HostMesh, shutdownContext } from "../mod.ts";
import { GREETER, type greeter } from "./greeter_actor.ts";

const hosts = Deno.args;
if (hosts.length === 0) {
  console.error("usage: cluster.ts tcp:HOST:PORT [tcp:HOST:PORT ...]");
  Deno.exit(2);
}
const cx = await context(); // serves HYPERMESH_CLIENT_ADDR
const mesh = await HostMesh.attach(cx, "cluster", hosts);
try {
  const procs = await mesh.ref.spawn(cx, "workers", Extent.of({ procs: 2 }));
  const greeters = await procs.spawn<typeof greeter>(cx, "greeter", GREETER, { params: {} });
  const replies = await greeters.call(cx, "Greet", { name: "cluster" }, { timeoutMs: 10_000 });
  for (const [rank, reply] of replies.entries()) console.log(`rank ${rank}: ${reply}`);
} finally {
  const report = await mesh.shutdown(cx); // drain every host, then shut every host down
  console.log(`teardown: ${JSON.stringify(report)}`);
  await shutdownContext();
}
