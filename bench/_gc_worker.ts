// Diagnosis only: a worker whose V8 collects every 2 s (run with --expose-gc);
// with HYPERMESH_BENCH_HEAP_LOG set, a host appends its heap figures there.
import { runWorker } from "../cli/worker.ts";
import { canForceGc, collectAll } from "./_gc.ts";
const log = Deno.env.get("HYPERMESH_BENCH_HEAP_LOG");
if (canForceGc) {
  Deno.unrefTimer(setInterval(() => {
    collectAll();
    if (log) {
      const m = Deno.memoryUsage();
      Deno.writeTextFileSync(
        log,
        `${Deno.pid} heap ${(m.heapUsed / 2 ** 20).toFixed(2)} ext ${
          (m.external / 2 ** 20).toFixed(2)
        } rss ${(m.rss / 2 ** 20).toFixed(1)}\n`,
        { append: true },
      );
    }
  }, 2000));
}
await runWorker();
