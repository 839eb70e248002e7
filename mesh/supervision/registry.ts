/**
 * The proc meshes this process owns, by host: what a failure detected for a
 * whole host (a lost host daemon) is published to, and what a host mesh's
 * teardown closes.
 *
 * ## Invariants (SV-*)
 * - **SV-13 (host lost).** {@linkcode publishHostLost} publishes one
 *   `HostLost` failure for every rank on that host of every proc mesh this
 *   process owns and has not stopped (through `MeshSupervisor.publish`, so
 *   SV-2..SV-8 apply: actor meshes on those ranks learn it too, duplicates
 *   are dropped, the owner escalates it).
 * - **SV-15 (owned destinations).** An undeliverable that comes back to the
 *   root client from an actor of a live proc mesh owned here is left to that
 *   mesh's supervision (GC-1 does not report it a second time); one from a
 *   proc of a mesh stopped here (the last 4096 procs) is expected.
 * - **SV-16 (owned lookup in constant time).** The SV-15 check looks the
 *   destination's proc id up in an index of the owned procs (filled at
 *   register and at a restart's replacement, emptied at retire): an
 *   undeliverable costs the same whatever the number of meshes and ranks
 *   owned here, so N bounces from N ranks cost O(N), not O(N²).
 * - **SV-14 (teardown ends streams).** After a host mesh's `stop` or
 *   `shutdown`, the `failures()` iterators of the proc meshes it drained end.
 * - **SV-24 (no retention).** A proc mesh leaves the registry the moment its
 *   supervision closes (`ProcMesh#stop`, a host mesh's teardown): an owner
 *   that spawns and stops meshes for ever holds only the live ones (and a
 *   bounded set of retired proc ids).
 *
 * @module
 */

import type { ChannelAddr } from "../../channel/addr.ts";
import { setSupervisedDestinations } from "../../actor/context.ts";
import { Status } from "../resource/status.ts";
import type { ProcMesh } from "../proc_mesh.ts";

interface Entry {
  procMesh: ProcMesh;
  hostMeshId: string;
}

const live = new Set<Entry>();

/** SV-16: proc id keys of the ranks of the live proc meshes owned here. */
const owned = new Set<string>();

/**
 * SV-15: whether `dest` (port id text) is on a proc of a proc mesh owned (or
 * stopped) here. SV-16: one index lookup per comma of `dest`.
 * @param dest A port id text.
 * @returns Whether the mesh layer's supervision covers it.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ownedDestination } from "./registry.ts";
 * assertEquals(ownedDestination("tcp:127.0.0.1:1,nowhere,a[0][1]"), false);
 * ```
 */
export function ownedDestination(dest: string): boolean {
  const comma = dest.indexOf(",", dest.indexOf(",") + 1);
  if (comma > 0 && retired.has(dest.slice(0, comma))) return true; // stopped on purpose
  entries(); // retire the meshes closed since the last look
  // SV-16: a proc id key is a prefix of `dest` that ends before a comma.
  for (let i = dest.indexOf(","); i > 0; i = dest.indexOf(",", i + 1)) {
    if (owned.has(dest.slice(0, i))) return true;
  }
  return false;
}

setSupervisedDestinations(ownedDestination);

/** Proc id keys of meshes stopped here (bounded, oldest dropped first). */
const retired = new Set<string>();
const RETIRED_MAX = 4096;

function retire(e: Entry): void {
  if (!live.delete(e)) return;
  for (const r of e.procMesh.ranks()) {
    owned.delete(r.procId.key);
    retired.add(r.procId.key);
    if (retired.size > RETIRED_MAX) retired.delete(retired.values().next().value!);
  }
}

/**
 * Marks a proc replaced by a restart as stopped on purpose: messages to it
 * bounce to their sender without a GC-1 report (RS-7).
 * @param procId The former proc's id text.
 */
export function retireProc(procId: string): void {
  owned.delete(procId);
  retired.add(procId);
  if (retired.size > RETIRED_MAX) retired.delete(retired.values().next().value!);
}

function entries(): Entry[] {
  for (const e of live) if (e.procMesh.supervisor.closed) retire(e);
  return [...live];
}

/**
 * Records a proc mesh this process owns (called by `HostMeshRef.spawn`).
 * @param procMesh The mesh.
 * @param hostMeshId The host mesh it was spawned on.
 */
export function registerProcMesh(procMesh: ProcMesh, hostMeshId: string): void {
  const entry = { procMesh, hostMeshId };
  live.add(entry);
  for (const r of procMesh.ranks()) owned.add(r.procId.key); // SV-16
  procMesh.supervisor.onClosed(() => retire(entry)); // a stopped mesh is not kept alive here
}

/**
 * How many proc meshes the registry holds (stopped ones leave at once).
 * @returns The count.
 */
export function registeredProcMeshes(): number {
  return live.size;
}

/**
 * Indexes a proc that replaced a rank of an owned mesh (a restart, after
 * {@linkcode retireProc} of the former one) for SV-15 (SV-16).
 * @param procId The new proc's id text.
 */
export function adoptProc(procId: string): void {
  owned.add(procId);
}

/**
 * How many procs the SV-15 index holds (SV-16): the ranks of the live proc
 * meshes owned here; 0 once every mesh has stopped.
 * @returns The count.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ownedProcCount } from "./registry.ts";
 * assertEquals(ownedProcCount(), 0);
 * ```
 */
export function ownedProcCount(): number {
  entries();
  return owned.size;
}

/**
 * Publishes a `HostLost` failure for every rank on `host` of every live
 * proc mesh owned here (SV-13). The entry point for host death detection.
 * @param host The host's front-end address.
 * @param reason Why the host is considered lost.
 * @returns How many failures were new.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { publishHostLost } from "./registry.ts";
 * assertEquals(publishHostLost("tcp:127.0.0.1:1", "no such host here"), 0);
 * ```
 */
export function publishHostLost(host: ChannelAddr | string, reason: string): number {
  const addr = host.toString();
  const text = `host ${addr} lost: ${reason}`;
  let published = 0;
  for (const { procMesh } of entries()) {
    procMesh.ranks().forEach((r, rank) => {
      if (r.procId.addr.toString() !== addr) return;
      const fresh = procMesh.supervisor.publish({
        kind: "HostLost",
        meshName: procMesh.name,
        rank,
        procId: r.procId.key,
        actorId: null,
        status: Status.failed(text),
        reason: text,
        stderrTail: [],
        occurredAt: Date.now(),
      });
      if (fresh) published++;
    });
  }
  return published;
}

/**
 * Closes the supervision of the proc meshes a teardown drained (SV-14).
 * @param filter `hostMeshId`: the meshes spawned on that host mesh; `hosts`:
 *   every mesh with a rank on one of those hosts.
 */
export function closeProcMeshes(filter: { hostMeshId?: string; hosts?: readonly string[] }): void {
  const hosts = new Set(filter.hosts ?? []);
  for (const e of entries()) {
    const onHost = e.procMesh.ranks().some((r) => hosts.has(r.procId.addr.toString()));
    if (e.hostMeshId === filter.hostMeshId || onHost) {
      e.procMesh.supervisor.close();
      retire(e);
    }
  }
}
