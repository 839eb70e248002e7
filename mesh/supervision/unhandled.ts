/**
 * The root client's process-wide hook for mesh failures that climbed the
 * ownership tree and nobody handled (the seeds' unhandled-fault hook).
 *
 * Default: one line on stderr naming mesh, rank, proc and reason; with
 * `HYPERMESH_UNHANDLED_MESH_FAILURE=exit` the process then exits with code 1.
 * {@linkcode setUnhandledMeshFailureHook} replaces the default.
 *
 * ## Invariants (SV-*)
 * - **SV-10 (root hook).** Every failure that reaches a root client owner
 *   while no `failures()` iterator of its mesh (or of the mesh's proc mesh)
 *   is active goes to the hook exactly once; a throwing hook is contained.
 *
 * @module
 */

import { config } from "../../config/config.ts";
import { UNHANDLED_MESH_FAILURE } from "../../config/attrs.ts";
import { describeMeshFailure, type MeshFailure } from "./failure.ts";

/** Receives unhandled mesh failures at the root client. */
export type UnhandledMeshFailureHook = (failure: MeshFailure) => void;

let hook: UnhandledMeshFailureHook | undefined;

/**
 * The default hook: prints `hypermesh: unhandled mesh failure: …` on
 * stderr, then exits with code 1 when `HYPERMESH_UNHANDLED_MESH_FAILURE` is
 * `exit`.
 * @param failure The failure.
 */
export function defaultUnhandledMeshFailureHook(failure: MeshFailure): void {
  console.error(`hypermesh: unhandled mesh failure: ${describeMeshFailure(failure)}`);
  if (config.get(UNHANDLED_MESH_FAILURE).trim() === "exit") Deno.exit(1);
}

/**
 * Replaces the process-wide hook; `undefined` restores the default.
 * @param next The new hook.
 * @returns The previous hook (`undefined` when it was the default).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { reportUnhandledMeshFailure, setUnhandledMeshFailureHook } from "./unhandled.ts";
 * import type { MeshFailure } from "./failure.ts";
 * const seen: MeshFailure[] = [];
 * const previous = setUnhandledMeshFailureHook((f) => seen.push(f));
 * try {
 *   reportUnhandledMeshFailure({
 *     kind: "ActorFailure", meshName: "w", rank: 0, procId: "p", actorId: "p,w[0]",
 *     status: { kind: "Failed", message: "boom" }, reason: "boom", stderrTail: [], occurredAt: 0,
 *   });
 * } finally {
 *   setUnhandledMeshFailureHook(previous);
 * }
 * assertEquals(seen.map((f) => f.reason), ["boom"]);
 * ```
 */
export function setUnhandledMeshFailureHook(
  next: UnhandledMeshFailureHook | undefined,
): UnhandledMeshFailureHook | undefined {
  const previous = hook;
  hook = next;
  return previous;
}

/**
 * Hands a failure to the current hook (SV-10: a throw is logged, not rethrown).
 * @param failure The failure.
 */
export function reportUnhandledMeshFailure(failure: MeshFailure): void {
  try {
    (hook ?? defaultUnhandledMeshFailureHook)(failure);
  } catch (error) {
    console.error(`hypermesh: unhandled mesh failure hook threw: ${error}`);
  }
}
