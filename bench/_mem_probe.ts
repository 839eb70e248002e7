// Memory probe for bench/memory_bench.ts: imports the modules named in argv
// (resolved against this file), then prints one JSON line with
// Deno.memoryUsage() and idles until its stdin closes, so the parent can read
// its /proc/PID/smaps_rollup (a child cannot: Deno wants --allow-all for /proc).
for (const spec of Deno.args) await import(new URL(spec, import.meta.url).href);
await new Promise((r) => setTimeout(r, 300));
console.log(JSON.stringify(Deno.memoryUsage()));
for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
