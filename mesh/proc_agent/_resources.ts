/**
 * Folder-private: the proc agent's resources — one record per actor it was
 * asked to create (`CreateOrUpdate<ActorSpec>`), the supervision events
 * recorded per actor, and the statuses and states reported from them.
 *
 * ## Invariants (PA-*)
 * Enforced here, promised by `proc_agent.ts`:
 * - **PA-1 (idempotent create).** A second `CreateOrUpdate` for a known name
 *   is ignored, whatever its spec or rank.
 * - **PA-2 (no spawn after supervision errors).** Once any actor of the proc
 *   produced an error supervision event, a new `CreateOrUpdate` spawns
 *   nothing and records `Failed("Cannot spawn new actors on mesh with
 *   supervision events")`. A spawn that throws (unknown type, bad params,
 *   duplicate name) is recorded as `Failed(message)`; the agent never fails
 *   because of a create.
 * - **PA-5 (rank overlays).** `GetRankStatus` replies with exactly one run
 *   `[createRank, createRank+1)` for a known name and an empty overlay for an
 *   unknown one (reply failures are dropped by the agent).
 * - **PA-6 (stop once).** `Stop` stops a created actor at most once; a failed
 *   spawn counts as stopped; unknown names are ignored.
 * @module
 */

import type { Proc } from "../../actor/proc.ts";
import { spawnByTypeName } from "../../actor/registry.ts";
import { type ActorSupervisionEvent, isError } from "../../actor/supervision.ts";
import { isTerminal } from "../../actor/status.ts";
import type { State } from "../resource/protocol.ts";
import { StatusOverlay, type StatusOverlayJSON } from "../resource/overlay.ts";
import { type Status, statusKey } from "../resource/status.ts";
import { type ActorSpec, type ActorState, incarnationName, isActorSpec } from "./protocol.ts";
import { type ActorRecord, recordStatus } from "./_core.ts";
import { isSupervisorRef } from "../supervision/mesh_supervisor.ts";

/** The refusal recorded by PA-2. */
export const SUPERVISION_REFUSAL = "Cannot spawn new actors on mesh with supervision events";

/**
 * @param error Anything thrown.
 * @returns Its message.
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * @param value Anything.
 * @returns Its JSON text (at most 200 characters), or `String(value)`.
 */
export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The actors a proc agent created, by resource name, and their supervision events. */
export class ActorResources {
  readonly #proc: Proc;
  readonly #records = new Map<string, ActorRecord>();
  readonly #events = new Map<string, ActorSupervisionEvent[]>();
  readonly #failed = new Set<string>();

  /**
   * Creates an empty table.
   * @param proc The managed proc.
   */
  constructor(proc: Proc) {
    this.#proc = proc;
  }

  /** Actors with at least one error supervision event. */
  get failedCount(): number {
    return this.#failed.size;
  }

  /** @returns The records (live view). */
  records(): IterableIterator<ActorRecord> {
    return this.#records.values();
  }

  /**
   * @param name A resource name.
   * @returns Its record, if created.
   */
  get(name: string): ActorRecord | undefined {
    return this.#records.get(name);
  }

  /**
   * Records a supervision event (an error one poisons the proc: PA-2, PA-7).
   * @param event The event.
   */
  recordEvent(event: ActorSupervisionEvent): void {
    const list = this.#events.get(event.actorId);
    if (list === undefined) this.#events.set(event.actorId, [event]);
    else list.push(event);
    if (isError(event)) this.#failed.add(event.actorId); // PA-2, PA-7
  }

  /**
   * Creates `name` once (PA-1), refusing on a poisoned proc (PA-2) and
   * recording a failed spawn instead of throwing.
   * @param name The resource name.
   * @param rank Its create rank.
   * @param spec The actor spec (checked here).
   * @returns When the spawn settled.
   */
  async create(name: string, rank: number, spec: unknown): Promise<void> {
    const existing = this.#records.get(name);
    if (existing !== undefined) return await this.#reincarnate(name, existing, spec); // PA-1, RS-7
    const record: ActorRecord = {
      createRank: rank,
      spawn: { ok: false, error: SUPERVISION_REFUSAL },
      stopped: false,
      expiryMs: undefined,
      generation: 0,
      lastReported: "",
      incarnation: 0,
    };
    this.#records.set(name, record);
    if (this.#failed.size > 0) return; // PA-2
    if (!isActorSpec(spec)) {
      record.spawn = { ok: false, error: `invalid actor spec: ${safeJson(spec)}` };
      return;
    }
    if (isSupervisorRef(spec.supervisor)) record.supervisor = spec.supervisor; // SV-11
    await this.#spawn(record, name, spec);
  }

  async #spawn(record: ActorRecord, name: string, spec: ActorSpec): Promise<void> {
    try {
      const ref = await spawnByTypeName(this.#proc, spec.actorType, {
        name: incarnationName(name, record.incarnation),
        params: spec.params,
      });
      record.spawn = { ok: true, actorId: ref.actorId.key };
      record.actorType = spec.actorType; // AW-2
    } catch (error) {
      record.spawn = { ok: false, error: errorText(error) }; // PA-2: never a crash
    }
  }

  /**
   * RS-7: a higher incarnation of a terminated (not stopped) actor replaces
   * it under a fresh root name; its failure no longer poisons the proc.
   * Anything else is PA-1's "no update".
   */
  async #reincarnate(name: string, record: ActorRecord, spec: unknown): Promise<void> {
    if (!isActorSpec(spec) || record.stopped) return;
    const incarnation = spec.incarnation ?? 0;
    if (!Number.isSafeInteger(incarnation) || incarnation <= record.incarnation) return;
    if (record.spawn.ok) {
      const live = this.#proc.actorStatus(record.spawn.actorId)?.get();
      if (live !== undefined && !isTerminal(live)) return; // still running: nothing to replace
      this.#failed.delete(record.spawn.actorId);
    }
    if (this.#failed.size > 0) return; // PA-2: another actor still poisons the proc
    record.incarnation = incarnation;
    if (isSupervisorRef(spec.supervisor)) record.supervisor = spec.supervisor;
    await this.#spawn(record, name, spec);
  }

  /**
   * The record of a spawned actor.
   * @param actorId The actor id text.
   * @returns Its record, if this agent created it.
   */
  recordOf(actorId: string): ActorRecord | undefined {
    for (const record of this.#records.values()) {
      if (record.spawn.ok && record.spawn.actorId === actorId) return record;
    }
    return undefined;
  }

  /**
   * Marks `name` stopped, once (PA-6).
   * @param name The resource name.
   * @returns The actor id text to stop, or `undefined` when there is nothing to do.
   */
  markStopped(name: string): string | undefined {
    const record = this.#records.get(name);
    // PA-6: unknown names, failed spawns and already stopped actors: nothing to do.
    if (record === undefined || !record.spawn.ok || record.stopped) return undefined;
    record.stopped = true;
    return record.spawn.actorId;
  }

  /** Marks every spawned actor stopped (after `StopAll`). */
  markAllStopped(): void {
    for (const record of this.#records.values()) if (record.spawn.ok) record.stopped = true;
  }

  /**
   * @param name The resource name.
   * @returns The rank overlay to reply (PA-5: empty for an unknown name).
   */
  rankStatus(name: string): StatusOverlayJSON {
    const found = this.#status(name);
    const overlay = found === undefined
      ? new StatusOverlay() // PA-5: unknown rank → empty overlay
      : StatusOverlay.single(found.record.createRank, found.status);
    return overlay.toJSON();
  }

  /**
   * @param name The resource name.
   * @returns Its resource state (`NotExist` when unknown).
   */
  state(name: string): State<ActorState> {
    const found = this.#status(name);
    const state: State<ActorState> = {
      kind: "State",
      name,
      status: found?.status ?? { kind: "NotExist" },
      state: null,
      generation: found?.record.generation ?? 0,
      timestamp: Date.now(),
    };
    if (found !== undefined && found.record.spawn.ok) {
      const actorId = found.record.spawn.actorId;
      state.state = {
        actorId,
        createRank: found.record.createRank,
        supervisionEvents: [...(this.#events.get(actorId) ?? [])],
      };
    }
    return state;
  }

  #status(name: string): { record: ActorRecord; status: Status } | undefined {
    const record = this.#records.get(name);
    if (record === undefined) return undefined;
    const events = record.spawn.ok ? this.#events.get(record.spawn.actorId) : undefined;
    const status = recordStatus(this.#proc, record, events);
    const key = statusKey(status);
    if (key !== record.lastReported) {
      record.lastReported = key;
      record.generation++;
    }
    return { record, status };
  }
}
