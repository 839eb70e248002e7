/**
 * `LocalProcManager`: procs that run **in this OS process** (tests, demos).
 *
 * There is no child process to signal; the lifecycle is proc-level:
 * `terminate(cx, { graceMs })` is `proc.destroyAndWait({ graceMs })` (drain,
 * then abort at the deadline; an aborted `signal` escalates at once), `kill()`
 * is `destroyAndWait({ graceMs: 0 })` (abort at once),
 * `ready()` and `wait()` resolve immediately (a local proc is usable as soon as
 * its handle exists and has no external lifecycle to observe).
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { WatchCell } from "../channel/watch_cell.ts";
import { serve } from "../channel/mod.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/types.ts";
import type { ActorRef } from "../actor/port.ts";
import type { Context } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import type { DestroyResult } from "../actor/types.ts";
import { MailboxClient } from "../actor/transport/mailbox_client.ts";
import { serveMailbox } from "../actor/transport/mailbox_server.ts";
import type { WatchOptions } from "../channel/watch_cell.ts";
import { config } from "../config/config.ts";
import { MESH_TERMINATE_CONCURRENCY, MESH_TERMINATE_TIMEOUT } from "../config/attrs.ts";
import { raceAbort } from "../internal/abort.ts";
import { forceOnAbort, type StopOptions } from "../internal/stop_options.ts";
import { HostError } from "./errors.ts";
import { type AgentSpawner, spawnAgent } from "./agent.ts";
import { type ProcHandle, type ProcManager, TerminateError } from "./proc_handle.ts";
import {
  type BulkTerminate,
  bulkTerminate,
  type SingleTerminate,
  type TerminateAllOptions,
  type TerminateProcResult,
  type TerminateSummary,
} from "./terminate.ts";

/**
 * The lifecycle status of a local proc, as {@linkcode LocalProcManager}'s
 * `status` / `watch` report it.
 */
export type LocalProcStatus = "Running" | "Stopping" | "Stopped";

/** Shared lifecycle record of one local proc (shared by every handle of it; internal). */
export interface LocalEntry {
  /** The proc. */
  readonly proc: Proc;
  /** Its status, when its manager publishes one (`Stopping`, then `Stopped` and closed). */
  readonly status?: WatchCell<LocalProcStatus>;
  /** The first stop in flight or finished (HO-6: later callers coalesce on it). */
  stopping?: Promise<DestroyResult>;
  /** A zero-deadline escalation issued while a polite stop was in flight. */
  killing?: Promise<DestroyResult>;
  /** Set once the stop finished. */
  done: boolean;
}

/** Publishes `Stopped` on `cell` and closes it (no-op when closed or absent). */
function closeStopped(cell: WatchCell<LocalProcStatus> | undefined): void {
  if (cell === undefined || cell.closed) return;
  cell.set("Stopped");
  cell.close();
}

/** Default reason given to actors stopped by a local terminate/kill. */
const DEFAULT_REASON = "proc terminated";

/**
 * Stops the proc of `entry`, coalescing with a stop already in flight (HO-6):
 * the first caller starts `destroyAndWait({ graceMs })`; concurrent callers share
 * its promise; a zero deadline while a polite stop is in flight escalates
 * (aborts the remaining actors at once) and everybody observes the same end.
 */
function stopEntry(
  live: Map<string, LocalEntry>,
  entry: LocalEntry,
  graceMs: number,
  reason: string,
): Promise<DestroyResult> {
  if (entry.stopping === undefined) {
    live.delete(entry.proc.procId.key);
    if (!entry.status?.closed) entry.status?.set("Stopping");
    entry.stopping = entry.proc.destroyAndWait({ graceMs, reason }).finally(() => {
      entry.done = true;
      closeStopped(entry.status);
    });
    return entry.stopping;
  }
  if (graceMs === 0 && !entry.done && entry.killing === undefined) {
    entry.killing = entry.proc.destroyAndWait({ graceMs: 0, reason }); // HO-6: escalate
  }
  const first = entry.stopping;
  return entry.killing === undefined ? first : entry.killing.then(() => first);
}

/**
 * The handle of an in-process proc. Its terminal status is `undefined` (the
 * seed's `()`).
 *
 * @typeParam A The agent actor type.
 */
export class LocalHandle<A extends Actor = Actor> implements ProcHandle<void, A> {
  /** The proc's id. */
  readonly procId: ProcId;
  readonly #addr: ChannelAddr;
  readonly #agentRef: ActorRef<A>;
  readonly #entry: LocalEntry | undefined;
  readonly #live: Map<string, LocalEntry>;

  /**
   * Normally created by {@linkcode LocalProcManager.spawn}.
   * @param procId The proc's id.
   * @param parts `addr`, the proc's own address; `agentRef`, its agent;
   * `entry`, the shared lifecycle record (omitted: the proc is treated as
   * already gone, as in the seed's handle over an empty map); `live`, the
   * manager's live-proc table.
   */
  constructor(
    procId: ProcId,
    parts: {
      addr: ChannelAddr;
      agentRef: ActorRef<A>;
      entry?: LocalEntry;
      live?: Map<string, LocalEntry>;
    },
  ) {
    this.procId = procId;
    this.#addr = parts.addr;
    this.#agentRef = parts.agentRef;
    this.#entry = parts.entry;
    this.#live = parts.live ?? new Map();
  }

  /**
   * The proc's address.
   * @returns The proc's own address (always known).
   */
  addr(): ChannelAddr {
    return this.#addr;
  }

  /**
   * The proc's agent.
   * @returns The agent (always known).
   */
  agentRef(): ActorRef<A> {
    return this.#agentRef;
  }

  /**
   * Waits until the proc is Ready.
   * @param options `signal` (an aborted one rejects with its reason).
   * @returns Resolves immediately: a local proc is usable once its handle exists.
   */
  ready(options: WatchOptions = {}): Promise<void> {
    return raceAbort(Promise.resolve(), options.signal);
  }

  /**
   * Waits for the proc's terminal status.
   * @param options `signal` (an aborted one rejects with its reason).
   * @returns Resolves immediately: there is no external lifecycle to observe.
   */
  wait(options: WatchOptions = {}): Promise<void> {
    return raceAbort(Promise.resolve(), options.signal);
  }

  /**
   * Drains the proc's actors, aborting what is left after `graceMs` (HO-6:
   * concurrent calls coalesce).
   * @param _cx The calling actor (unused).
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason` (default `"proc terminated"`), `signal` (aborts what is left at
   * once and rejects with its reason).
   * @returns Resolves once the proc is down.
   * @throws {TerminateError} `AlreadyTerminated` after an earlier stop finished;
   * `Io` when destroying fails.
   */
  terminate(_cx: Context, options: StopOptions = {}): Promise<void> {
    const { graceMs = config.get(MESH_TERMINATE_TIMEOUT), reason = DEFAULT_REASON } = options;
    return this.#stop(graceMs, reason, options.signal);
  }

  /**
   * Aborts the proc's actors at once (a zero deadline); escalates a terminate
   * in flight.
   * @param reason Why.
   * @returns Resolves once the proc is down.
   * @throws {TerminateError} As for `terminate`.
   */
  kill(reason = "proc killed"): Promise<void> {
    return this.#stop(0, reason);
  }

  async #stop(graceMs: number, reason: string, signal?: AbortSignal): Promise<void> {
    const entry = this.#entry;
    if (entry === undefined || entry.done) throw TerminateError.alreadyTerminated(undefined);
    const stopping = stopEntry(this.#live, entry, graceMs, reason).catch((error) => {
      throw TerminateError.io(error);
    });
    await forceOnAbort(stopping, () => stopEntry(this.#live, entry, 0, reason), signal);
  }
}

/**
 * A manager of in-process procs. Each proc forwards to the host back-end
 * through a mailbox client, is served on a fresh address of the back-end's
 * transport, and gets its agent from the spawn function.
 *
 * @typeParam A The agent actor type.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../channel/addr.ts";
 * import { Host } from "./host.ts";
 * import { LocalProcManager } from "./local_proc_manager.ts";
 *
 * const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
 * const { host } = await Host.serve(manager, ChannelAddr.any("local"));
 * await using _ = host;
 * await host.spawn("a");
 * await host.spawn("b");
 * const summary = await host.terminateChildren({ graceMs: 1_000, maxInFlight: 1 });
 * assertEquals(String(summary), "attempted=2 ok=2 failed=0");
 * ```
 */
export class LocalProcManager<A extends Actor = Actor>
  implements
    ProcManager<LocalHandle<A>, void, LocalProcStatus>,
    BulkTerminate,
    SingleTerminate,
    AsyncDisposable {
  readonly #spawn: AgentSpawner<A>;
  readonly #live = new Map<string, LocalEntry>();
  readonly #statuses = new Map<string, WatchCell<LocalProcStatus>>();
  readonly #owned: Proc[] = [];
  #disposed = false;

  /**
   * Creates the instance.
   * @param spawn Boots the agent of each new proc.
   */
  constructor(spawn: AgentSpawner<A>) {
    if (typeof spawn !== "function") throw new TypeError(`Invalid spawn function: ${spawn}`);
    this.#spawn = spawn;
  }

  /** Live (not yet terminated) procs by proc key. */
  get procs(): ReadonlyMap<string, Proc> {
    return new Map([...this.#live].map(([key, entry]) => [key, entry.proc]));
  }

  /**
   * The preferred transport.
   * @returns `"local"`.
   */
  transport(): "local" {
    return "local";
  }

  /**
   * Creates proc `procId` forwarding to `forwarderAddr`, serves it on a fresh
   * address of the same transport and boots its agent.
   * @param procId The proc's id.
   * @param forwarderAddr The host back-end.
   * @returns Its handle.
   * @throws {HostError} `ChannelError` when serving/dialing fails;
   * `AgentSpawnFailure` when the agent cannot be spawned.
   */
  async spawn(procId: ProcId, forwarderAddr: ChannelAddr): Promise<LocalHandle<A>> {
    if (this.#disposed) throw HostError.processSpawnFailure(procId, "manager disposed");
    let client: MailboxClient;
    try {
      client = MailboxClient.dial(forwarderAddr);
    } catch (error) {
      throw HostError.channelError(error);
    }
    const proc = new Proc(procId, client);
    let server;
    try {
      server = await serve<MessageEnvelope>(ChannelAddr.any(forwarderAddr.transport));
    } catch (error) {
      await client.close();
      throw HostError.channelError(error);
    }
    const serving = serveMailbox(server, proc);
    proc.addDisposer(async () => {
      serving.stop("proc disposed");
      await serving.done;
      await client.close();
    });
    this.#owned.push(proc);
    const status = new WatchCell<LocalProcStatus>("Running");
    const entry: LocalEntry = { proc, done: false, status };
    this.#live.set(procId.key, entry);
    let agentRef: ActorRef<A>;
    try {
      agentRef = await spawnAgent(this.#spawn, proc);
    } catch (error) {
      this.#live.delete(procId.key);
      closeStopped(status);
      await proc[Symbol.asyncDispose]();
      throw HostError.agentSpawnFailure(procId, error);
    }
    closeStopped(this.#statuses.get(procId.key)); // a former proc of the same id
    this.#statuses.set(procId.key, status);
    return new LocalHandle(procId, {
      addr: server.addr,
      agentRef,
      entry,
      live: this.#live,
    });
  }

  /**
   * Terminates every live proc (HO-5: at most `maxInFlight` at a time).
   * @param _cx The calling actor (unused).
   * @param options Per-proc `graceMs` (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `maxInFlight` (default
   * `HYPERACTOR_MESH_TERMINATE_CONCURRENCY`), `reason`, `signal` (aborts
   * what is left at once and rejects with its reason).
   * @returns The counts.
   */
  terminateAll(_cx: Context, options: TerminateAllOptions = {}): Promise<TerminateSummary> {
    const {
      graceMs = config.get(MESH_TERMINATE_TIMEOUT),
      maxInFlight = config.get(MESH_TERMINATE_CONCURRENCY),
      reason = DEFAULT_REASON,
      signal,
    } = options;
    const entries = [...this.#live.values()];
    const stopOne = (entry: LocalEntry) =>
      stopEntry(this.#live, entry, signal?.aborted ? 0 : graceMs, reason);
    const forceAll = () => entries.forEach((entry) => stopOne(entry).catch(() => {}));
    return forceOnAbort(bulkTerminate(entries, stopOne, { maxInFlight }), forceAll, signal);
  }

  /**
   * Terminates one live proc.
   * @param _cx The calling actor (unused).
   * @param procId The proc.
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason`, `signal` (aborts what is left at once and rejects with its reason).
   * @returns The actors stopped and aborted.
   * @throws {Error} When the proc is unknown or already terminated.
   */
  async terminateProc(
    _cx: Context,
    procId: ProcId,
    options: StopOptions = {},
  ): Promise<TerminateProcResult> {
    const { graceMs = config.get(MESH_TERMINATE_TIMEOUT), reason = DEFAULT_REASON } = options;
    const entry = this.#live.get(procId.key);
    if (entry === undefined) throw new Error(`Cannot terminate proc ${procId}: it doesn't exist`);
    const stopping = stopEntry(this.#live, entry, graceMs, reason);
    return await forceOnAbort(
      stopping,
      () => stopEntry(this.#live, entry, 0, reason),
      options.signal,
    );
  }

  /**
   * Asks one live proc to stop and returns at once (the `requestStop`
   * capability of `ProcManager`); unknown or stopped procs are ignored.
   * @param _cx The calling actor (unused).
   * @param procId The proc.
   * @param options `graceMs` before aborting (default
   * `HYPERACTOR_MESH_TERMINATE_TIMEOUT`), `reason`; `signal` aborts the grace.
   */
  requestStop(_cx: Context, procId: ProcId, options: StopOptions = {}): void {
    const entry = this.#live.get(procId.key);
    if (entry === undefined) return;
    const { graceMs = config.get(MESH_TERMINATE_TIMEOUT), reason = DEFAULT_REASON } = options;
    const stopping = stopEntry(this.#live, entry, graceMs, reason);
    forceOnAbort(stopping, () => stopEntry(this.#live, entry, 0, reason), options.signal)
      .catch(() => {});
  }

  /**
   * The status of a proc spawned here (the `status` capability of
   * `ProcManager`): `Running`, `Stopping` once a stop began, `Stopped` after.
   * @param procId The proc.
   * @returns Its status, or `undefined` when it was never spawned here.
   */
  status(procId: ProcId): LocalProcStatus | undefined {
    return this.#statuses.get(procId.key)?.get();
  }

  /**
   * The status stream of a proc spawned here (the `watch` capability of
   * `ProcManager`): its current status, then every change, ending after
   * `Stopped`.
   * @param procId The proc.
   * @param options Cancellation.
   * @returns The stream, or `undefined` when it was never spawned here.
   */
  watch(
    procId: ProcId,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<LocalProcStatus, void, undefined> | undefined {
    return this.#statuses.get(procId.key)?.watch(options);
  }

  /**
   * Forgets a stopped proc's status cell (the `release` capability of
   * `ProcManager`, HA-14). A live or unknown proc is left alone.
   * @param procId The proc.
   * @returns Whether it was dropped.
   */
  release(procId: ProcId): boolean {
    const cell = this.#statuses.get(procId.key);
    if (cell === undefined || this.#live.has(procId.key) || cell.get() !== "Stopped") return false;
    closeStopped(cell);
    this.#statuses.delete(procId.key);
    return true;
  }

  /** Destroys every proc this manager created and stops serving them. Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    const procs = this.#owned.splice(0);
    this.#live.clear();
    await Promise.all(procs.map((proc) => proc[Symbol.asyncDispose]()));
    for (const cell of this.#statuses.values()) closeStopped(cell);
  }
}
