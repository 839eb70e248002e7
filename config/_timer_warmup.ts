/**
 * Works around a Deno 2.9 test-sanitizer quirk: the first timer a process
 * creates starts the timer machinery, and if that first timer is created and
 * cleared within one test (e.g. a receive timeout whose reply arrives at once)
 * the op sanitizer reports it as a leaked timer. Creating and clearing one
 * timer while modules load, outside any test, keeps every later test honest.
 * Imported for its effect by `config.ts`, which every layer loads.
 * @module
 */

clearTimeout(setTimeout(() => {}, 0));
