/**
 * Works around a Deno 2.9 test-sanitizer quirk: the first timer a process
 * creates starts the timer machinery, and if that first timer is created and
 * cleared within one test (e.g. a receive timeout whose reply arrives at once)
 * the op sanitizer reports it as a leaked timer. Creating and clearing one
 * timer while modules load, outside any test, keeps every later test honest.
 * Imported for its effect by `config.ts`, which every layer loads.
 *
 * That first timer is expensive (~10 ms of CPU: Deno 2.9 loads its
 * node-compatible timer implementation lazily), and a bootstrap child never
 * runs tests, so a process whose environment carries a bootstrap mode
 * (`HYPERACTOR_MESH_BOOTSTRAP_MODE`, or the v0 allocator's
 * `HYPERACTOR_MESH_BOOTSTRAP_ADDR`) skips it: a proc's own life runs on
 * light timers (`internal/light_timer.ts`) and never loads the node-compatible
 * ones at all (spawn-to-Ready and stop, `bench/spawn_bench.ts`). The variables
 * are read only when env access is already granted (never prompting);
 * without it the warm-up runs.
 * @module
 */

function isBootstrapChild(): boolean {
  for (const variable of ["HYPERACTOR_MESH_BOOTSTRAP_MODE", "HYPERACTOR_MESH_BOOTSTRAP_ADDR"]) {
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return false;
    if (Deno.env.get(variable) !== undefined) return true;
  }
  return false;
}

if (!isBootstrapChild()) clearTimeout(setTimeout(() => {}, 0));
