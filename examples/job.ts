/**
 * Example: the same program on host daemons from two engines — this machine
 * (`local N`) or other machines over ssh (`ssh [user@]host[:port] …`) — two
 * procs per host, a Greeter on each, one call, and the job's teardown.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/job.ts local 2
 * # other machines: key-based ssh login, deno on the PATH, this checkout at the same path
 * HYPERMESH_CLIENT_ADDR=tcp:$(hostname -f):0 deno run --allow-run --allow-read --allow-write \
 *   --allow-net --allow-env --allow-sys --allow-ffi examples/job.ts ssh node1 node2
 * ```
 * @module
 */

import { context, Extent, shutdownContext } from "../mod.ts";
import { allocate, type HostJob, LocalJob, SshJob } from "../mesh/mod.ts";
import { GREETER, type greeter } from "./greeter_actor.ts";

const [engine = "local", ...args] = Deno.args;
// The daemons run the examples' worker program (it registers example::Greeter).
const program = new URL("./greeter_worker.ts", import.meta.url).pathname;
const config = new URL("../deno.json", import.meta.url).pathname;
const job: HostJob = engine === "ssh"
  ? new SshJob({ hosts: args, program, config })
  : new LocalJob({ hosts: Number(args[0] ?? 2), program, config });

const cx = await context(); // serves HYPERMESH_CLIENT_ADDR: the hosts reply there
{
  // Leaving this block shuts the hosts down and ends the daemons (and ssh sessions).
  await using hosts = await allocate(cx, "example", job, { timeoutMs: 60_000 });
  const procs = await hosts.ref.spawn(cx, "workers", Extent.of({ procs: 2 }));
  const greeters = await procs.spawn<typeof greeter>(cx, "greeter", GREETER, { params: {} });
  const replies = await greeters.call(cx, "Greet", { name: engine }, { timeoutMs: 10_000 });
  for (const [rank, reply] of replies.entries()) console.log(`rank ${rank}: ${reply}`);
}
await shutdownContext();
