/**
 * The agents' side of supervision: which exits and actor failures become a
 * `MeshFailure`, and pushing it to the owner's per-mesh port. Used by the
 * host agent (proc exits) and the proc agent (actor failures).
 *
 * ## Invariants (SV-*)
 * - **SV-11 (what is a failure).** A proc whose process reaches a terminal
 *   status that nobody asked for — killed by a signal, exited with a
 *   non-zero code, or failed — is a `ProcExit` failure; an exit after a stop
 *   request, a drain or a shutdown, or with code 0, is not. An actor of an
 *   actor mesh that fails (its status `Failed`) while no stop of that mesh
 *   was requested is an `ActorFailure`.
 * - **SV-12 (push, never block).** A failure is sent to the owner's port
 *   with `cx.send`, without undeliverable returns: a vanished owner never
 *   fails or blocks the agent.
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import type { ActorSupervisionEvent } from "../../actor/supervision.ts";
import type { ProcStatus } from "../../bootstrap/proc_status.ts";
import { Status } from "../resource/status.ts";
import type { MeshFailure } from "./failure.ts";
import type { SupervisorRef } from "./mesh_supervisor.ts";

/**
 * The `ProcExit` failure for a raw proc status, or `undefined` when the
 * status is not a failure (SV-11: still running, or exit code 0 unless
 * `reportCleanExit`, RS-4). An exit by code carries `exitCode`.
 * @param owner The mesh's supervisor ref.
 * @param rank The proc's rank in its mesh.
 * @param procId The proc id text.
 * @param raw The manager's status.
 * @param options `reportCleanExit`: a clean exit is a failure too (restart
 * policy `always`).
 * @returns The failure, or `undefined`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { procExitFailure } from "./push.ts";
 * const owner = { port: "unix:@c,root,client[0][5]", mesh: "w" };
 * const f = procExitFailure(owner, 1, "unix:@h,w-1", { kind: "Killed", signal: 9, coreDumped: false });
 * assertEquals([f?.kind, f?.reason, f?.status.kind], ["ProcExit", "Killed(sig=9)", "Failed"]);
 * assertEquals(procExitFailure(owner, 1, "p", { kind: "Stopped", exitCode: 0, stderrTail: [] }), undefined);
 * ```
 */
export function procExitFailure(
  owner: SupervisorRef,
  rank: number,
  procId: string,
  raw: ProcStatus,
  options: { reportCleanExit?: boolean } = {},
): MeshFailure | undefined {
  let reason: string;
  let stderrTail: string[] = [];
  let exitCode: number | undefined;
  switch (raw.kind) {
    case "Killed":
      reason = `Killed(sig=${raw.signal})${raw.coreDumped ? " (core dumped)" : ""}`;
      break;
    case "Stopped":
      if (raw.exitCode === 0 && !options.reportCleanExit) return undefined; // SV-11
      reason = `exited with code ${raw.exitCode}`;
      exitCode = raw.exitCode;
      stderrTail = [...(raw.stderrTail ?? [])];
      break;
    case "Failed":
      reason = raw.reason;
      break;
    default:
      return undefined;
  }
  return {
    kind: "ProcExit",
    meshName: owner.mesh,
    rank,
    procId,
    actorId: null,
    status: Status.failed(reason),
    reason,
    stderrTail,
    occurredAt: Date.now(),
    ...(exitCode === undefined ? {} : { exitCode }),
  };
}

/**
 * The `ActorFailure` for an actor's supervision event, or `undefined` when
 * the event is not an error (SV-11).
 * @param owner The actor mesh's supervisor ref.
 * @param rank The actor's rank.
 * @param procId The proc id text.
 * @param event The actor's supervision event.
 * @returns The failure, or `undefined`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { actorFailure } from "./push.ts";
 * const f = actorFailure({ port: "x[1]", mesh: "greeter" }, 0, "unix:@h,p", {
 *   actorId: "unix:@h,p,greeter[0]", occurredAt: 5, status: { kind: "Failed", error: "boom" },
 * });
 * assertEquals([f?.kind, f?.actorId, f?.reason], ["ActorFailure", "unix:@h,p,greeter[0]", "boom"]);
 * ```
 */
export function actorFailure(
  owner: SupervisorRef,
  rank: number,
  procId: string,
  event: ActorSupervisionEvent,
): MeshFailure | undefined {
  if (event.status.kind !== "Failed") return undefined;
  const reason = event.status.error;
  const failure: MeshFailure = {
    kind: "ActorFailure",
    meshName: owner.mesh,
    rank,
    procId,
    actorId: event.actorId,
    status: Status.failed(reason),
    reason,
    stderrTail: [],
    occurredAt: event.occurredAt,
  };
  if (event.meshFailure !== undefined) failure.causedBy = event.meshFailure;
  return failure;
}

/**
 * Sends `failure` to the owner's port (SV-12: no undeliverable returns;
 * a malformed port only loses this failure).
 * @param cx The agent.
 * @param owner The mesh's supervisor ref.
 * @param failure The failure.
 */
export function pushFailure(cx: Context, owner: SupervisorRef, failure: MeshFailure): void {
  try {
    cx.send({ port: owner.port, returnUndeliverable: false }, failure);
  } catch (error) {
    console.warn(`hypermesh: cannot push a mesh failure to ${owner.port}: ${error}`);
  }
}
