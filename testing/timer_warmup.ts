/**
 * Test-only: works around a Deno 2.9 test-sanitizer quirk. The first timer a
 * process creates starts the timer machinery, and if that first timer is
 * created and cleared within one test (e.g. a receive timeout whose reply
 * arrives at once) the op sanitizer reports it as a leaked timer. Creating
 * and clearing one timer while modules load, outside any test, keeps every
 * later test honest.
 *
 * It runs in test processes only, never in a user's process: `deno task test`
 * preloads it (`--preload ./testing/timer_warmup.ts`) and `tests/_support.ts`
 * imports it for its effect; no runtime layer imports it. That first timer is
 * expensive (~10 ms of CPU: Deno 2.9 loads its node-compatible timer
 * implementation lazily), and a proc's own life runs on light timers
 * (`internal/light_timer.ts`) that never load it (BS-37). It imports nothing,
 * so it can be preloaded before any module of the tree.
 *
 * Run a single test file with the same flag when it leaks a timer only
 * without it: `deno test --preload ./testing/timer_warmup.ts … file_test.ts`.
 * @example
 * ```ts
 * import "./timer_warmup.ts";
 * ```
 * @module
 */

clearTimeout(setTimeout(() => {}, 0));
