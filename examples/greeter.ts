/**
 * Example: two host processes, two procs on each, a Greeter on every proc, one
 * call, four replies, and a clean teardown.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/greeter.ts
 * ```
 * @module
 */

import { BootstrapCommand, context, Extent, HostMesh, shutdownContext } from "../mod.ts";
import { GREETER, type greeter } from "./greeter_actor.ts";

const PERMISSIONS = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];
const worker = BootstrapCommand.forModule(
  new URL("./greeter_worker.ts", import.meta.url),
  PERMISSIONS,
);

const cx = await context();
{
  // Leaving this block shuts the mesh down: drain every host, then shut every host down.
  await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), worker);
  const procs = await hosts.ref.spawn(cx, "workers", Extent.of({ procs: 2 }));
  const greeters = await procs.spawn<typeof greeter>(cx, "greeter", GREETER, { params: {} });
  const replies = await greeters.call(cx, "Greet", { name: "mesh" }, { timeoutMs: 10_000 });
  for (const [rank, reply] of replies.entries()) console.log(`rank ${rank}: ${reply}`);
}
await shutdownContext();
