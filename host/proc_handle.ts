/**
 * The `ProcHandle` and `ProcManager` contracts and their errors
 * (`ReadyError`, `WaitError`, `TerminateError`).
 *
 * A **proc** is the actor runtime plus its actors; it *may* live inside its own
 * OS process, but is conceptually distinct. A manager spawns procs and returns
 * a handle per proc; the handle speaks in terms of the proc lifecycle:
 * `ready()` resolves once the proc is Ready (mailbox served, agent available),
 * `wait()` resolves with its terminal status, `terminate()` asks for a polite
 * stop bounded by a deadline (escalating to a forced stop at the deadline when
 * the manager owns an OS process), and `kill()` forces it down at once.
 *
 * The terminal status type `S` is manager-specific (a rich `ProcStatus` for an
 * OS-process manager, `undefined` for an in-process one).
 *
 * @module
 */

import type { ChannelAddr, Transport } from "../channel/addr.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/types.ts";
import type { ActorRef } from "../actor/port.ts";
import type { Context } from "../actor/types.ts";
import type { WatchOptions } from "../channel/watch_cell.ts";
import type { StopOptions } from "../internal/stop_options.ts";

/**
 * Formats a terminal status for messages (the seed's `{:?}`): `()` for
 * `undefined`, `toString()` of objects that define one, else JSON.
 */
function formatStatus(status: unknown): string {
  if (status === undefined) return "()";
  if (typeof status === "string") return JSON.stringify(status);
  if (
    typeof status === "object" && status !== null &&
    status.toString !== Object.prototype.toString
  ) {
    return String(status);
  }
  try {
    return JSON.stringify(status) ?? String(status);
  } catch {
    return String(status);
  }
}

/** Variants of {@linkcode ReadyError}. */
export type ReadyErrorKind = "Terminal" | "ChannelClosed";

/**
 * `ProcHandle.ready()` failed: the proc reached a terminal state before
 * becoming Ready (`Terminal`, with that status), or the implementation lost
 * its status channel (`ChannelClosed`).
 *
 * @typeParam S The manager's terminal status type.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ReadyError } from "./proc_handle.ts";
 * const e = ReadyError.terminal({ kind: "Failed" });
 * assertEquals([e.kind, e.status], ["Terminal", { kind: "Failed" }]);
 * assertEquals(ReadyError.channelClosed().kind, "ChannelClosed");
 * ```
 */
export class ReadyError<S = unknown> extends Error {
  /** The variant. */
  readonly kind: ReadyErrorKind;
  /** `Terminal`: the status reached. */
  readonly status: S | undefined;

  /**
   * Prefer the static constructors.
   * @param kind The variant.
   * @param status `Terminal`: the status reached.
   * @param display `Terminal`: how to show the status (default: its string or JSON form).
   */
  constructor(kind: ReadyErrorKind, status?: S, display?: string) {
    super(
      kind === "Terminal"
        ? `Cannot become ready: proc reached a terminal state (status: ${
          display ?? formatStatus(status)
        })`
        : "Cannot become ready: lifecycle channel closed; cannot observe state",
    );
    this.name = "ReadyError";
    this.kind = kind;
    this.status = status;
  }

  /**
   * A `Terminal` ready error.
   * @param status The terminal status reached before Ready.
   * @param display How to show the status in the message.
   * @returns A `Terminal` error.
   */
  static terminal<S>(status: S, display?: string): ReadyError<S> {
    return new ReadyError<S>("Terminal", status, display);
  }

  /**
   * A `ChannelClosed` error.
   * @returns A `ChannelClosed` error.
   */
  static channelClosed<S = never>(): ReadyError<S> {
    return new ReadyError<S>("ChannelClosed");
  }
}

/**
 * `ProcHandle.wait()` failed: the implementation lost its status channel
 * (the only variant, `ChannelClosed`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WaitError } from "./proc_handle.ts";
 * assertEquals(new WaitError().kind, "ChannelClosed");
 * ```
 */
export class WaitError extends Error {
  /** The variant. */
  readonly kind: "ChannelClosed" = "ChannelClosed";

  /**
   * Creates the instance.
   * @param options `cause`.
   */
  constructor(options?: ErrorOptions) {
    super("Cannot wait for proc: lifecycle channel closed; cannot observe state", options);
    this.name = "WaitError";
  }
}

/** Variants of {@linkcode TerminateError}. */
export type TerminateErrorKind = "Unsupported" | "AlreadyTerminated" | "ChannelClosed" | "Io";

/**
 * `ProcHandle.terminate()` / `kill()` failed.
 *
 * - `Unsupported`: the manager cannot signal procs.
 * - `AlreadyTerminated(status)`: the proc was already terminal; `status` is
 *   what `wait()` returns. Bulk termination counts it as success.
 * - `ChannelClosed`: the manager lost its lifecycle channel.
 * - `Io`: delivering the signal or performing the shutdown failed (`cause`).
 *
 * The message is the seed's display text.
 *
 * @typeParam S The manager's terminal status type.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { TerminateError } from "./proc_handle.ts";
 * assertEquals(TerminateError.unsupported().message, "terminate/kill unsupported by manager");
 * assertEquals(
 *   TerminateError.alreadyTerminated({ kind: "Stopped" }).message,
 *   'proc already terminated (status: {"kind":"Stopped"})',
 * );
 * assertEquals(TerminateError.channelClosed().message, "lifecycle channel closed; cannot observe state");
 * assertEquals(TerminateError.io(new Error("EPERM")).message, "I/O error during terminate/kill: EPERM");
 * ```
 */
export class TerminateError<S = unknown> extends Error {
  /** The variant. */
  readonly kind: TerminateErrorKind;
  /** `AlreadyTerminated`: the terminal status (what `wait()` returns). */
  readonly status: S | undefined;

  /**
   * Prefer the static constructors.
   * @param kind The variant.
   * @param status `AlreadyTerminated`: the terminal status.
   * @param options `cause` (for `Io`).
   */
  constructor(kind: TerminateErrorKind, status?: S, options?: ErrorOptions) {
    super(terminateMessage(kind, status, options?.cause), options);
    this.name = "TerminateError";
    this.kind = kind;
    this.status = status;
  }

  /**
   * An `Unsupported` error.
   * @returns An `Unsupported` error.
   */
  static unsupported<S = never>(): TerminateError<S> {
    return new TerminateError<S>("Unsupported");
  }

  /**
   * An `AlreadyTerminated` error.
   * @param status The terminal status already reached.
   * @returns An `AlreadyTerminated` error.
   */
  static alreadyTerminated<S>(status: S): TerminateError<S> {
    return new TerminateError<S>("AlreadyTerminated", status);
  }

  /**
   * A `ChannelClosed` error.
   * @returns A `ChannelClosed` error.
   */
  static channelClosed<S = never>(): TerminateError<S> {
    return new TerminateError<S>("ChannelClosed");
  }

  /**
   * An `Io` error.
   * @param cause The underlying failure.
   * @returns An `Io` error.
   */
  static io<S = never>(cause: unknown): TerminateError<S> {
    return new TerminateError<S>("Io", undefined, { cause });
  }
}

function terminateMessage(kind: TerminateErrorKind, status: unknown, cause: unknown): string {
  switch (kind) {
    case "Unsupported":
      return "terminate/kill unsupported by manager";
    case "AlreadyTerminated":
      return `proc already terminated (status: ${formatStatus(status)})`;
    case "ChannelClosed":
      return "lifecycle channel closed; cannot observe state";
    case "Io":
      return `I/O error during terminate/kill: ${
        cause instanceof Error ? cause.message : String(cause)
      }`;
  }
}

/**
 * Whether `err` is a {@linkcode TerminateError}, optionally of the given kind.
 * @param err Anything caught.
 * @param kind The variant to match.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTerminateError, TerminateError } from "./proc_handle.ts";
 * assert(isTerminateError(TerminateError.alreadyTerminated(0), "AlreadyTerminated"));
 * assert(!isTerminateError(TerminateError.unsupported(), "Io"));
 * ```
 */
export function isTerminateError(
  err: unknown,
  kind?: TerminateErrorKind,
): err is TerminateError {
  return err instanceof TerminateError && (kind === undefined || err.kind === kind);
}

/**
 * The uniform surface of a spawned proc, returned by a {@linkcode ProcManager}.
 *
 * Contract:
 * - `ready()` and `wait()` are multi-waiter and non-consuming (any number of
 *   callers, at any time, observe the same outcome).
 * - `terminate()` and `kill()` are idempotent and race-safe: concurrent
 *   callers coalesce, the first terminal outcome wins and every caller (and
 *   `wait()`) observes it. They never fabricate a terminal status: they
 *   resolve only after termination was observed. A proc already terminal
 *   rejects with `TerminateError` `AlreadyTerminated(status)`; a manager that
 *   cannot signal rejects with `Unsupported`.
 * - `reason` (revision skew, reference §0) is informational; implementations
 *   may ignore it.
 *
 * @typeParam S Terminal status type (the value of `wait()`).
 * @typeParam A The agent actor type installed by the manager.
 */
export interface ProcHandle<S = unknown, A extends Actor = Actor> {
  /** The proc's logical identity on the host (`(frontend addr, name)`). */
  readonly procId: ProcId;
  /**
   * The proc's address.
   * @returns The address the host binds in its router, once known.
   */
  addr(): ChannelAddr | undefined;
  /**
   * The proc's agent.
   * @returns The agent actor hosted in the proc, once known.
   */
  agentRef(): ActorRef<A> | undefined;
  /**
   * Resolves when the proc is Ready.
   * @param options `signal`: aborting rejects with its reason.
   * @returns Resolves with nothing.
   * @throws {ReadyError} `Terminal(status)` or `ChannelClosed`.
   */
  ready(options?: WatchOptions): Promise<void>;
  /**
   * Resolves with the terminal status.
   * @param options `signal`: aborting rejects with its reason.
   * @returns The terminal status.
   * @throws {WaitError} `ChannelClosed`.
   */
  wait(options?: WatchOptions): Promise<S>;
  /**
   * Politely stops the proc within `graceMs`, then forces it.
   * @param cx The calling actor (sends stop requests to the agent).
   * @param options `graceMs` (default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`),
   * `reason`, `signal` (forces at once and rejects with its reason).
   * @returns The terminal status reached (what `wait()` returns).
   * @throws {TerminateError} See the contract.
   */
  terminate(cx: Context, options?: StopOptions): Promise<S>;
  /**
   * Forces the proc down at once.
   * @param reason Why (informational).
   * @returns The terminal status reached.
   * @throws {TerminateError} See the contract.
   */
  kill(reason?: string): Promise<S>;
}

/**
 * A manager of procs: bootstraps procs on a host, installs an agent actor on
 * each, and manages their lifetimes. Managers that own resources (child
 * processes) implement `Symbol.asyncDispose`, which the host calls when it is
 * disposed.
 *
 * Beyond `transport` / `spawn`, a manager may offer optional capabilities
 * a host agent uses when present, typed here so that no caller needs a cast:
 * `status` / `watch` (the proc's lifecycle statuses, of type `W`) and
 * `requestStop` (a non-blocking polite stop). Bulk and single termination
 * are {@linkcode BulkTerminate} / {@linkcode SingleTerminate}
 * (`terminate.ts`). {@linkcode WithCapabilities} makes chosen capabilities
 * required.
 *
 * @typeParam H The handle type returned by `spawn`.
 * @typeParam C Per-proc configuration (`void` when there is none, so
 * `spawn(id, addr)` suffices).
 * @typeParam W The lifecycle status type `status` / `watch` report.
 */
export interface ProcManager<H extends ProcHandle = ProcHandle, C = void, W = unknown> {
  /**
   * The preferred transport: the host serves its back-end address on it
   * (`local` for in-process managers, `unix` for external processes).
   * @returns The transport.
   */
  transport(): Transport;
  /**
   * Spawns a proc with id `procId` whose outbound messages go to
   * `forwarderAddr` (the host back-end) and installs its agent.
   * @param procId The proc's id.
   * @param forwarderAddr Where the proc forwards messages not addressed to it.
   * @param config Manager-specific configuration.
   * @returns The proc's handle (maybe not Ready yet).
   * @throws {HostError} On spawn failures.
   */
  spawn(procId: ProcId, forwarderAddr: ChannelAddr, config: C): Promise<H>;
  /** Optional: releases everything the manager owns (kills remaining children). */
  [Symbol.asyncDispose]?(): Promise<void>;
  /**
   * Optional capability: the current status of a proc spawned here.
   * @param procId The proc.
   * @returns Its status, or `undefined` when unknown.
   */
  status?(procId: ProcId): W | undefined;
  /**
   * Optional capability: the status stream of a proc spawned here (its
   * current status, then every change, until it is terminal or `signal`
   * aborts).
   * @param procId The proc.
   * @param options Cancellation.
   * @returns The stream, or `undefined` when the proc is unknown.
   */
  watch?(procId: ProcId, options?: { signal?: AbortSignal }): AsyncIterable<W> | undefined;
  /**
   * Optional capability: asks a proc to stop and returns at once (polite
   * first, forced after `graceMs`). Unknown or stopping procs are ignored.
   * @param cx The calling actor.
   * @param procId The proc.
   * @param options `graceMs` before escalation, `reason` (informational),
   * `signal` (aborting forces the stop at once).
   */
  requestStop?(cx: Context, procId: ProcId, options?: StopOptions): void;
  /**
   * Optional capability: drops what the manager keeps about a proc that has
   * terminated (its handle, status cell), so a long-lived host does not grow
   * with every proc it ever ran (HA-14). A live or unknown proc is left alone.
   * @param procId The proc.
   * @returns Whether something was dropped.
   */
  release?(procId: ProcId): boolean;
}

/** The optional capabilities of a {@linkcode ProcManager}. */
export type ProcManagerCapability = "status" | "watch" | "requestStop";

/**
 * A manager type `M` whose capabilities `K` are required (not optional).
 * @example
 * ```ts
 * import type { ProcManager, WithCapabilities } from "./proc_handle.ts";
 * type Watchable = WithCapabilities<ProcManager<never, void, string>, "watch">;
 * const watch = (m: Watchable): AsyncIterable<string> | undefined =>
 *   m.watch(null as never); // required: no `?.`
 * void watch;
 * ```
 */
export type WithCapabilities<
  M extends { [P in K]?: unknown },
  K extends ProcManagerCapability,
> = M & { [P in K]-?: NonNullable<M[P]> };

/** The lifecycle status type manager `M` reports through `status` / `watch`. */
export type WatchedStatusOf<M> = M extends ProcManager<infer _H, infer _C, infer W> ? W : never;

/** The handle type of manager `M`. */
export type HandleOf<M> = M extends ProcManager<infer H, infer _C> ? H : never;
/** The configuration type of manager `M`. */
export type ConfigOf<M> = M extends ProcManager<infer _H, infer C> ? C : never;
/** The agent actor type of manager `M` (the seed's `ManagerAgent<M>`). */
export type ManagerAgent<M> = HandleOf<M> extends ProcHandle<infer _S, infer A extends Actor> ? A
  : Actor;
/** The terminal status type of handle `H`. */
export type TerminalStatusOf<H> = H extends ProcHandle<infer S, infer _A> ? S : never;
