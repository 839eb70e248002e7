/**
 * `MeshSupervisor`: the owner-side state of one mesh's supervision — the
 * seeds' `ProcMeshController` / `ActorMeshController`, kept in the owner's
 * process instead of as a polling child actor. The owner opens one port per
 * mesh ({@linkcode MeshSupervisor.forOwner}); its id travels in the spawn
 * requests (`ProcSpec.supervisor`, `ActorSpec.supervisor`), and the host
 * agent (proc exits) and proc agents (actor failures) push `MeshFailure`s
 * to it.
 *
 * {@linkcode MeshSupervisor.publish} is the one entry point for a failure:
 * the port's pump calls it for pushed failures, and failures detected
 * elsewhere (a lost host) are published the same way.
 *
 * ## Invariants (SV-*)
 * - **SV-2 (latched).** The first proc-level failure (`ProcExit` /
 *   `HostLost`) of a rank, else its first `ActorFailure`, is latched until
 *   the rank is restarted (`recover`, RS-5; for good without a restart
 *   policy): the mesh's status APIs answer for that rank from it, at once.
 * - **SV-3 (duplicates, closed meshes).** A failure whose key
 *   (`failureKey`) was already published, a failure for a rank outside the
 *   mesh, and any failure after `close()` are dropped: `publish` returns
 *   false and nothing else happens.
 * - **SV-7 (proc failures reach actor meshes).** A proc-level failure of a
 *   proc mesh is also published, rewritten to the actor mesh's name and
 *   actor id, on every actor mesh spawned on it; an `ActorFailure` of an
 *   actor mesh is also seen by the proc mesh's `failures()` subscribers.
 * - **SV-8 (escalate once).** Each published failure is offered to the
 *   mesh's owner exactly once: an owning actor gets it in its message loop
 *   (`handleMeshFailure`, MB-50); a client owner counts an active
 *   `failures()` iterator of the mesh (or of its proc mesh, or of an actor
 *   mesh on it) as handling it, and otherwise hands it to the process-wide
 *   hook (SV-10).
 *
 * A failure the mesh's restart hook ({@linkcode MeshSupervisor.onRestart})
 * takes is published with `restarting: true` and not escalated (RS-5,
 * `mesh/restart/restarter.ts`).
 *
 * Retired: SV-30..SV-37 (labels of end-to-end test scenarios, never
 * defined; those tests now name the invariants they exercise).
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { MESH_FAILURE_TYPE } from "../../actor/supervision.ts";
import { failureKey, isMeshFailure, type MeshFailure } from "./failure.ts";
import { FailureStream, type FailureSubscribeOptions } from "./failure_stream.ts";
import { notifyMeshFailureObservers } from "./observe.ts";
import { reportUnhandledMeshFailure } from "./unhandled.ts";

/** Where agents push a mesh's failures (travels in spawn specs). */
export interface SupervisorRef {
  /** PortId text of the owner's per-mesh failure port. */
  port: string;
  /** The mesh name agents put in `MeshFailure.meshName`. */
  mesh: string;
}

/**
 * Whether `value` is a {@linkcode SupervisorRef} (total).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isSupervisorRef } from "./mesh_supervisor.ts";
 * assert(isSupervisorRef({ port: "unix:@a,root,client[0][7]", mesh: "w" }));
 * assert(!isSupervisorRef(null));
 * ```
 */
export function isSupervisorRef(value: unknown): value is SupervisorRef {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return typeof v.port === "string" && v.port.length > 0 && typeof v.mesh === "string";
}

/** Rewrites a proc mesh's failure for an actor mesh spawned on it (SV-7). */
export type DeriveFailure = (failure: MeshFailure) => MeshFailure;

/**
 * Decides whether a failure is restarted (RS-5): returns the restart's
 * attempt number to take it, `undefined` to let it escalate.
 */
export type RestartHook = (failure: MeshFailure) => number | undefined;

const isProcLevel = (f: MeshFailure) => f.kind !== "ActorFailure";

/**
 * One mesh's failures at its owner: latched per-rank failures, the
 * `failures()` broadcast, links between a proc mesh and its actor meshes,
 * and the escalation to the owner.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MeshSupervisor } from "./mesh_supervisor.ts";
 * const sup = new MeshSupervisor("w", 2);
 * const it = sup.failures();
 * const failure = {
 *   kind: "ProcExit" as const, meshName: "w", rank: 1, procId: "p1", actorId: null,
 *   status: { kind: "Failed", message: "Killed(sig=9)" } as const, reason: "Killed(sig=9)",
 *   stderrTail: [], occurredAt: 0,
 * };
 * assertEquals([sup.publish(failure), sup.publish(failure)], [true, false]);
 * assertEquals((await it.next()).value?.rank, 1);
 * assertEquals(sup.failureOf(1)?.reason, "Killed(sig=9)");
 * sup.close();
 * ```
 */
export class MeshSupervisor {
  /** The mesh's name. */
  readonly meshName: string;
  /** The mesh's rank count. */
  readonly numRanks: number;
  readonly #stream = new FailureStream();
  readonly #latched = new Map<number, MeshFailure>();
  readonly #seen = new Set<string>();
  readonly #children = new Map<MeshSupervisor, DeriveFailure>();
  #parent: MeshSupervisor | undefined;
  #escalate: ((failure: MeshFailure) => void) | undefined;
  #onClose: (() => void) | undefined;
  #ref: SupervisorRef | null = null;
  #restart: RestartHook | undefined;
  readonly #closeListeners: (() => void)[] = [];

  /**
   * A supervisor without an owner port (nothing is pushed to it; failures
   * published on it are not escalated). Owners use {@linkcode MeshSupervisor.forOwner}.
   * @param meshName The mesh's name.
   * @param numRanks Its rank count.
   */
  constructor(meshName: string, numRanks: number) {
    this.meshName = meshName;
    this.numRanks = numRanks;
  }

  /**
   * A supervisor whose owner is `cx`: opens the per-mesh failure port on
   * `cx`, pumps it into {@linkcode MeshSupervisor.publish}, and escalates to
   * `cx` (SV-8). The port closes with {@linkcode MeshSupervisor.close} or
   * when `cx` stops.
   * @param cx The owner (an actor's context or a client instance).
   * @param meshName The mesh's name.
   * @param numRanks Its rank count.
   * @returns The supervisor; its `ref` goes into the spawn requests.
   */
  static forOwner(cx: Context, meshName: string, numRanks: number): MeshSupervisor {
    const sup = new MeshSupervisor(meshName, numRanks);
    const { ref, receiver } = cx.openPort<unknown>();
    sup.#ref = { port: ref.port, mesh: meshName };
    sup.#onClose = () => receiver.close();
    (async () => {
      for await (const msg of receiver) {
        if (isMeshFailure(msg)) sup.publish(msg);
        else console.warn(`hypermesh: mesh "${meshName}" ignores a malformed failure`);
      }
    })().catch(() => {});
    const isClient = cx.status.get().kind === "Client";
    sup.#escalate = isClient
      ? (failure) => {
        if (!sup.#observed(failure)) reportUnhandledMeshFailure(failure); // SV-8, SV-10
      }
      : (failure) => {
        // MB-50: into the owning actor's message loop.
        cx.postMessage(
          cx.selfRef.port(MESH_FAILURE_TYPE as never).port,
          MESH_FAILURE_TYPE,
          failure,
          false,
        );
      };
    return sup;
  }

  /** Where agents push this mesh's failures; `null` without an owner port. */
  get ref(): SupervisorRef | null {
    return this.#ref;
  }

  /** Whether {@linkcode MeshSupervisor.close} was called. */
  get closed(): boolean {
    return this.#stream.closed;
  }

  /**
   * The one entry point for a failure of this mesh: latches it (SV-2),
   * drops duplicates and failures of closed meshes (SV-3), hands it to the
   * `failures()` subscribers and the linked meshes (SV-7), and escalates it
   * to the owner once (SV-8).
   * @param failure The failure (its `rank` is a rank of this mesh).
   * @returns Whether it was new.
   */
  publish(failure: MeshFailure): boolean {
    if (!this.#admit(failure)) return false;
    const attempt = failure.restarting ? undefined : this.#restart?.(failure);
    if (attempt !== undefined) failure = { ...failure, restarting: true, attempt }; // RS-5
    this.#latch(failure);
    notifyMeshFailureObservers(failure); // AW-8
    if (isProcLevel(failure)) {
      for (const [child, derive] of this.#children) child.#record(derive(failure)); // SV-7
    } else {
      const parent = this.#parent;
      if (parent !== undefined) parent.#stream.publish(failure); // SV-7
    }
    if (!failure.restarting) this.#escalate?.(failure); // SV-8, RS-5
    return true;
  }

  /**
   * Installs the mesh's restart hook (RS-5); `undefined` removes it.
   * @param hook Takes a failure (returns its attempt number) or declines.
   */
  onRestart(hook: RestartHook | undefined): void {
    this.#restart = hook;
  }

  /**
   * Runs `listener` once when the mesh closes (at once if it is closed):
   * its restarts end with it (RS-9).
   * @param listener Called once.
   */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.#closeListeners.push(listener);
  }

  /**
   * Unlatches `rank` after it was restarted in place (RS-5): its status
   * APIs ask its (new) agent again, casts reach it. A proc-level recovery
   * also unlatches the rank's proc-level failure on every actor mesh
   * spawned on this mesh.
   * @param rank The restarted rank.
   * @param level `"proc"` (a new proc) or `"actor"` (a new actor on the same proc).
   */
  recover(rank: number, level: "proc" | "actor"): void {
    const latched = this.#latched.get(rank);
    if (latched !== undefined && (level === "proc" || !isProcLevel(latched))) {
      this.#latched.delete(rank);
    }
    if (level === "proc") {
      for (const child of this.#children.keys()) {
        child.recover(rank, "proc");
      }
    }
  }

  /**
   * The latched failure of `rank` (SV-2).
   * @param rank A rank.
   * @returns Its failure, or `undefined` while the rank is healthy.
   */
  failureOf(rank: number): MeshFailure | undefined {
    return this.#latched.get(rank);
  }

  /**
   * Ranks with a latched failure, ascending.
   * @returns Ranks with a latched failure, ascending.
   */
  failedRanks(): number[] {
    return [...this.#latched.keys()].sort((a, b) => a - b);
  }

  /**
   * Every failure from now on (SV-4, SV-5).
   * @param options Buffer bound and cancellation.
   * @returns The iterator.
   */
  failures(options?: FailureSubscribeOptions): AsyncIterableIterator<MeshFailure> {
    return this.#stream.subscribe(options);
  }

  /**
   * Links an actor mesh spawned on this proc mesh (SV-7); proc-level
   * failures already latched are replayed into it.
   * @param child The actor mesh's supervisor.
   * @param derive Rewrites a proc mesh failure for the actor mesh.
   */
  link(child: MeshSupervisor, derive: DeriveFailure): void {
    this.#children.set(child, derive);
    child.#parent = this;
    for (const f of this.#latched.values()) if (isProcLevel(f)) child.#record(derive(f));
  }

  /**
   * Ends the failure stream, closes the owner port, unlinks, and closes the
   * actor meshes linked to this one (they do not outlive their procs; SV-6).
   */
  close(): void {
    this.#restart = undefined;
    for (const listener of this.#closeListeners.splice(0)) {
      try {
        listener();
      } catch { /* a listener's failure does not stop the close */ }
    }
    this.#stream.close();
    this.#onClose?.();
    this.#onClose = undefined;
    this.#escalate = undefined;
    const parent = this.#parent;
    if (parent !== undefined) parent.#children.delete(this);
    this.#parent = undefined;
    const children = [...this.#children.keys()];
    this.#children.clear();
    for (const child of children) child.close(); // actor meshes end with their procs
  }

  #record(failure: MeshFailure): boolean {
    if (!this.#admit(failure)) return false;
    this.#latch(failure);
    return true;
  }

  /** SV-3: drops closed meshes, stray ranks and duplicates; marks `failure` seen. */
  #admit(failure: MeshFailure): boolean {
    if (this.#stream.closed) return false; // SV-3
    if (!Number.isInteger(failure.rank) || failure.rank < 0 || failure.rank >= this.numRanks) {
      return false; // SV-3
    }
    const key = failureKey(failure);
    if (this.#seen.has(key)) return false; // SV-3
    this.#seen.add(key);
    return true;
  }

  /** SV-2: latches and streams an admitted failure. */
  #latch(failure: MeshFailure): void {
    const latched = this.#latched.get(failure.rank);
    if (latched === undefined || (isProcLevel(failure) && !isProcLevel(latched))) {
      this.#latched.set(failure.rank, failure); // SV-2
    }
    this.#stream.publish(failure);
  }

  #observed(failure: MeshFailure): boolean {
    if (this.#stream.subscriberCount > 0) return true;
    if (isProcLevel(failure)) {
      for (const child of this.#children.keys()) {
        if (child.#stream.subscriberCount > 0) return true;
      }
      return false;
    }
    const parent = this.#parent;
    return parent !== undefined && parent.#stream.subscriberCount > 0;
  }
}
