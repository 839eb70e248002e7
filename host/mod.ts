/**
 * Hosts and proc managers (port of Monarch's `hyperactor::host`).
 *
 * A {@linkcode Host} is the single front-end of every proc on a machine: it
 * serves a front-end address `*`, a back-end address `#` on the manager's
 * preferred transport, and a `service` proc `(*, "service")`; procs are
 * addressed `(*, name)` and bound in the host router to their own addresses.
 * The procs themselves are created by a {@linkcode ProcManager}:
 * {@linkcode LocalProcManager} runs them in this process, the bootstrap
 * layer's `BootstrapProcManager` runs each in a child process. Managers
 * return a {@linkcode ProcHandle} per proc and may implement
 * {@linkcode SingleTerminate} / {@linkcode BulkTerminate}.
 *
 * ## Invariants (HO-*)
 * - **HO-1 (addressing).** The service proc is `(host.addr, "service")`; a
 *   spawned proc is `(host.addr, name)`.
 * - **HO-2 (one forwarder).** Front-end and back-end feed the same
 *   forwarder: the service proc in-process, everything else through the
 *   host's dial router.
 * - **HO-3 (unique names).** `spawn` of a name that exists or is being
 *   spawned rejects with `HostError` `ProcExists` before the manager is asked.
 * - **HO-4 (ready or rejected).** `spawn` resolves only after the handle is
 *   Ready (bounded by `HYPERACTOR_HOST_SPAWN_READY_TIMEOUT`, 0 = unbounded)
 *   and has an address and an agent, and only then binds the proc; any other
 *   outcome is `ProcessConfigurationFailure`, the handle is killed (best
 *   effort) and the name released.
 * - **HO-5 (bounded bulk).** Bulk termination runs at most
 *   `max(1, maxInFlight)` terminations at a time and counts
 *   `AlreadyTerminated` as success.
 * - **HO-6 (coalesced stop).** Concurrent `terminate()`/`kill()` calls on one
 *   local proc share one stop; a kill escalates a terminate in flight; after
 *   the stop finished, further calls reject with `AlreadyTerminated`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../channel/addr.ts";
 * import { EchoActor } from "./testing.ts";
 * import { Host, LocalProcManager } from "./mod.ts";
 *
 * const manager = new LocalProcManager((proc) => proc.spawn("echo", new EchoActor()));
 * const { host } = await Host.serve(manager, ChannelAddr.any("local"));
 * await using _ = host;
 * const { agentRef } = await host.spawn("p1");
 * using client = host.systemProc.instance("client");
 * const { ref, receiver } = client.openOncePort<string>();
 * agentRef.send(client, "Echo", ref);
 * assertEquals(await receiver.recv(), agentRef.actorId.toString());
 * ```
 * @module
 */

export * from "./errors.ts";
export * from "./proc_handle.ts";
export * from "./terminate.ts";
export * from "./host.ts";
export type { AgentSpawner } from "./agent.ts";
export * from "./local_proc_manager.ts";
export type { StopOptions } from "../internal/stop_options.ts";
