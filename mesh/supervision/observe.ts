/**
 * Process-wide observers of the `MeshFailure`s this process's owners learn:
 * what the admin's event log (`mesh/admin/events.ts`) subscribes to, so a
 * proc death reaches `/v1/events` the moment its owner learns it, not at the
 * next tree poll.
 *
 * ## Invariants (AW-*)
 * - **AW-8 (owners' failures are observable).** Every failure that
 *   `MeshSupervisor.publish` admits (new, of a live mesh) is handed, once,
 *   to every observer registered with {@linkcode observeMeshFailures}
 *   before the call returns; an observer that throws is dropped from that
 *   call only and affects neither the others nor supervision.
 *
 * @module
 */

import type { MeshFailure } from "./failure.ts";

/** Called with every failure an owner in this process learns (AW-8). */
export type MeshFailureObserver = (failure: MeshFailure) => void;

const observers = new Set<MeshFailureObserver>();

/**
 * Registers `observer` for every later failure admitted by any
 * `MeshSupervisor` of this process (AW-8).
 * @param observer The callback (must not block; it runs inside `publish`).
 * @returns A function that unregisters it.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { notifyMeshFailureObservers, observeMeshFailures } from "./observe.ts";
 * const seen: string[] = [];
 * const stop = observeMeshFailures((f) => seen.push(f.procId));
 * const failure = {
 *   kind: "ProcExit" as const, meshName: "w", rank: 0, procId: "unix:@a,w-0", actorId: null,
 *   status: { kind: "Failed" as const, message: "Killed(sig=9)" }, reason: "Killed(sig=9)",
 *   stderrTail: [], occurredAt: 0,
 * };
 * notifyMeshFailureObservers(failure);
 * stop();
 * notifyMeshFailureObservers(failure);
 * assertEquals(seen, ["unix:@a,w-0"]);
 * ```
 */
export function observeMeshFailures(observer: MeshFailureObserver): () => void {
  const entry: MeshFailureObserver = (failure) => observer(failure);
  observers.add(entry);
  return () => {
    observers.delete(entry);
  };
}

/**
 * Hands `failure` to every observer (AW-8); called by
 * `MeshSupervisor.publish` for each admitted failure.
 * @param failure The admitted failure.
 */
export function notifyMeshFailureObservers(failure: MeshFailure): void {
  for (const observer of observers) {
    try {
      observer(failure);
    } catch {
      // AW-8: an observer's fault is its own
    }
  }
}
