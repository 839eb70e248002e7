/**
 * Example: two host processes, two procs on each, a Greeter on every proc, one
 * cast, four replies, and a clean teardown.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/greeter.ts
 * ```
 * @module
 */

import { BootstrapCommand, context, Extent, HostMesh, shutdownContext } from "../mod.ts";
import { type Greet, GREETER } from "./greeter_actor.ts";

const PERMISSIONS = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];
const worker = BootstrapCommand.fromPath(Deno.execPath(), [
  "run",
  ...PERMISSIONS,
  new URL("./greeter_worker.ts", import.meta.url).pathname,
]);

const cx = await context();
{
  // Leaving this block shuts the mesh down: drain every host, then shut every host down.
  await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), worker);
  const procs = await hosts.ref.spawn(cx, "workers", Extent.of({ procs: 2 }));
  const greeters = await procs.spawn(cx, "greeter", GREETER, { params: {} });
  const { ref, receiver } = cx.openPort<string>();
  greeters.cast(cx, "Greet", { name: "mesh", reply: ref.toJSON() } satisfies Greet);
  for (let i = 0; i < procs.numRanks; i++) console.log(await receiver.recv({ timeoutMs: 10_000 }));
}
await shutdownContext();
