/**
 * hypermesh: supervised fleets of actor procs as real OS processes, on one
 * machine or many — the host / bootstrap / launcher / mesh layer of the
 * Monarch actor runtime, for Deno.
 *
 * This module is the everyday surface: what a program that runs meshes
 * writes against.
 * - **Meshes** — {@linkcode HostMesh} (owned hosts: `process`, `local`,
 *   `localInProcess`, `attach`), {@linkcode HostMeshRef},
 *   {@linkcode ProcMesh}, {@linkcode ActorMesh} (`cast`, and `call`
 *   for every rank's reply), shaped by
 *   {@linkcode Extent} / {@linkcode Region}; statuses come back as a
 *   {@linkcode ValueMesh}.
 * - **Actors** — {@linkcode context} (this process's client),
 *   {@linkcode registerActorType}, {@linkcode Actor}, {@linkcode Context},
 *   refs and ports, {@linkcode shutdownContext}.
 * - **Supervision and errors** — {@linkcode MeshFailure} (from
 *   `failures()`), restart policies ({@linkcode RestartPolicyInit},
 *   `restarts()`), {@linkcode HostLostError}, the spawn and stop errors,
 *   {@linkcode SendError} / {@linkcode AuthenticationError} of channels.
 * - **Channels** — {@linkcode serve} / {@linkcode dial} over
 *   {@linkcode ChannelAddr} (`local:`, `unix:`, `tcp:`, `tls:`), and
 *   {@linkcode WatchCell} for status.
 * - **Launchers** — {@linkcode NativeProcLauncher},
 *   {@linkcode SystemdProcLauncher}, {@linkcode BootstrapCommand},
 *   {@linkcode stopChild} (polite first, then forced).
 *
 * Each layer's whole API is its own entry point: `./config`, `./channel`,
 * `./actor`, `./host`, `./launcher`, `./bootstrap`, `./ndslice`, `./mesh`;
 * test helpers are `./testing`, the legacy v0 allocator protocol `./v0`, and
 * the command line / bootstrap child program `./main` (`bootstrap.ts`).
 *
 * ## Invariants (API-*)
 * - **API-1 (small root).** This module exports the everyday names only
 *   (60 to 90 of them): no message guards, wire types, test rigs or
 *   `_`-prefixed names.
 * - **API-2 (entry points resolve).** Every `exports` entry of `deno.json`
 *   is a module that resolves and documents what it exports.
 * - **API-3 (private is private).** Nothing declared in a folder-private `_`
 *   file is reachable from an entry point, and no public file re-exports
 *   one (`tests/api_surface_test.ts`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import {
 *   type Context,
 *   context,
 *   Extent,
 *   HostMesh,
 *   registerActorType,
 *   shutdownContext,
 * } from "./mod.ts";
 *
 * // Every process that may host the actor registers its type by name;
 * // a handler's return value is its reply to `call`/`ask`.
 * registerActorType("doc::Greeter", () => ({
 *   handlers: { Greet: (_cx: Context, msg: { name: string }) => `hello ${msg.name}` },
 * }));
 *
 * const cx = await context(); // this process's client: owner of the meshes it spawns
 * {
 *   // Leaving this block shuts the hosts down.
 *   await using hosts = await HostMesh.localInProcess({ hosts: 2 });
 *   const procs = await hosts.spawn(cx, "workers", Extent.of({ procs: 2 }));
 *   const greeters = await procs.spawn(cx, "greeter", "doc::Greeter", {});
 *   const replies = await greeters.call(cx, "Greet", { name: "mesh" }, { timeoutMs: 10_000 });
 *   assertEquals(replies.values(), ["hello mesh", "hello mesh", "hello mesh", "hello mesh"]);
 * }
 * await shutdownContext();
 * ```
 * @module
 */

// config: the knobs (`HYPERACTOR_*` / `HYPERMESH_*` attributes).
export { attrs, config } from "./config/mod.ts";

// channel: addresses, links, watch cells, their errors.
export {
  AuthenticationError,
  ChannelAddr,
  ChannelAddrParseError,
  ChannelError,
  ChannelProbeError,
  type ChannelServer,
  type ChannelTx,
  dial,
  type DialOptions,
  ForeignPeerError,
  SendError,
  serve,
  type Transport,
  type TxStatus,
  useUserSecret,
  WatchCell,
  WatchCellClosedError,
  type WatchOptions,
} from "./channel/mod.ts";

// actor: the client, actor types, refs and ports.
export {
  type Actor,
  ActorId,
  ActorParamsError,
  ActorRef,
  type ActorStatus,
  type ClientInstance,
  type Context,
  context,
  DuplicateActorNameError,
  type MessageEnvelope,
  OncePortReceiver,
  OncePortRef,
  PortClosedError,
  PortReceiver,
  PortRef,
  type PortRefData,
  Proc,
  ProcDestroyedError,
  ProcId,
  type RecvOptions,
  registerActorType,
  RequestError,
  type RequestOptions,
  setRootUndeliverableHook,
  shutdownContext,
  UnknownActorTypeError,
} from "./actor/mod.ts";

// launcher: starting and stopping the OS processes.
export {
  BootstrapCommand,
  NativeProcLauncher,
  type ProcLauncher,
  ProcLauncherError,
  stopChild,
  type StopOptions,
  type StopResult,
  SystemdProcLauncher,
  SystemdUnavailableError,
} from "./launcher/mod.ts";

// bootstrap: a proc's lifecycle status.
export { type ProcStatus, ProcStatusCell } from "./bootstrap/mod.ts";

// ndslice: the shapes meshes are laid out on.
export { Extent, Point, Region } from "./ndslice/mod.ts";

// mesh: hosts, procs and actors as meshes; supervision and its errors.
export {
  ActorMesh,
  ActorMeshStopError,
  ActorSpawnError,
  CallError,
  type CallOptions,
  type CallReplies,
  ConfigPushError,
  HostLostError,
  HostMesh,
  HostMeshRef,
  HostMeshRefParseError,
  type HostSpawnOptions,
  MeshConfigurationError,
  type MeshFailure,
  type MeshFailureKind,
  ProcCreationError,
  type ProcessOptions,
  ProcMesh,
  ProcMeshStopError,
  ProcNotExistError,
  ProcSpawnError,
  type RankRestartInfo,
  RestartPolicyError,
  type RestartPolicyInit,
  setUnhandledMeshFailureHook,
  type SpawnOptions,
  type StatusMesh,
  type TeardownReport,
  ValueMesh,
} from "./mesh/mod.ts";
