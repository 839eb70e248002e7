/**
 * The program every proc (and host) of the example runs: it registers the
 * example's actor types, then becomes a bootstrap child.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi examples/greeter_worker.ts   # only ever started by a host
 * ```
 * @module
 */

import "./greeter_actor.ts";
import { runBootstrapChild } from "../bootstrap.ts";

await runBootstrapChild();
