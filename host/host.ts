/**
 * `Host`: one front-end address for every proc on a machine.
 *
 * The host serves a front-end address `*` and a back-end address `#` (on the
 * manager's preferred transport). Every proc it spawns is addressed
 * `(*, name)`; the manager serves each proc at its own back-end address `#n`
 * and the proc forwards everything not addressed to itself to `#`. Both `*`
 * and `#` feed one forwarder ({@linkcode ProcOrDialSender}): envelopes for the
 * host's `service` proc are delivered in-process, everything else goes
 * through the host's {@linkcode DialMailboxRouter}, where `spawn` bound each
 * proc id to its address. In front of it, the cast relay
 * (`./cast_relay.ts`, CR-1..CR-4) expands a mesh cast's one message per host
 * into one copy per local rank, in order with everything else on the link.
 *
 * ```text
 *                      ┌────────────┐
 *                  ┌───▶  proc *,1  │
 *                  │ #1└────────────┘
 *  ┌──────────┐    │   ┌────────────┐
 *  │   Host   │◀───┼───▶  proc *,2  │
 * *└──────────┘#   │ #2└────────────┘
 *                  │   ┌────────────┐
 *                  └───▶  proc *,3  │
 *                    #3└────────────┘
 * ```
 *
 * ## Invariants (HO-*)
 * HO-1..HO-6 are listed in the layer's `mod.ts`.
 * Retired: HO-7, HO-8 (promises of the toy process manager and `bootProc`, now test fixtures).
 * - **HO-9 (bad peers never crash a host).** Garbage bytes, truncated or
 *   oversize frames, non-envelope messages and envelopes with nonsense
 *   addresses sent to the front-end address are dropped with their
 *   connection (CH-5) or bounced; the host keeps serving its procs and
 *   other clients.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { ChannelError } from "../channel/errors.ts";
import { checkAdvertisable } from "../channel/advertise.ts";
import { serve } from "../channel/mod.ts";
import type { ChannelServer } from "../channel/types.ts";
import { config } from "../config/config.ts";
import { HOST_SPAWN_READY_TIMEOUT } from "../config/attrs.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { ProcId } from "../actor/reference.ts";
import type { ActorRef } from "../actor/port.ts";
import type { Actor } from "../actor/types.ts";
import type { ClientInstance, Context } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { ProcOrDialSender } from "../actor/transport/proc_or_dial.ts";
import { CastRelaySender } from "./cast_relay.ts";
import { type MailboxServerHandle, serveMailbox } from "../actor/transport/mailbox_server.ts";
import type { StopOptions } from "../internal/stop_options.ts";
import { HostError } from "./errors.ts";
import type { ConfigOf, HandleOf, ManagerAgent, ProcHandle, ProcManager } from "./proc_handle.ts";
import {
  isBulkTerminate,
  isSingleTerminate,
  type SingleTerminate,
  type TerminateAllOptions,
  type TerminateProcResult,
  type TerminateSummary,
} from "./terminate.ts";

/** The name of the host's service (system) proc. */
export const SERVICE_PROC_NAME = "service";

/** The name of the host's in-process `local` proc ({@linkcode Host.localProc}). */
export const LOCAL_PROC_NAME = "local";

/** What {@linkcode Host.serve} returns. */
export interface HostServeResult<M> {
  /** The host. Dispose it when done (stops serving, disposes the manager). */
  host: Host<M>;
  /** The front-end mailbox server (the seed's `MailboxServerHandle`). */
  handle: MailboxServerHandle;
}

/** Options of {@linkcode Host.serve}. */
export interface HostServeOptions {
  /**
   * `tcp:`/`tls:` front-ends: listen on this address instead (e.g.
   * `tcp:0.0.0.0:26600`) while the host's identity stays the advertised
   * address (AD-3).
   */
  bind?: ChannelAddr | string;
}

/** What {@linkcode Host.spawn} returns. */
export interface SpawnedProc<A extends Actor = Actor> {
  /** `(host.addr, name)`. */
  procId: ProcId;
  /** The agent the manager installed in the proc. */
  agentRef: ActorRef<A>;
}

/**
 * Options of {@linkcode Host.terminateChildren}: the manager's
 * {@linkcode TerminateAllOptions} (per-child `graceMs`, `maxInFlight`,
 * `reason` — default `"host terminating children"` —, `signal`) plus the caller.
 */
export interface TerminateChildrenOptions extends TerminateAllOptions {
  /** The calling actor; default: a client instance of the service proc. */
  cx?: Context;
}

function toHostError(error: unknown): HostError {
  if (error instanceof HostError) return error;
  return HostError.channelError(error);
}

/**
 * A host managing the lifecycle and routing of several procs.
 *
 * @typeParam M The proc manager.
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../channel/addr.ts";
 * import { Host } from "./host.ts";
 * import { LocalProcManager } from "./local_proc_manager.ts";
 *
 * const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
 * const { host } = await Host.serve(manager, ChannelAddr.any("local"));
 * await using _host = host;
 * const { procId, agentRef } = await host.spawn("p1");
 * assertEquals(procId.toString(), `${host.addr},p1`);
 * assert(agentRef.actorId.procId.equals(procId));
 * ```
 */
export class Host<M> implements AsyncDisposable, SingleTerminate {
  readonly #procs = new Map<string, ChannelAddr>();
  readonly #pending = new Set<string>();
  readonly #frontendAddr: ChannelAddr;
  readonly #backendAddr: ChannelAddr;
  readonly #router: DialMailboxRouter;
  readonly #manager: M;
  readonly #serviceProc: Proc;
  readonly #forwarder: ProcOrDialSender;
  #localProc: Proc | undefined;
  readonly #frontend: MailboxServerHandle;
  readonly #backend: MailboxServerHandle;
  #client: ClientInstance | undefined;
  #disposing: Promise<void> | undefined;

  private constructor(
    manager: M,
    frontend: ChannelServer<MessageEnvelope>,
    backend: ChannelServer<MessageEnvelope>,
  ) {
    this.#manager = manager;
    this.#frontendAddr = frontend.addr;
    this.#backendAddr = backend.addr;
    // A cascade of routers: the outer forwarder delivers to the service proc,
    // everything else goes to the dial router (HO-2).
    this.#router = new DialMailboxRouter();
    const serviceId = new ProcId(frontend.addr, SERVICE_PROC_NAME); // HO-1
    this.#serviceProc = new Proc(serviceId, this.#router);
    const forwarder = new ProcOrDialSender(this.#router, [[serviceId, this.#serviceProc]]);
    this.#forwarder = forwarder;
    // CR-2: a cast forward is expanded as its frame is read, ahead of the next.
    const relay = new CastRelaySender(forwarder, serviceId);
    // Serve the same forwarder on both front-end and back-end addresses (HO-2).
    this.#backend = serveMailbox(backend, relay);
    this.#frontend = serveMailbox(frontend, relay);
  }

  /**
   * Serves a host for `manager` at `addr`: the front-end at `addr`, a back-end
   * at a fresh address on `manager.transport()`, and the `service` proc
   * `(frontend, "service")`.
   *
   * @param manager The proc manager (owned by the host from now on).
   * @param addr Where to serve the front-end (e.g. `ChannelAddr.any("unix")`):
   * the host's identity, so never `0.0.0.0`/`::` (AD-1); a name is kept (AD-2).
   * @param options `bind`: listen elsewhere than `addr` (AD-3).
   * @returns The host and the front-end server handle.
   * @throws {HostError} `ChannelError` when an address cannot be served, or
   * with an `UnadvertisableAddrError` cause for `0.0.0.0`/`::` (AD-1).
   * @tags allow-net, allow-read, allow-write
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ChannelAddr } from "../channel/addr.ts";
   * import { Host } from "./host.ts";
   * import { LocalProcManager } from "./local_proc_manager.ts";
   * const { host } = await Host.serve(
   *   new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} })),
   *   ChannelAddr.any("local"),
   * );
   * await using _ = host;
   * assertEquals(host.systemProc.procId.name, "service");
   * assertEquals(host.backendAddr.transport, "local");
   * ```
   */
  static async serve<M extends ProcManager<ProcHandle, unknown>>(
    manager: M,
    addr: ChannelAddr | string,
    options: HostServeOptions = {},
  ): Promise<HostServeResult<M>> {
    let frontend: ChannelServer<MessageEnvelope>;
    try {
      checkAdvertisable(typeof addr === "string" ? ChannelAddr.parse(addr) : addr); // AD-1
      frontend = await serve<MessageEnvelope>(addr, options);
    } catch (error) {
      throw toHostError(error);
    }
    let backend: ChannelServer<MessageEnvelope>;
    try {
      backend = await serve<MessageEnvelope>(ChannelAddr.any(manager.transport()));
    } catch (error) {
      await frontend.close();
      throw toHostError(error);
    }
    const host = new Host(manager, frontend, backend);
    return { host, handle: host.#frontend };
  }

  /** The underlying proc manager. */
  get manager(): M {
    return this.#manager;
  }

  /** The front-end address: every proc of this host is `(addr, name)`. */
  get addr(): ChannelAddr {
    return this.#frontendAddr;
  }

  /** The back-end address procs forward to. */
  get backendAddr(): ChannelAddr {
    return this.#backendAddr;
  }

  /** The service (system) proc, `(addr, "service")`. */
  get systemProc(): Proc {
    return this.#serviceProc;
  }

  /**
   * The host's in-process `local` proc `(addr, "local")` (the seed's
   * `Host::local_proc`), created on first use and routed like the service
   * proc; disposed with the host.
   */
  get localProc(): Proc {
    if (this.#localProc === undefined) {
      const id = new ProcId(this.#frontendAddr, LOCAL_PROC_NAME);
      this.#localProc = new Proc(id, this.#router);
      this.#forwarder.addLocal(id, this.#localProc);
    }
    return this.#localProc;
  }

  /** Spawned procs: name → the proc's own (back-end) address. */
  get procs(): ReadonlyMap<string, ChannelAddr> {
    return this.#procs;
  }

  /**
   * Spawns proc `name` through the manager, waits until it is Ready (bounded
   * by `HYPERACTOR_HOST_SPAWN_READY_TIMEOUT`, 0 = unbounded), and binds it in
   * the host router so it is reachable at `(host.addr, name)`.
   *
   * @param name The proc name (unique on this host).
   * @param config Manager-specific configuration.
   * @returns The proc id and its agent.
   * @throws {HostError} `ProcExists` (HO-3); the manager's spawn errors;
   * `ProcessConfigurationFailure` when the proc is not Ready in time, turns
   * terminal first, its lifecycle channel closes, or it is Ready without an
   * address or agent (HO-4).
   * @throws {TypeError} For an invalid proc name.
   */
  async spawn(
    name: string,
    config?: ConfigOf<M>,
  ): Promise<SpawnedProc<ManagerAgent<M>>> {
    if (this.#procs.has(name) || this.#pending.has(name)) throw HostError.procExists(name); // HO-3
    const procId = new ProcId(this.#frontendAddr, name);
    this.#pending.add(name);
    try {
      const manager = this.#manager as unknown as ProcManager<HandleOf<M>, unknown>;
      let handle: HandleOf<M>;
      try {
        handle = await manager.spawn(procId, this.#backendAddr, config);
      } catch (error) {
        if (error instanceof HostError) throw error;
        if (error instanceof ChannelError) throw HostError.channelError(error);
        throw HostError.processSpawnFailure(procId, error);
      }
      try {
        await awaitReady(handle, procId); // HO-4
        const addr = handle.addr();
        if (addr === undefined) {
          throw HostError.processConfigurationFailure(
            procId,
            "proc reported Ready but no addr() available",
          );
        }
        const agentRef = handle.agentRef();
        if (agentRef === undefined) {
          throw HostError.processConfigurationFailure(
            procId,
            "proc reported Ready but no agent_ref() available",
          );
        }
        this.#router.bind(procId, addr);
        this.#router.prime(addr); // CH-10: the first message (a cast, or StopAll) finds the link up
        this.#procs.set(name, addr);
        return { procId, agentRef: agentRef as ActorRef<ManagerAgent<M>> };
      } catch (error) {
        // HO-4: a proc that never became usable is not left running.
        await handle.kill("host spawn failed").catch(() => {});
        throw error;
      }
    } finally {
      this.#pending.delete(name);
    }
  }

  /**
   * Forgets a proc that has terminated (HA-14): its route (and any cached
   * link to its address), its name, and what the manager keeps about it
   * (`release` capability). Messages for it then bounce as for any unknown
   * proc. Call it for a terminated proc only: a manager with the `release`
   * capability refuses a live one (and then nothing is forgotten).
   * @param name The proc's name.
   * @returns Whether the proc was forgotten.
   */
  releaseProc(name: string): boolean {
    if (!this.#procs.has(name)) return false;
    const procId = new ProcId(this.#frontendAddr, name);
    const manager = this.#manager as unknown as { release?(procId: ProcId): boolean };
    if (manager.release !== undefined && !manager.release(procId)) return false;
    this.dropLink(name);
    this.#router.unbind(procId);
    this.#procs.delete(name);
    return true;
  }

  /**
   * Retires the route to a terminated proc (HA-14): its cached link (socket
   * and buffers) is closed and its binding removed, so a late message for it
   * bounces at once as for any unknown proc instead of redialing a dead
   * socket. Its name stays taken until {@linkcode Host.releaseProc}.
   * Harmless for an unknown name.
   * @param name The proc's name.
   * @returns Whether a link was cached.
   */
  dropLink(name: string): boolean {
    const addr = this.#procs.get(name);
    if (addr === undefined) return false;
    const had = this.#router.evict(addr);
    this.#router.unbind(new ProcId(this.#frontendAddr, name));
    return had;
  }

  /**
   * Gracefully terminates every proc of this host through the manager's
   * `terminateAll` (polite stop, wait `graceMs`, then force).
   *
   * @param options Per-child `graceMs` (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `maxInFlight` (HO-5, default
   * `HYPERACTOR_MESH_TERMINATE_CONCURRENCY`), `reason`, `signal` (forces what
   * is left at once and rejects with its reason), the calling actor.
   * @returns Counts of attempted / ok / failed terminations.
   * @throws {TypeError} When the manager does not implement `BulkTerminate`.
   */
  async terminateChildren(options: TerminateChildrenOptions = {}): Promise<TerminateSummary> {
    const manager = this.#manager;
    if (!isBulkTerminate(manager)) {
      throw new TypeError("Invalid manager: it does not implement BulkTerminate");
    }
    const { cx, ...rest } = options;
    return await manager.terminateAll(cx ?? this.#cx(), {
      ...rest,
      reason: options.reason ?? "host terminating children",
    });
  }

  /**
   * Terminates one proc through the manager's `terminateProc`.
   * @param cx The calling actor.
   * @param procId The proc.
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason`, `signal` (forces at once and rejects with its reason).
   * @returns The actors stopped politely and those aborted.
   * @throws {TypeError} When the manager does not implement `SingleTerminate`.
   * @throws {Error} The manager's errors (unknown proc…).
   */
  async terminateProc(
    cx: Context,
    procId: ProcId,
    options: StopOptions = {},
  ): Promise<TerminateProcResult> {
    const manager = this.#manager;
    if (!isSingleTerminate(manager)) {
      throw new TypeError("Invalid manager: it does not implement SingleTerminate");
    }
    return await manager.terminateProc(cx, procId, options);
  }

  #cx(): Context {
    this.#client ??= this.#serviceProc.instance("host_terminator");
    return this.#client;
  }

  /**
   * Stops serving the front-end, destroys the service proc, disposes the
   * manager (which kills what it still owns), stops serving the back-end and
   * closes the router's links. Idempotent.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    // No new external traffic; the service proc goes while its links to the
    // children are still live (its destroy flushes them), then the children
    // (while the back-end still accepts their last flushes), then the
    // back-end and the router's links.
    this.#frontend.stop("host disposed");
    await this.#frontend.done;
    this.#client?.[Symbol.dispose]();
    await this.#localProc?.[Symbol.asyncDispose]();
    await this.#serviceProc[Symbol.asyncDispose]();
    const dispose = (this.#manager as Partial<AsyncDisposable>)[Symbol.asyncDispose];
    if (typeof dispose === "function") await dispose.call(this.#manager);
    this.#backend.stop("host disposed");
    await this.#backend.done;
    await this.#router.close();
  }
}

async function awaitReady(handle: ProcHandle, procId: ProcId): Promise<void> {
  const timeoutMs = config.get(HOST_SPAWN_READY_TIMEOUT);
  const fail = (cause: unknown) => HostError.processConfigurationFailure(procId, cause);
  if (timeoutMs === 0) {
    await handle.ready().catch((error) => {
      throw fail(error);
    });
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(fail(`timeout waiting for Ready after ${timeoutMs}ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([
      handle.ready().catch((error) => {
        throw fail(error);
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
