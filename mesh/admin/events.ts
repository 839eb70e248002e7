/**
 * The admin's event log: status changes of hosts and procs, found by
 * comparing successive admin trees (`source: "tree"`), and the
 * `MeshFailure`s this process's owners learn (`source: "supervision"`, AW-8
 * in `supervision/observe.ts`), kept in a bounded window that a
 * reconnecting `/v1/events` reader resumes from (`Last-Event-ID`).
 *
 * An event's JSON (stable; optional fields may be added, never renamed):
 *
 * ```text
 * { id: number,               // strictly increasing from 1 (the SSE `id:`)
 *   type: "status" | "failure", // the SSE `event:` name
 *   source: "tree" | "supervision",
 *   identity: string,         // "host:<agent id>", a proc id, or an actor id
 *   nodeType: "host" | "proc" | "actor" | "error",
 *   status: string,           // new status text; "Gone" when it left the tree
 *   previous: string | null,  // former status text (null: new, or supervision)
 *   reason?: string,          // failures: why
 *   stderrTail?: string[],    // failures: the proc's last stderr lines
 *   meshFailure?: MeshFailure, // supervision: the failure as the owner got it
 *   at: number }              // epoch ms
 * ```
 *
 * Actors' statuses are not compared (`Idle`/`Processing` change with every
 * message); an actor's failure arrives as a supervision event
 * (`ActorFailure`) when this process owns its mesh.
 *
 * A proc's death owned by this process arrives twice: first as its owner
 * learns it (`source: "supervision"`, within the supervision latency), then
 * as the next tree poll sees its status change (`source: "tree"`). A mesh
 * owned elsewhere (`bootstrap.ts admin`) has the tree events only.
 *
 * ## Invariants (AW-*)
 * - **AW-3 (changes are events).** Between two trees, every host or proc
 *   whose status text changed, appeared or vanished yields exactly one event,
 *   ids strictly increasing across both sources; a change to `Failed…` or to an unreachable
 *   (error) node is a `failure` event carrying the reason and, when the host
 *   captured it, the stderr tail.
 * - **AW-4 (resume window).** `since(id)` returns every event after `id`
 *   while they are all still retained; when some were dropped it returns
 *   `undefined` (the reader must refetch the tree). The window holds at most
 *   `window` events (default 512): memory is bounded whatever the churn.
 *
 * @module
 */

import type { AdminNode } from "../admin.ts";
import { formatStatus } from "../resource/status.ts";
import type { MeshFailure } from "../supervision/failure.ts";

/** One event of `/v1/events`. */
export interface AdminEvent {
  /** Strictly increasing, from 1. */
  id: number;
  /** `failure` for a change to a failed or unreachable state, else `status`. */
  type: "status" | "failure";
  /** `tree` (a change between two polled trees) or `supervision` (an owner's `MeshFailure`). */
  source: "tree" | "supervision";
  /** The node's identity (`host:…` or a proc id). */
  identity: string;
  /** `host`, `proc` or `error`. */
  nodeType: string;
  /** The new status text (`Gone` when the node left the tree). */
  status: string;
  /** The previous status text, `null` for a new node. */
  previous: string | null;
  /** Why it failed (failure events). */
  reason?: string;
  /** The process's last stderr lines, when the host captured them. */
  stderrTail?: string[];
  /** The failure as this process's owner learned it (`source: "supervision"`). */
  meshFailure?: MeshFailure;
  /** Epoch ms. */
  at: number;
}

/** Default number of events retained for resumption. */
export const DEFAULT_EVENT_WINDOW = 512;

interface NodeState {
  nodeType: string;
  status: string;
  reason?: string;
  stderrTail?: string[];
}

/**
 * The status text of every host and proc of a tree, by identity.
 * @param tree The admin tree.
 * @returns States by identity.
 */
function states(tree: AdminNode): Map<string, NodeState> {
  const out = new Map<string, NodeState>();
  const visit = (node: AdminNode, depth: number) => {
    const p = node.properties;
    if (node.nodeType === "host") {
      out.set(node.identity, { nodeType: "host", status: String(p.state) });
    }
    if (node.nodeType === "proc") {
      const status = String(p.status);
      const failed = /^Failed\((.*)\)$/s.exec(status);
      out.set(node.identity, {
        nodeType: "proc",
        status,
        ...(failed ? { reason: failed[1] } : {}),
        ...(Array.isArray(p.stderrTail) ? { stderrTail: p.stderrTail as string[] } : {}),
      });
    }
    if (node.nodeType === "error" && depth === 1) {
      out.set(node.identity, {
        nodeType: "error",
        status: "Unreachable",
        reason: String(p.message ?? "unreachable"),
      });
    }
    for (const child of node.children) visit(child, depth + 1);
  };
  visit(tree, 0);
  return out;
}

/**
 * A bounded log of status-change events fed with successive trees (AW-3,
 * AW-4).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AdminEventLog } from "./events.ts";
 * const proc = (status: string) => ({
 *   identity: "root", nodeType: "root" as const, properties: {}, children: [{
 *     identity: "host:h", nodeType: "host" as const, properties: { state: "Attached" },
 *     children: [{ identity: "h,p", nodeType: "proc" as const, properties: { status }, children: [] }],
 *   }],
 * });
 * const log = new AdminEventLog();
 * log.update(proc("Running")); // the baseline: no events
 * log.update(proc("Failed(Killed(sig=9))"));
 * assertEquals(log.since(0)?.map((e) => [e.id, e.type, e.identity, e.reason]), [
 *   [1, "failure", "h,p", "Killed(sig=9)"],
 * ]);
 * ```
 */
export class AdminEventLog {
  readonly #window: number;
  readonly #events: AdminEvent[] = [];
  readonly #listeners = new Set<(event: AdminEvent) => void>();
  #last: Map<string, NodeState> | undefined;
  #nextId = 1;

  /**
   * Creates an AdminEventLog.
   * @param window Events retained for resumption (default 512).
   */
  constructor(window = DEFAULT_EVENT_WINDOW) {
    this.#window = Math.max(1, window);
  }

  /** The id of the newest event (0 before any). */
  get lastId(): number {
    return this.#nextId - 1;
  }

  /**
   * Compares `tree` with the previous one and records one event per change
   * (AW-3); the first tree is the baseline.
   * @param tree The newest admin tree.
   * @returns The new events.
   */
  update(tree: AdminNode): AdminEvent[] {
    const now = states(tree);
    const before = this.#last;
    this.#last = now;
    if (before === undefined) return [];
    const fresh: AdminEvent[] = [];
    for (const [identity, state] of now) {
      const prev = before.get(identity);
      if (prev?.status === state.status) continue;
      const failure = state.status.startsWith("Failed") || state.status === "Unreachable";
      fresh.push({
        id: this.#nextId++,
        type: failure ? "failure" : "status",
        source: "tree",
        identity,
        nodeType: state.nodeType,
        status: state.status,
        previous: prev?.status ?? null,
        ...(state.reason === undefined ? {} : { reason: state.reason }),
        ...(state.stderrTail === undefined ? {} : { stderrTail: state.stderrTail }),
        at: Date.now(),
      });
    }
    for (const [identity, prev] of before) {
      if (now.has(identity)) continue;
      fresh.push({
        id: this.#nextId++,
        type: "status",
        source: "tree",
        identity,
        nodeType: prev.nodeType,
        status: "Gone",
        previous: prev.status,
        at: Date.now(),
      });
    }
    this.#append(fresh);
    return fresh;
  }

  /**
   * Records a failure an owner of this process learned (AW-8) as a
   * `failure` event with `source: "supervision"`.
   * @param failure The failure.
   * @returns The event.
   */
  record(failure: MeshFailure): AdminEvent {
    const actor = failure.kind === "ActorFailure" && failure.actorId !== null;
    const identity = actor ? failure.actorId! : failure.procId;
    const status = formatStatus(failure.status);
    const event: AdminEvent = {
      id: this.#nextId++,
      type: "failure",
      source: "supervision",
      identity,
      nodeType: actor ? "actor" : "proc",
      status,
      previous: null,
      reason: failure.reason,
      ...(failure.stderrTail.length > 0 ? { stderrTail: failure.stderrTail } : {}),
      meshFailure: failure,
      at: failure.occurredAt,
    };
    this.#append([event]);
    return event;
  }

  #append(fresh: AdminEvent[]): void {
    this.#events.push(...fresh);
    if (this.#events.length > this.#window) {
      this.#events.splice(0, this.#events.length - this.#window); // AW-4: bounded
    }
    for (const event of fresh) {
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch {
          // a listener's fault (a closed stream) is its own
        }
      }
    }
  }

  /**
   * Every retained event after `id` (AW-4).
   * @param id The last id the reader saw.
   * @returns The events, or `undefined` when some after `id` were dropped
   * (or `id` is not one of this log's).
   */
  since(id: number): AdminEvent[] | undefined {
    if (id > this.lastId) return undefined; // another server's ids: refetch
    if (id === this.lastId) return [];
    const oldest = this.#events[0]?.id ?? this.#nextId;
    if (id + 1 < oldest) return undefined;
    return this.#events.filter((e) => e.id > id);
  }

  /**
   * Calls `listener` with every later event.
   * @param listener The callback.
   * @returns A function that unsubscribes.
   */
  subscribe(listener: (event: AdminEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
