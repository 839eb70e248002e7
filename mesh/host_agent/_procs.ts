/**
 * Folder-private: the host agent's proc records and status waiters — what
 * `GetRankStatus`, `WaitRankStatus`, `GetState` and `Introspect` answer from.
 *
 * A record is created by `CreateOrUpdate` and stays `creating` until its
 * spawn settled; rank-status queries arriving meanwhile are deferred and
 * answered when it settles, so a caller fencing on rank statuses never sees
 * a proc before it is routable. Waiters for a name not yet created are kept
 * and handed to the record when it is.
 *
 * ## Invariants (HA-*)
 * Enforced here, promised by `host_agent.ts`:
 * - **HA-11 (floors).** Reported statuses are raised to `Stopping` while
 *   draining and to `Stopped` after shutdown (`clampMin`).
 * - **HA-14 (bounded records).** The agent keeps the records of at most
 *   `HYPERMESH_HOST_RETAINED_EXITED_PROCS` (default 64) terminated procs;
 *   beyond that it forgets the oldest — record, route, cached link and the
 *   manager's state (`Host.releaseProc`) — so a host that serves client
 *   after client stays bounded. A forgotten proc answers as unknown. The
 *   cached link to a proc closes as soon as it terminates (`Host.dropLink`).
 * @module
 */

import type { Context } from "../../actor/types.ts";
import type { PortRefData } from "../../actor/port.ts";
import type { ProcId } from "../../actor/reference.ts";
import type { GetRankStatus, State, WaitRankStatus } from "../resource/protocol.ts";
import { StatusOverlay } from "../resource/overlay.ts";
import { compareStatus, isTerminated, Status } from "../resource/status.ts";
import { config } from "../../config/config.ts";
import { HOST_RETAINED_EXITED_PROCS } from "../../config/attrs.ts";
import type { HostInfo, ProcSpec, ProcState } from "./protocol.ts";
import type { HostAgentState } from "./state.ts";
import type { ProcBackend } from "./backend.ts";

/** A pending `WaitRankStatus`. */
export interface Waiter {
  /** The status to reach. */
  minStatus: Status;
  /** The reply port. */
  reply: string;
}

/** What the agent knows about one proc. */
export interface ProcRecord {
  name: string;
  createRank: number;
  spec: ProcSpec;
  procId?: ProcId;
  agent: string | null;
  creating: boolean;
  status: Status;
  raw: ProcState["procStatus"];
  generation: number;
  deferred: string[];
  waiters: Waiter[];
  stopRequested?: string;
  unobserve?: () => void;
  expiresAt?: number;
  /** A stop, drain or shutdown was asked for: the exit is not a failure (SV-11). */
  exitExpected?: boolean;
}

/**
 * Sends `value` to `port` without undeliverable returns.
 * @param cx The sender.
 * @param port The reply port id.
 * @param value The reply.
 */
export function reply<M>(cx: Context, port: string, value: M): void {
  const ref: PortRefData<M> = { port, returnUndeliverable: false };
  try {
    cx.send(ref, value);
  } catch {
    // a malformed reply port only loses this reply
  }
}

/** The agent's proc records by name, with their waiters. */
export class ProcTable {
  readonly #state: HostAgentState;
  readonly #backend: ProcBackend;
  readonly #records = new Map<string, ProcRecord>();
  readonly #unknownWaiters = new Map<string, Waiter[]>();
  /** Names of terminated records, oldest first (HA-14). */
  readonly #exited = new Set<string>();

  /**
   * Creates an empty table.
   * @param state The agent state (its floor applies to reported statuses).
   * @param backend The backend (its host address names unspawned procs).
   */
  constructor(state: HostAgentState, backend: ProcBackend) {
    this.#state = state;
    this.#backend = backend;
  }

  /** The number of records. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * @param name The proc name.
   * @returns Its record, if known.
   */
  get(name: string): ProcRecord | undefined {
    return this.#records.get(name);
  }

  /**
   * @param name The proc name.
   * @returns Whether a record exists.
   */
  has(name: string): boolean {
    return this.#records.has(name);
  }

  /** @returns A snapshot of every record. */
  records(): ProcRecord[] {
    return [...this.#records.values()];
  }

  /** @returns Every known name. */
  names(): string[] {
    return [...this.#records.keys()];
  }

  /**
   * Adds a `creating` record, adopting the waiters already parked on `name`.
   * @param name The proc name.
   * @param rank Its create rank.
   * @param spec Its spec.
   * @returns The record.
   */
  add(name: string, rank: number, spec: ProcSpec): ProcRecord {
    const rec: ProcRecord = {
      name,
      createRank: rank,
      spec,
      agent: null,
      creating: true,
      status: Status.Initializing,
      raw: null,
      generation: 1,
      deferred: [],
      waiters: this.#unknownWaiters.get(name) ?? [],
    };
    this.#unknownWaiters.delete(name);
    this.#records.set(name, rec);
    return rec;
  }

  /**
   * Stops observing `rec` and drops it.
   * @param rec The record.
   */
  forget(rec: ProcRecord): void {
    rec.unobserve?.();
    this.#records.delete(rec.name);
    this.#exited.delete(rec.name);
  }

  /** Stops observing every record. */
  unobserveAll(): void {
    for (const rec of this.#records.values()) rec.unobserve?.();
  }

  /**
   * @param rec The record.
   * @returns Its status, raised to the agent state's floor.
   */
  reported(rec: ProcRecord): Status {
    return this.#state.floor(rec.status); // HA-11
  }

  /**
   * Ends `rec`'s creation with `status` and answers what waited on it.
   * @param cx The agent.
   * @param rec The record.
   * @param status The settled status.
   */
  settle(cx: Context, rec: ProcRecord, status: Status): void {
    rec.creating = false;
    this.update(cx, rec, status);
    this.flushDeferred(cx, rec);
  }

  /**
   * Records a new status (bumping the generation on change) and answers the
   * waiters it satisfies.
   * @param cx The agent.
   * @param rec The record.
   * @param status The new status.
   */
  update(cx: Context, rec: ProcRecord, status: Status): void {
    if (compareStatus(status, rec.status) !== 0) rec.generation++;
    rec.status = status;
    this.checkWaiters(cx, rec);
    if (isTerminated(status) && !rec.creating) this.#retire(rec);
  }

  /** HA-14: keeps the newest terminated records; forgets the oldest beyond the bound. */
  #retire(rec: ProcRecord): void {
    if (this.#exited.has(rec.name)) return;
    this.#exited.add(rec.name);
    this.#backend.host.dropLink(rec.name); // its socket and buffers go now
    const keep = Math.max(0, config.get(HOST_RETAINED_EXITED_PROCS));
    for (const name of this.#exited) {
      if (this.#exited.size <= keep) break;
      this.#exited.delete(name);
      const old = this.#records.get(name);
      if (old === undefined || !isTerminated(old.status) || old.waiters.length > 0) continue;
      this.forget(old);
      this.#backend.host.releaseProc(name);
    }
  }

  /**
   * Answers the rank-status queries deferred during creation, then the waiters.
   * @param cx The agent.
   * @param rec The record.
   */
  flushDeferred(cx: Context, rec: ProcRecord): void {
    for (const port of rec.deferred.splice(0)) this.#sendRankStatus(cx, rec, port);
    this.checkWaiters(cx, rec);
  }

  /**
   * Answers (and drops) every waiter the reported status satisfies; nothing
   * while the record is still creating.
   * @param cx The agent.
   * @param rec The record.
   */
  checkWaiters(cx: Context, rec: ProcRecord): void {
    if (rec.creating) return;
    const status = this.reported(rec);
    rec.waiters = rec.waiters.filter((w) => {
      if (compareStatus(status, w.minStatus) < 0) return true;
      reply(cx, w.reply, StatusOverlay.single(rec.createRank, status).toJSON());
      return false;
    });
  }

  /**
   * Handles `GetRankStatus`: empty for an unknown name, deferred while creating.
   * @param cx The agent.
   * @param msg The query.
   */
  getRankStatus(cx: Context, msg: GetRankStatus): void {
    const rec = this.#records.get(msg.name);
    if (rec === undefined) reply(cx, msg.reply, new StatusOverlay().toJSON());
    else if (rec.creating) rec.deferred.push(msg.reply);
    else this.#sendRankStatus(cx, rec, msg.reply);
  }

  /**
   * Handles `WaitRankStatus`: parks the waiter (on the name when unknown).
   * @param cx The agent.
   * @param msg The query.
   */
  waitRankStatus(cx: Context, msg: WaitRankStatus): void {
    const waiter = { minStatus: msg.minStatus, reply: msg.reply };
    const rec = this.#records.get(msg.name);
    if (rec === undefined) {
      const list = this.#unknownWaiters.get(msg.name) ?? [];
      list.push(waiter);
      this.#unknownWaiters.set(msg.name, list);
      return;
    }
    rec.waiters.push(waiter);
    this.checkWaiters(cx, rec);
  }

  /**
   * @param name The proc name.
   * @returns Its resource state (`NotExist` when unknown).
   */
  stateOf(name: string): State<ProcState> {
    const rec = this.#records.get(name);
    if (rec === undefined) {
      return {
        kind: "State",
        name,
        status: Status.NotExist,
        state: null,
        generation: 0,
        timestamp: Date.now(),
      };
    }
    return {
      kind: "State",
      name,
      status: this.reported(rec),
      state: {
        procId: this.#procIdText(rec),
        createRank: rec.createRank,
        meshAgent: rec.agent,
        bootstrapCommand: rec.spec?.bootstrapCommand ?? null,
        procStatus: rec.raw,
      },
      generation: rec.generation,
      timestamp: Date.now(),
    };
  }

  /**
   * @returns The `procs` part of the agent's `HostInfo`, with the pid of
   * each live process-backed proc (AW-1).
   */
  infos(): (HostInfo["procs"][number] & { pid?: number })[] {
    return [...this.#records.values()].map((rec) => ({
      name: rec.name,
      procId: this.#procIdText(rec),
      createRank: rec.createRank,
      status: this.reported(rec),
      agent: rec.agent,
      ...(rec.spec?.restartOf
        ? { // RS-6
          restarts: rec.spec.restartOf.attempt,
          lastFailure: rec.spec.restartOf.lastFailure,
        }
        : {}),
      ...(rec.raw?.kind === "Stopped" && rec.raw.stderrTail.length > 0
        ? { stderrTail: rec.raw.stderrTail }
        : {}),
      ...(rec.procId !== undefined && !isTerminated(rec.status)
        ? { pid: this.#backend.pidOf?.(rec.procId) }
        : {}),
    }));
  }

  #procIdText(rec: ProcRecord): string {
    return rec.procId?.toString() ?? `${this.#backend.host.addr},${rec.name}`;
  }

  #sendRankStatus(cx: Context, rec: ProcRecord, port: string): void {
    reply(cx, port, StatusOverlay.single(rec.createRank, this.reported(rec)).toJSON());
  }
}
