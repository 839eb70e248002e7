// Diagnosis only: `bootstrap.ts host …` whose V8 collects every 500 ms (run
// with --v8-flags=--expose-gc), so that its RSS shows retained memory rather
// than V8's lazy growth (`leak_bench.ts --part=daemon --gc-host`).
import { run } from "../cli/host.ts";
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) Deno.unrefTimer(setInterval(() => gc(), 500));
Deno.exit(await run(Deno.args));
