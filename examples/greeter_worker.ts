/**
 * The program every host and proc of the examples runs: it registers the
 * examples' actor types, then becomes a bootstrap child when started by a
 * host, or runs the `bootstrap.ts` command line otherwise — so the same file
 * is also the host daemon for several machines:
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/greeter_worker.ts host --addr tcp:10.0.0.11:26600
 * ```
 * @module
 */

import "./greeter_actor.ts";
import { isBootstrapChild, main, runBootstrapChild } from "../bootstrap.ts";

if (isBootstrapChild()) await runBootstrapChild();
else Deno.exit(await main(Deno.args));
