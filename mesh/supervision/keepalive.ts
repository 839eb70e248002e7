/**
 * Owner keepalives: the owner of a proc mesh renews, on every host, the
 * lease of each of its procs, so that a host agent can stop the procs of an
 * owner that died (`HYPERACTOR_MESH_ORPHAN_TIMEOUT`, the seed's
 * `MESH_ORPHAN_TIMEOUT`). `HostMeshRef.spawn` starts one per proc mesh;
 * nothing is asked of the user.
 *
 * A round sends one `KeepaliveGetState{expiresAfterMs: now + lease}` per
 * live rank to that rank's host agent (undeliverable returns off: a dead
 * host costs nothing). The first round is sent at once (a client that dies
 * right after `spawn` still leaves leased procs), then every
 * `lease / 3`. Replies arrive on one port per keepalive; a rank whose proc
 * is terminated (or unknown to its agent) is dropped, and a keepalive with
 * no rank left stops by itself.
 *
 * The lease is an epoch time on the owner's clock (the wire shape of the
 * seed's `expires_after`): owners and hosts are assumed to agree on the time
 * within a fraction of the lease.
 *
 * ## Invariants (OW-*)
 * - **OW-1 (owner keepalive).** While the owner lives and a rank of a proc
 *   mesh spawned through `HostMeshRef.spawn` has not terminated, its host
 *   agent holds a lease on it that expires no earlier than
 *   `HYPERACTOR_MESH_ORPHAN_TIMEOUT` after the owner's last renewal, and the
 *   owner renews it every third of that timeout. A timeout of 0 starts no
 *   keepalive.
 * - **OW-2 (keepalive lifetime).** A keepalive stops — its interval
 *   cleared, its reply port closed — when the mesh is stopped
 *   (`ProcMesh#stop`, `HostMeshRef.stopProcMesh`), when the owner's proc is
 *   disposed, when the owning instance stopped, or when no rank is left. Its
 *   timer is unref'd: a keepalive never keeps a process alive on its own.
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { Proc } from "../../actor/proc.ts";
import type { PortReceiver } from "../../actor/mailbox.ts";
import { config } from "../../config/config.ts";
import { MESH_ORPHAN_TIMEOUT } from "../../config/attrs.ts";
import type { State } from "../resource/protocol.ts";
import { isTerminated } from "../resource/status.ts";
import type { ProcMesh } from "../proc_mesh.ts";
import type { ProcState } from "../host_agent/protocol.ts";
import { quietPort } from "../host_mesh/_query.ts";
import { HostRef } from "../host_mesh/host_mesh_ref.ts";
import type { ProcId } from "../../actor/reference.ts";

/** Options of {@linkcode OwnerKeepalive.start}. */
export interface OwnerKeepaliveOptions {
  /** Lease per renewal, ms (default `HYPERACTOR_MESH_ORPHAN_TIMEOUT`; 0 = no keepalive). */
  leaseMs?: number;
  /** Renewal period, ms (default a third of the lease). */
  periodMs?: number;
}

const byMesh = new WeakMap<ProcMesh, OwnerKeepalive>();
const byProc = new WeakMap<Proc, Set<OwnerKeepalive>>();

/**
 * The lease renewals of one proc mesh by its owner (OW-1, OW-2).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../../actor/proc.ts";
 * import { ChannelAddr } from "../../channel/addr.ts";
 * import { Extent } from "../../ndslice/extent.ts";
 * import { HostMesh } from "../host_mesh/host_mesh.ts";
 * import { OwnerKeepalive } from "./keepalive.ts";
 *
 * await using proc = await Proc.direct(ChannelAddr.any("local"), "doc");
 * using cx = proc.instance("client");
 * const hosts = await HostMesh.localInProcess({ transport: "local" });
 * const procs = await hosts.spawn(cx, "workers", Extent.of({ gpus: 1 }));
 * assertEquals(OwnerKeepalive.of(procs)?.active, true); // started by spawn
 * await hosts.shutdown(cx);
 * OwnerKeepalive.of(procs)?.stop();
 * ```
 */
export class OwnerKeepalive implements Disposable {
  readonly #cx: Context;
  readonly #mesh: ProcMesh;
  readonly #leaseMs: number;
  readonly #live: Map<string, HostRef>;
  readonly #receiver: PortReceiver<State<ProcState>>;
  readonly #timer: ReturnType<typeof setInterval>;
  #rounds = 0;
  #stopped = false;

  private constructor(cx: Context, mesh: ProcMesh, leaseMs: number, periodMs: number) {
    this.#cx = cx;
    this.#mesh = mesh;
    this.#leaseMs = leaseMs;
    this.#live = new Map(mesh.ranks().map((r) => [r.procId.name, new HostRef(r.procId.addr)]));
    const { receiver } = cx.openPort<State<ProcState>>();
    this.#receiver = receiver;
    this.#drain();
    this.#timer = setInterval(() => this.#round(), periodMs);
    Deno.unrefTimer(this.#timer); // OW-2: never keeps the process alive
  }

  /**
   * Starts renewing the leases of `mesh`'s procs on behalf of `cx` (replaces
   * a keepalive already running for `mesh`).
   * @param cx The owner.
   * @param mesh A proc mesh spawned on hosts.
   * @param options Lease and period.
   * @returns The keepalive, or `undefined` when the lease is 0 (disabled).
   * @throws {RangeError} For a negative lease or a non-positive period.
   */
  static start(
    cx: Context,
    mesh: ProcMesh,
    options: OwnerKeepaliveOptions = {},
  ): OwnerKeepalive | undefined {
    const leaseMs = options.leaseMs ?? config.get(MESH_ORPHAN_TIMEOUT);
    if (!(leaseMs >= 0)) throw new RangeError(`Invalid keepalive leaseMs: ${leaseMs}`);
    byMesh.get(mesh)?.stop();
    if (leaseMs === 0 || mesh.numRanks === 0) return undefined;
    const periodMs = options.periodMs ?? Math.max(1, Math.floor(leaseMs / 3));
    if (!(periodMs > 0)) throw new RangeError(`Invalid keepalive periodMs: ${periodMs}`);
    const keepalive = new OwnerKeepalive(cx, mesh, leaseMs, periodMs);
    byMesh.set(mesh, keepalive);
    const proc = Proc.of(cx);
    let owned = byProc.get(proc);
    if (owned === undefined) {
      const set = new Set<OwnerKeepalive>();
      owned = set;
      byProc.set(proc, set);
      proc.addDisposer(() => { // OW-2: dies with the owner's proc
        for (const k of [...set]) k.stop();
        return Promise.resolve();
      });
    }
    owned.add(keepalive);
    keepalive.#round(); // OW-1: the first lease at once
    return keepalive;
  }

  /**
   * The keepalive running for `mesh`, if any.
   * @param mesh A proc mesh.
   * @returns Its keepalive while active.
   */
  static of(mesh: ProcMesh): OwnerKeepalive | undefined {
    return byMesh.get(mesh);
  }

  /**
   * Stops the keepalive of `mesh`, if any (idempotent).
   * @param mesh A proc mesh.
   */
  static stopFor(mesh: ProcMesh): void {
    byMesh.get(mesh)?.stop();
  }

  /** Whether renewals are still sent. */
  get active(): boolean {
    return !this.#stopped;
  }

  /** Rounds sent so far (the first one at start). */
  get rounds(): number {
    return this.#rounds;
  }

  /** Names of the procs still renewed. */
  get procs(): string[] {
    return [...this.#live.keys()];
  }

  /**
   * Renews the lease of one more proc of the mesh from the next round on
   * (a rank restarted in place, RS-6); a stopped keepalive ignores it.
   * @param procId The new proc.
   * @returns Whether it is renewed (false once the keepalive stopped).
   */
  track(procId: ProcId): boolean {
    if (this.#stopped) return false;
    this.#live.set(procId.name, new HostRef(procId.addr));
    return true;
  }

  /** Stops renewing (OW-2): clears the timer and closes the reply port. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#receiver.close("keepalive stopped");
    if (byMesh.get(this.#mesh) === this) byMesh.delete(this.#mesh);
    byProc.get(Proc.of(this.#cx))?.delete(this);
  }

  /** Stops renewing. */
  [Symbol.dispose](): void {
    this.stop();
  }

  #round(): void {
    if (this.#stopped) return;
    const status = this.#cx.status.get().kind;
    if (status === "Stopped" || status === "Failed") return this.stop(); // OW-2
    if (this.#live.size === 0) return this.stop();
    this.#rounds++;
    const expiresAfterMs = Date.now() + this.#leaseMs;
    const reply = this.#receiver.ref.port;
    for (const [name, host] of this.#live) {
      try {
        quietPort(host.agent, "KeepaliveGetState").send(this.#cx, {
          kind: "KeepaliveGetState",
          expiresAfterMs,
          getState: { kind: "GetState", name, reply },
        });
      } catch {
        return this.stop(); // the owner can no longer send
      }
    }
  }

  async #drain(): Promise<void> {
    for await (const state of this.#receiver) {
      if (state.state === null || isTerminated(state.status)) this.#live.delete(state.name);
    }
  }
}
