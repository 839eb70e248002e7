/**
 * The message vocabulary of the proc agents (v1 `proc_agent`, v0 `mesh`):
 * handler type names, payload types and total guards. Resource-protocol
 * requests (`CreateOrUpdate`, `Stop`, `StopAll`, `GetState`,
 * `KeepaliveGetState`, `GetRankStatus`) use the shapes of
 * `resource/messages.ts`; this module adds the actor-specific spec/state and
 * the agent-only messages. Every payload is plain JSON data and ports travel
 * as their `PortId` text, except the two in-process-only requests
 * (`NewClientInstance`, `GetProc`) whose reply is a callback, like the seed's
 * local `PortHandle`s.
 *
 * | handler (`type`) | payload | reply |
 * | --- | --- | --- |
 * | `CreateOrUpdate` | `CreateOrUpdate<ActorSpec>` | none |
 * | `Stop` / `StopAll` | `Stop` / `StopAll` | none (StopAll ends the process) |
 * | `GetState` / `KeepaliveGetState` | resource shapes | `State<ActorState>` |
 * | `GetRankStatus` | `GetRankStatus` | `StatusOverlayJSON` |
 * | `ActorSupervisionEvent` | `ActorSupervisionEvent` | none |
 * | `Introspect` | {@linkcode Introspect} | {@linkcode IntrospectResult} |
 * | `SelfCheck` | `{}` (orphan check timer) | none |
 * | `Configure` (v0) | {@linkcode Configure} | the rank (`number`) |
 * | `Gspawn` (v0) | {@linkcode Gspawn} | {@linkcode GspawnResult} |
 * | `Status` (v0) | {@linkcode StatusQuery} | `[rank, true]` |
 * | `StopActor` | {@linkcode StopActor} | {@linkcode StopActorResult} |
 * | `NewClientInstance` / `GetProc` | callback (in-process only) | — |
 *
 * ## Invariants (PA-*)
 * - **PA-10 (total guards).** Every `isX` guard here returns a boolean for any
 *   input and never throws.
 *
 * @module
 */

import type { ActorSupervisionEvent } from "../../actor/supervision.ts";
import type { ActorStats } from "../../actor/proc.ts";
import type { SupervisorRef } from "../supervision/mesh_supervisor.ts";
import type { ClientInstance } from "../../actor/types.ts";
import type { Proc } from "../../actor/proc.ts";

/** Actor name of the v1 proc agent. */
export const PROC_AGENT_ACTOR_NAME = "proc_agent";
/** Actor name of the v0 proc agent. */
export const PROC_AGENT_V0_ACTOR_NAME = "mesh";

/** The handler type names of the proc agents. */
export const AgentMessageType: Readonly<{
  CreateOrUpdate: "CreateOrUpdate";
  Stop: "Stop";
  StopAll: "StopAll";
  GetState: "GetState";
  KeepaliveGetState: "KeepaliveGetState";
  GetRankStatus: "GetRankStatus";
  ActorSupervisionEvent: "ActorSupervisionEvent";
  Introspect: "Introspect";
  SelfCheck: "SelfCheck";
  NewClientInstance: "NewClientInstance";
  GetProc: "GetProc";
  Configure: "Configure";
  Gspawn: "Gspawn";
  Status: "Status";
  StopActor: "StopActor";
}> = Object.freeze(
  {
    CreateOrUpdate: "CreateOrUpdate",
    Stop: "Stop",
    StopAll: "StopAll",
    GetState: "GetState",
    KeepaliveGetState: "KeepaliveGetState",
    GetRankStatus: "GetRankStatus",
    ActorSupervisionEvent: "ActorSupervisionEvent",
    Introspect: "Introspect",
    SelfCheck: "SelfCheck",
    NewClientInstance: "NewClientInstance",
    GetProc: "GetProc",
    Configure: "Configure",
    Gspawn: "Gspawn",
    Status: "Status",
    StopActor: "StopActor",
  } as const,
);

/** What to spawn for a `CreateOrUpdate<ActorSpec>`. */
export interface ActorSpec {
  /** A type name registered with `registerActorType`. */
  actorType: string;
  /** Plain-data parameters handed to the type's factory. */
  params: unknown;
  /** Where the actor's failure is pushed as a `MeshFailure` (SV-11). */
  supervisor?: SupervisorRef | null;
  /**
   * Restart in place (RS-7): a `CreateOrUpdate` whose incarnation is above
   * the one the agent holds for the name, while that actor has terminated,
   * spawns a new actor `incarnationName(name, incarnation)` (default 0).
   */
  incarnation?: number;
}

/**
 * The root name of an actor mesh's actor in its `incarnation` (RS-7): the
 * mesh name for the first, `NAME--rN` for the N-th restart in place (a
 * proc's root names are never reused, MB-32, so messages to a former
 * incarnation bounce instead of reaching the new one).
 * @param name The actor mesh's name.
 * @param incarnation 0 for the first actor, N after N restarts on the same proc.
 * @returns The root name.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { incarnationName } from "./protocol.ts";
 * assertEquals([incarnationName("greeter", 0), incarnationName("greeter", 2)], ["greeter", "greeter--r2"]);
 * ```
 */
export function incarnationName(name: string, incarnation: number): string {
  return incarnation === 0 ? name : `${name}--r${incarnation}`;
}

/** The actor-specific part of a `State<ActorState>`. */
export interface ActorState {
  /** The actor's id text. */
  actorId: string;
  /** The rank given at creation (before any slicing). */
  createRank: number;
  /** Every supervision event recorded for the actor, oldest first. */
  supervisionEvents: ActorSupervisionEvent[];
}

/** Ask an agent about a proc (or one of its terminated actors). */
export interface Introspect {
  /** Reference text: the proc id, or an actor id. */
  child: string;
  /** PortId text of the {@linkcode IntrospectResult} reply port. */
  reply: string;
}

/** Introspection attributes of a proc node (reference §11). */
export interface ProcAttrs {
  /** Always `"proc"`. */
  nodeType: "proc";
  /** The proc id text. */
  procName: string;
  /** Live actors and client instances (stopped ones excluded). */
  numActors: number;
  /** Live and retained terminated system actors. */
  systemChildren: string[];
  /** Retained terminated actors, oldest first. */
  stoppedChildren: string[];
  /** `HYPERACTOR_TERMINATED_SNAPSHOT_RETENTION`. */
  stoppedRetentionCap: number;
  /** True iff `failedActorCount > 0`. */
  isPoisoned: boolean;
  /** Actors with at least one error supervision event. */
  failedActorCount: number;
}

/** Introspection attributes of a terminated actor node. */
export interface ActorAttrs {
  /** Always `"actor"`. */
  nodeType: "actor";
  /** The terminal status, display form. */
  status: string;
  /** When it terminated (epoch ms). */
  terminatedAt: number;
  /** Whether it is a system actor. */
  isSystem: boolean;
}

/** The error attributes of an unknown child. */
export interface ErrorAttrs {
  /** Always `"error"`. */
  nodeType: "error";
  /** e.g. `not_found`. */
  errorCode: string;
  /** Human-readable. */
  errorMessage: string;
}

/** Reply to {@linkcode Introspect}. */
export interface IntrospectResult {
  /** The reference that was asked about (empty for errors). */
  identity: string;
  /** Node attributes. */
  attrs: ProcAttrs | ActorAttrs | ErrorAttrs;
  /** Live and stopped actors for a proc node; empty otherwise. */
  children: string[];
  /** The parent's identity, if any. */
  parent: string | null;
  /** When computed (epoch ms). */
  asOf: number;
  /**
   * For a proc node: each live actor's figures by ActorId text (AW-2), the
   * type being the registered actor type when the proc agent created it.
   */
  actorStats?: Record<string, ActorStats>;
}

/** v0: configure the proc once. */
export interface Configure {
  /** The proc's rank in its mesh. */
  rank: number;
  /** ChannelAddr text of the forwarder for unknown destinations. */
  forwarder: string;
  /** PortId text of the supervisor port, or `null`. */
  supervisor: string | null;
  /** ProcId text → ChannelAddr text for direct dialing. */
  addressBook: Record<string, string>;
  /** PortId text receiving the rank once configured. */
  configured: string;
  /** Record events when there is no supervisor (instead of exiting). */
  recordSupervisionEvents: boolean;
}

/** v0: spawn an actor by registered type name. */
export interface Gspawn {
  /** Registered type name. */
  actorType: string;
  /** Root actor name. */
  actorName: string;
  /** Plain-data parameters. */
  params: unknown;
  /** PortId text receiving the {@linkcode GspawnResult}. */
  statusPort: string;
}

/** v0: outcome of {@linkcode Gspawn}. */
export type GspawnResult =
  | { kind: "Success"; rank: number; actorId: string }
  | { kind: "Error"; message: string };

/** v0: ask for `[rank, true]`. */
export interface StatusQuery {
  /** PortId text receiving `[rank, configured]`. */
  status: string;
}

/** Stop one actor and report how it went. */
export interface StopActor {
  /** The actor id text. */
  actorId: string;
  /** How long to wait for a terminal status, ms. */
  timeoutMs: number;
  /** Why. */
  reason: string;
  /** PortId text receiving the {@linkcode StopActorResult}. */
  stopped: string;
}

/** Outcome of {@linkcode StopActor}. */
export type StopActorResult = { kind: "Success" } | { kind: "Timeout" } | { kind: "NotFound" };

/** In-process only: a fresh client instance on the agent's proc. */
export interface NewClientInstance {
  /** Receives the instance (the caller disposes it). */
  reply: (instance: ClientInstance) => void;
}

/** In-process only: the agent's proc. */
export interface GetProc {
  /** Receives the proc. */
  reply: (proc: Proc) => void;
}

type Rec = Record<string, unknown>;

function obj(value: unknown): Rec | undefined {
  try {
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Rec
      : undefined;
  } catch {
    return undefined;
  }
}

function safe(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false; // PA-10
  }
}

const isText = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isNat = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Whether `value` is an {@linkcode ActorSpec} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isActorSpec } from "./protocol.ts";
 * assert(isActorSpec({ actorType: "my::Echo", params: null }));
 * assert(!isActorSpec({ actorType: "" }));
 * ```
 */
export function isActorSpec(value: unknown): value is ActorSpec {
  const v = obj(value);
  return !!v && safe(() => isText(v.actorType) && "params" in v);
}

/**
 * Whether `value` is an {@linkcode Introspect} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isIntrospect } from "./protocol.ts";
 * assert(isIntrospect({ child: "local:1,p", reply: "local:1,c,client[0][1024]" }));
 * assert(!isIntrospect(null));
 * ```
 */
export function isIntrospect(value: unknown): value is Introspect {
  const v = obj(value);
  return !!v && safe(() => isText(v.child) && isText(v.reply));
}

/**
 * Whether `value` is a {@linkcode Configure} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isConfigure } from "./protocol.ts";
 * assert(isConfigure({
 *   rank: 0, forwarder: "local:5", supervisor: null, addressBook: {},
 *   configured: "local:1,c,client[0][1024]", recordSupervisionEvents: true,
 * }));
 * ```
 */
export function isConfigure(value: unknown): value is Configure {
  const v = obj(value);
  return !!v && safe(() => {
    const book = obj(v.addressBook);
    return isNat(v.rank) && isText(v.forwarder) &&
      (v.supervisor === null || isText(v.supervisor)) && !!book &&
      Object.values(book).every(isText) && isText(v.configured) &&
      typeof v.recordSupervisionEvents === "boolean";
  });
}

/**
 * Whether `value` is a {@linkcode Gspawn} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGspawn } from "./protocol.ts";
 * assert(isGspawn({ actorType: "t", actorName: "a", params: 1, statusPort: "p" }));
 * ```
 */
export function isGspawn(value: unknown): value is Gspawn {
  const v = obj(value);
  return !!v &&
    safe(() => isText(v.actorType) && isText(v.actorName) && "params" in v && isText(v.statusPort));
}

/**
 * Whether `value` is a {@linkcode StopActor} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isStopActor } from "./protocol.ts";
 * assert(isStopActor({ actorId: "local:1,p,a[0]", timeoutMs: 100, reason: "x", stopped: "p" }));
 * assert(!isStopActor({ actorId: "local:1,p,a[0]", timeoutMs: -1, reason: "x", stopped: "p" }));
 * ```
 */
export function isStopActor(value: unknown): value is StopActor {
  const v = obj(value);
  return !!v &&
    safe(() =>
      isText(v.actorId) && isNat(v.timeoutMs) && typeof v.reason === "string" &&
      isText(v.stopped)
    );
}

/**
 * Whether `value` is a {@linkcode GspawnResult} (PA-10).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGspawnResult } from "./protocol.ts";
 * assert(isGspawnResult({ kind: "Error", message: "gspawn failed: x" }));
 * ```
 */
export function isGspawnResult(value: unknown): value is GspawnResult {
  const v = obj(value);
  return !!v && safe(() =>
    (v.kind === "Success" && isNat(v.rank) && isText(v.actorId)) ||
    (v.kind === "Error" && typeof v.message === "string")
  );
}

/**
 * Whether `value` is an {@linkcode IntrospectResult} (PA-10; checks the
 * envelope fields, not every attribute).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isIntrospectResult } from "./protocol.ts";
 * assert(isIntrospectResult({
 *   identity: "", attrs: { nodeType: "error", errorCode: "not_found", errorMessage: "x" },
 *   children: [], parent: null, asOf: 0,
 * }));
 * ```
 */
export function isIntrospectResult(value: unknown): value is IntrospectResult {
  const v = obj(value);
  return !!v && safe(() => {
    const attrs = obj(v.attrs);
    return typeof v.identity === "string" && !!attrs && typeof attrs.nodeType === "string" &&
      Array.isArray(v.children) && v.children.every((c) => typeof c === "string") &&
      (v.parent === null || typeof v.parent === "string") && isNat(v.asOf);
  });
}
