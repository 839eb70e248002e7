/**
 * Shared by the memory benchmarks: a forced garbage collection that also
 * gives back what V8 keeps committed for speed (run with
 * `--v8-flags=--expose-gc`).
 *
 * A plain `gc()` frees garbage but leaves V8's young generation at the size
 * its throughput heuristic grew it to (a client's grew from 4.3 to 13 MB over
 * 300 mesh cycles, empty after each collection), so a process's RSS after it
 * shows capacity, not retained memory. V8's last-resort collection (what it
 * runs under memory pressure) also shrinks the young generation and compacts:
 * what is left is what the process holds.
 * @module
 */

type Gc = (
  options?: {
    type?: "major" | "minor";
    execution?: "sync" | "async";
    flavor?: "regular" | "last-resort";
  },
) => void;

const gc = (globalThis as { gc?: Gc }).gc;

/** Whether this process can force a collection (`--expose-gc`). */
export const canForceGc: boolean = gc !== undefined;

/**
 * Collects everything and shrinks V8's spare capacity (no-op without
 * `--expose-gc`).
 * @example
 * ```ts
 * import { collectAll } from "./_gc.ts";
 * collectAll();
 * ```
 */
export function collectAll(): void {
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}
