// Diagnosis only: `bootstrap.ts host …` whose V8 collects every 500 ms (run
// with --v8-flags=--expose-gc), so that its RSS shows retained memory rather
// than V8's lazy growth (`leak_bench.ts --part=daemon --gc-host`).
import { run } from "../cli/host.ts";
import { canForceGc, collectAll } from "./_gc.ts";
if (canForceGc) Deno.unrefTimer(setInterval(collectAll, 500));
Deno.exit(await run(Deno.args));
