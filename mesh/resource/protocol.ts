/**
 * Wire messages of the resource protocol, as plain JSON data with a `kind`
 * tag. Resource names are non-empty strings; reasons may be empty. Ports are referenced by their canonical `PortId` text (`reply`,
 * `subscriber`); the actor layer resolves them. Field names follow the March
 * revision (`name`, not `id`); durations are ms, instants are epoch ms.
 *
 * | message | reply |
 * | --- | --- |
 * | `CreateOrUpdate<S>{name, rank, spec}` | none (a second create is ignored) |
 * | `Stop{name, reason}` | none |
 * | `StopAll{reason}` | none (a proc agent ends its process) |
 * | `GetState{name, reply}` | `State<S>` |
 * | `KeepaliveGetState{expiresAfterMs, getState}` | `State<S>` |
 * | `StreamState{name, subscriber}` | `State<S>` stream |
 * | `GetRankStatus{name, reply}` | `StatusOverlayJSON` |
 * | `WaitRankStatus{name, minStatus, reply}` | `StatusOverlayJSON` once ≥ minStatus |
 * | `List{reply}` | resource names |
 *
 * ## Invariants (MS-*)
 * - **MS-16 (total guards).** Every `isX` guard returns a boolean for any
 *   input (including `null`, cyclic or hostile objects) and never throws.
 *
 * @module
 */

import { isStatus, type Status } from "./status.ts";

/** Create a resource (or no-op if it exists). `rank` is set when cast. */
export interface CreateOrUpdate<S> {
  /** Tag. */
  kind: "CreateOrUpdate";
  /** Resource name. */
  name: string;
  /** The destination rank, or `null` before binding. */
  rank: number | null;
  /** Resource specification. */
  spec: S;
}

/** Stop one resource. */
export interface Stop {
  /** Tag. */
  kind: "Stop";
  /** Resource name. */
  name: string;
  /** Why (for logs and states). */
  reason: string;
}

/** Stop every resource of the receiving agent. */
export interface StopAll {
  /** Tag. */
  kind: "StopAll";
  /** Why. */
  reason: string;
}

/** Ask for a resource's `State`. */
export interface GetState {
  /** Tag. */
  kind: "GetState";
  /** Resource name. */
  name: string;
  /** PortId text of the `State<S>` reply port. */
  reply: string;
}

/** `GetState`, also extending the resource's keepalive expiry. */
export interface KeepaliveGetState {
  /** Tag. */
  kind: "KeepaliveGetState";
  /** New expiry, epoch ms (non-negative integer). */
  expiresAfterMs: number;
  /** The wrapped query. */
  getState: GetState;
}

/** Subscribe to a resource's state changes. */
export interface StreamState {
  /** Tag. */
  kind: "StreamState";
  /** Resource name. */
  name: string;
  /** PortId text of the subscriber port. */
  subscriber: string;
}

/** Ask for a resource's status as a `StatusOverlay` at its rank. */
export interface GetRankStatus {
  /** Tag. */
  kind: "GetRankStatus";
  /** Resource name. */
  name: string;
  /** PortId text of the overlay accumulator port. */
  reply: string;
}

/** Like `GetRankStatus`, but reply only once the status reaches `minStatus`. */
export interface WaitRankStatus {
  /** Tag. */
  kind: "WaitRankStatus";
  /** Resource name. */
  name: string;
  /** The floor (by `compareStatus`). */
  minStatus: Status;
  /** PortId text of the overlay accumulator port. */
  reply: string;
}

/** List the receiver's resource names. */
export interface List {
  /** Tag. */
  kind: "List";
  /** PortId text of the reply port (receives `string[]`). */
  reply: string;
}

/** A resource's state. Display is compact JSON (`formatState`). */
export interface State<S> {
  /** Tag. */
  kind: "State";
  /** Resource name. */
  name: string;
  /** Its status. */
  status: Status;
  /** Resource-specific state, or `null` when unavailable. */
  state: S | null;
  /** Increases with every status change (0 when unknown). */
  generation: number;
  /** When the state was observed, epoch ms (non-negative integer). */
  timestamp: number;
}

/** Any resource-protocol request. */
export type ResourceMessage<S = unknown> =
  | CreateOrUpdate<S>
  | Stop
  | StopAll
  | GetState
  | KeepaliveGetState
  | StreamState
  | GetRankStatus
  | WaitRankStatus
  | List;

/** A validator for a payload type. */
export type Guard<T> = (value: unknown) => value is T;

type Rec = Record<string, unknown>;

function rec(value: unknown, kind: string): Rec | undefined {
  try {
    return typeof value === "object" && value !== null && !Array.isArray(value) &&
        (value as Rec).kind === kind
      ? value as Rec
      : undefined;
  } catch {
    return undefined; // MS-16: hostile getters/proxies
  }
}

function safe(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false; // MS-16
  }
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isName = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isNat = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isTime = isNat; // epoch ms: a non-negative integer
const isPortText = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const anyValue = (_v: unknown): _v is unknown => true;

/**
 * Whether `value` is a `CreateOrUpdate<S>` (MS-16).
 * @param value Anything.
 * @param isSpec Validator for `spec` (default: accepts any value).
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isCreateOrUpdate } from "./protocol.ts";
 * assert(isCreateOrUpdate({ kind: "CreateOrUpdate", name: "p0", rank: 3, spec: {} }));
 * assert(!isCreateOrUpdate({ kind: "CreateOrUpdate", name: "p0", rank: -1, spec: {} }));
 * ```
 */
export function isCreateOrUpdate<S = unknown>(
  value: unknown,
  isSpec: Guard<S> = anyValue as Guard<S>,
): value is CreateOrUpdate<S> {
  const v = rec(value, "CreateOrUpdate");
  return !!v &&
    safe(() =>
      isName(v.name) && (v.rank === null || isNat(v.rank)) && "spec" in v && isSpec(v.spec)
    );
}

/**
 * Whether `value` is a `Stop` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isStop } from "./protocol.ts";
 * assert(isStop({ kind: "Stop", name: "a", reason: "done" }) && !isStop({ kind: "Stop" }));
 * ```
 */
export function isStop(value: unknown): value is Stop {
  const v = rec(value, "Stop");
  return !!v && safe(() => isName(v.name) && isStr(v.reason));
}

/**
 * Whether `value` is a `StopAll` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isStopAll } from "./protocol.ts";
 * assert(isStopAll({ kind: "StopAll", reason: "bye" }) && !isStopAll("StopAll"));
 * ```
 */
export function isStopAll(value: unknown): value is StopAll {
  const v = rec(value, "StopAll");
  return !!v && safe(() => isStr(v.reason));
}

/**
 * Whether `value` is a `GetState` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGetState } from "./protocol.ts";
 * assert(isGetState({ kind: "GetState", name: "a", reply: "port-text" }));
 * assert(!isGetState({ kind: "GetState", name: "a", reply: "" }));
 * ```
 */
export function isGetState(value: unknown): value is GetState {
  const v = rec(value, "GetState");
  return !!v && safe(() => isName(v.name) && isPortText(v.reply));
}

/**
 * Whether `value` is a `KeepaliveGetState` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isKeepaliveGetState } from "./protocol.ts";
 * assert(isKeepaliveGetState({
 *   kind: "KeepaliveGetState",
 *   expiresAfterMs: Date.now() + 60_000,
 *   getState: { kind: "GetState", name: "a", reply: "p" },
 * }));
 * ```
 */
export function isKeepaliveGetState(value: unknown): value is KeepaliveGetState {
  const v = rec(value, "KeepaliveGetState");
  return !!v && safe(() => isTime(v.expiresAfterMs) && isGetState(v.getState));
}

/**
 * Whether `value` is a `StreamState` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isStreamState } from "./protocol.ts";
 * assert(isStreamState({ kind: "StreamState", name: "a", subscriber: "p" }));
 * ```
 */
export function isStreamState(value: unknown): value is StreamState {
  const v = rec(value, "StreamState");
  return !!v && safe(() => isName(v.name) && isPortText(v.subscriber));
}

/**
 * Whether `value` is a `GetRankStatus` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isGetRankStatus } from "./protocol.ts";
 * assert(isGetRankStatus({ kind: "GetRankStatus", name: "a", reply: "p" }));
 * ```
 */
export function isGetRankStatus(value: unknown): value is GetRankStatus {
  const v = rec(value, "GetRankStatus");
  return !!v && safe(() => isName(v.name) && isPortText(v.reply));
}

/**
 * Whether `value` is a `WaitRankStatus` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isWaitRankStatus } from "./protocol.ts";
 * assert(isWaitRankStatus({ kind: "WaitRankStatus", name: "a", minStatus: { kind: "Stopped" }, reply: "p" }));
 * assert(!isWaitRankStatus({ kind: "WaitRankStatus", name: "a", minStatus: "Stopped", reply: "p" }));
 * ```
 */
export function isWaitRankStatus(value: unknown): value is WaitRankStatus {
  const v = rec(value, "WaitRankStatus");
  return !!v && safe(() => isName(v.name) && isStatus(v.minStatus) && isPortText(v.reply));
}

/**
 * Whether `value` is a `List` (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isList } from "./protocol.ts";
 * assert(isList({ kind: "List", reply: "p" }));
 * ```
 */
export function isList(value: unknown): value is List {
  const v = rec(value, "List");
  return !!v && safe(() => isPortText(v.reply));
}

/**
 * Whether `value` is a `State<S>` (MS-16).
 * @param value Anything.
 * @param isInner Validator for a non-null `state` (default: accepts any value).
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isState } from "./protocol.ts";
 * assert(isState({
 *   kind: "State", name: "a", status: { kind: "Running" }, state: null, generation: 1,
 *   timestamp: Date.now(),
 * }));
 * ```
 */
export function isState<S = unknown>(
  value: unknown,
  isInner: Guard<S> = anyValue as Guard<S>,
): value is State<S> {
  const v = rec(value, "State");
  return !!v && safe(() =>
    isName(v.name) && isStatus(v.status) && "state" in v &&
    (v.state === null || isInner(v.state)) && isNat(v.generation) && isTime(v.timestamp)
  );
}

/**
 * Whether `value` is any resource-protocol request (MS-16).
 * @param value Anything.
 * @returns The type guard.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isResourceMessage } from "./protocol.ts";
 * assert(isResourceMessage({ kind: "StopAll", reason: "x" }));
 * assert(!isResourceMessage({ kind: "State" }));
 * ```
 */
export function isResourceMessage(value: unknown): value is ResourceMessage {
  return isCreateOrUpdate(value) || isStop(value) || isStopAll(value) || isGetState(value) ||
    isKeepaliveGetState(value) || isStreamState(value) || isGetRankStatus(value) ||
    isWaitRankStatus(value) || isList(value);
}

/**
 * Display of a state: compact JSON.
 * @param state A state.
 * @returns The text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatState } from "./protocol.ts";
 * assertEquals(
 *   formatState({ kind: "State", name: "a", status: { kind: "Running" }, state: null, generation: 0, timestamp: 0 }),
 *   '{"kind":"State","name":"a","status":{"kind":"Running"},"state":null,"generation":0,"timestamp":0}',
 * );
 * ```
 */
export function formatState<S>(state: State<S>): string {
  return JSON.stringify(state);
}
