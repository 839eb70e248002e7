/**
 * hypermesh: supervised fleets of actor procs as real OS processes, on one
 * machine or many — the host / bootstrap / launcher / mesh layer of the
 * Monarch actor runtime, for Deno.
 *
 * Layers, bottom up (each re-exported here):
 * - **config** — typed attributes (`HYPERACTOR_*` env vars), layered sources.
 * - **channel** — addresses, `serve`/`dial` over local, unix and tcp links
 *   with sessions, acks and reconnects; `WatchCell`.
 * - **actor** — ids, envelopes, mailboxes and routers, `Proc`, actors,
 *   ports, supervision, the actor type registry, `context()`.
 * - **host** — `Host` (front/back-end muxing), `ProcManager`/`ProcHandle`,
 *   local and process managers.
 * - **launcher** — `ProcLauncher`, `BootstrapCommand`, `ProcBind`, the
 *   native (`Deno.Command`) and systemd (D-Bus) launchers.
 * - **bootstrap** — bootstrap modes, `ProcStatus`, `BootstrapProcManager`,
 *   the child-side `bootstrap()`, parent-death guard, log forwarding.
 * - **mesh** — extents and regions, the resource protocol, proc and host
 *   agents, `ProcMesh`/`ActorMesh`, `HostMesh`/`HostMeshRef`, admin.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Extent, HostMeshRef, Region } from "./mod.ts";
 *
 * const ref = HostMeshRef.parse("test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1");
 * assertEquals(ref.range("replica", 1).toString(), "test:local:3,local:4@2+replica=1/2,host=2/1");
 * assertEquals(Region.fromExtent(Extent.of({ hosts: 2 })).toString(), "hosts=2/1");
 * ```
 * @module
 */

export * from "./config/mod.ts";
export * from "./channel/mod.ts";
export * from "./actor/mod.ts";
export * from "./host/mod.ts";
export * from "./launcher/mod.ts";
export * from "./bootstrap/mod.ts";
export * from "./mesh/mod.ts";
