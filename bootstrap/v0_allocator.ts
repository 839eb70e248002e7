/**
 * `ProcessAllocator`: the parent side of the legacy v0 allocator protocol
 * (the counterpart of `v0_proc_mesh.ts`, after Monarch's `alloc::process`).
 *
 * {@linkcode ProcessAllocator.allocate} launches one child per rank with the
 * bootstrap command and, in its environment, `HYPERACTOR_MESH_BOOTSTRAP_ADDR`
 * (a channel served for that rank at a fresh address), `HYPERACTOR_MESH_INDEX`
 * (the rank) and a `V0ProcMesh` bootstrap mode (carrying an optional config
 * snapshot). Per rank, the protocol is:
 *
 * 1. the child says `[rank, {"Hello": addr}]`; the allocator dials `addr` and
 *    sends `{"StartProc": [procId, transport]}`;
 * 2. the child boots the proc and its v0 agent (`mesh`), serves the proc and
 *    says `[rank, {"StartedProc": [procId, agent, procAddr]}]` → `Running`;
 * 3. every 5 s the child sends `[rank, "Heartbeat"]`; the allocator only has
 *    to keep the channel served (the ack is the answer). A child whose
 *    heartbeat cannot be delivered (allocator gone, even by SIGKILL) exits
 *    with code 1: this is the v0 orphan guard, beside the native launcher's
 *    exit-time SIGKILL of its process groups;
 * 4. {@linkcode ProcessAlloc.stop} sends `{"StopAndExit": code}`; the child
 *    destroys its procs and exits with `code`.
 *
 * Progress is an ordered stream of {@linkcode AllocProcState} events
 * (`Created`, `Running`, `Failed`, `Stopped`). Proc ids are
 * `<rank's bootstrap addr>,<name>-<rank>`: nominal, since the child serves the
 * proc at an address chosen later; route to it by binding the proc id to the
 * `Running` event's `addr` (a `DialMailboxRouter`, or `Configure`'s address
 * book).
 *
 * Why one channel per rank: all children of one shared channel are
 * indistinguishable, so a child claiming another's index, or sending garbage,
 * could not be blamed on anyone. A channel per rank attributes every message.
 *
 * ## Invariants (BS-*)
 * - BS-20 (attributed bad input, a {@linkcode V0AllocatorError} per broken
 *   rank) is defined where it is enforced, `_v0_rank.ts`.
 * - **BS-21 (event order).** Per rank: `Created` first, at most one `Running`,
 *   at most one `Failed`, and exactly one `Stopped`, last. The stream ends
 *   once every rank is `Stopped`; every reader sees every event from the
 *   first, in order.
 * - **BS-22 (channel outlives child).** A rank's bootstrap channel is served
 *   until its process has exited, so a live child's heartbeat never fails
 *   because of the allocator.
 * - **BS-23 (polite-first stop).** `stop(code)` sends `StopAndExit(code)` to
 *   every child that said `Hello` (and answers a later `Hello` with it), waits
 *   `graceMs`, then SIGTERMs and, `graceMs` later, SIGKILLs; it resolves only
 *   once every child has exited.
 * - **BS-24 (no leftovers).** Disposing an alloc stops it and SIGKILLs
 *   anything left; an `allocate` that fails (launch error, abort) leaves no
 *   child and no served channel behind.
 *
 * @module
 */

import { settlesWithinLight } from "../internal/light_timer.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { serve } from "../channel/mod.ts";
import { WatchCell } from "../channel/watch_cell.ts";
import { isValidName, ProcId } from "../actor/reference.ts";
import type { ActorRef } from "../actor/port.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { formatProcessName, type ProcExitKind, type ProcLauncher } from "../launcher/types.ts";
import { toEnvSafeString } from "./mode.ts";
import { BOOTSTRAP_ADDR_ENV, BOOTSTRAP_INDEX_ENV } from "./mode.ts";
import { type Rank, type RankSession, serveRank } from "./_v0_rank.ts";

/** Which ranks to allocate: `0..numProcs-1`, or an explicit list. */
export type V0AllocRanks = { numProcs: number } | { ranks: readonly number[] };

/** What {@linkcode ProcessAllocator.allocate} launches. */
export type V0AllocSpec = V0AllocRanks & {
  /** Allocation name, the prefix of every proc name (default `v0_<random>`). */
  name?: string;
  /** Transport of the bootstrap channels and of the procs (default `unix`). */
  transport?: "unix" | "tcp";
};

/** Variants of {@linkcode V0AllocatorError}. */
export type V0AllocatorErrorVariant =
  | "Index"
  | "Protocol"
  | "Delivery"
  | "Exited"
  | "Launch";

/** A rank broke the v0 protocol, could not be reached, or ended before `Running`. */
export class V0AllocatorError extends Error {
  /** What went wrong: `Index` (wrong index), `Protocol` (bad or out-of-order message), `Delivery` (`StartProc` undeliverable), `Exited` (ended before running), `Launch`. */
  readonly variant: V0AllocatorErrorVariant;
  /** The rank concerned. */
  readonly rank: number;
  /** The offending message, if any. */
  readonly input?: unknown;

  /**
   * Creates the error.
   * @param variant What went wrong.
   * @param rank The rank concerned.
   * @param detail The state, completing "Cannot <action> for rank N: ".
   * @param options `cause` and the offending `input`.
   */
  constructor(
    variant: V0AllocatorErrorVariant,
    rank: number,
    detail: string,
    options?: ErrorOptions & { input?: unknown },
  ) {
    super(`Cannot allocate v0 proc for rank ${rank}: ${detail}`, options);
    this.name = "V0AllocatorError";
    this.variant = variant;
    this.rank = rank;
    if (options !== undefined && "input" in options) this.input = options.input;
  }
}

/** One step of one rank's life (BS-21). */
export type AllocProcState =
  | { kind: "Created"; rank: number; procId: ProcId; pid: number | undefined }
  | { kind: "Running"; rank: number; procId: ProcId; agent: ActorRef; addr: ChannelAddr }
  | { kind: "Failed"; rank: number; procId: ProcId; error: V0AllocatorError }
  | { kind: "Stopped"; rank: number; procId: ProcId; exit: ProcExitKind };

/** The `Running` event of a rank. */
export type AllocRunning = Extract<AllocProcState, { kind: "Running" }>;
/** The `Stopped` event of a rank. */
export type AllocStopped = Extract<AllocProcState, { kind: "Stopped" }>;

/** Options of {@linkcode ProcessAllocator}. */
export interface ProcessAllocatorOptions {
  /** Launches the children (default: a fresh `NativeProcLauncher` per alloc, disposed with it). */
  launcher?: ProcLauncher;
  /** Config snapshot installed in each child as its `ClientOverride` layer. */
  config?: ConfigSnapshot;
  /** Default grace of {@linkcode ProcessAlloc.stop}, ms (default 5000). */
  graceMs?: number;
}

/** Options of {@linkcode ProcessAlloc.stop}. */
export interface V0StopOptions {
  /** Wait for a cooperative exit, then between SIGTERM and SIGKILL, ms. */
  graceMs?: number;
}

const LAUNCH = Symbol("launch");
const ABANDON = Symbol("abandon");
const SEAL = Symbol("seal");

function ranksOf(spec: V0AllocRanks): number[] {
  if (spec === null || typeof spec !== "object") throw new TypeError(`Invalid alloc spec: ${spec}`);
  if ("ranks" in spec && spec.ranks !== undefined) {
    const ranks = [...spec.ranks];
    if (ranks.length === 0) throw new RangeError("Invalid alloc ranks: empty list");
    for (const r of ranks) {
      if (!Number.isSafeInteger(r) || r < 0) throw new RangeError(`Invalid alloc rank: ${r}`);
    }
    if (new Set(ranks).size !== ranks.length) {
      throw new RangeError(`Invalid alloc ranks: duplicates in [${ranks}]`);
    }
    return ranks;
  }
  const n = (spec as { numProcs?: unknown }).numProcs;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Invalid alloc numProcs: ${String(n)}`);
  }
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Launches v0 children with a bootstrap command (see the module doc).
 *
 * @example
 * ```ts
 * import { assertEquals, assertRejects } from "@std/assert";
 * import { BootstrapCommand } from "../launcher/command.ts";
 * import { ProcessAllocator } from "./v0_allocator.ts";
 * const allocator = new ProcessAllocator(BootstrapCommand.fromPath("deno"));
 * assertEquals(allocator.command.program, "deno");
 * await assertRejects(() => allocator.allocate({ numProcs: 0 }), RangeError);
 * ```
 */
export class ProcessAllocator {
  /** The command every child runs. */
  readonly command: BootstrapCommand;
  readonly #options: ProcessAllocatorOptions;

  /**
   * Creates an allocator.
   * @param command The bootstrap command (e.g. `deno run … bootstrap.ts`).
   * @param options Launcher, config snapshot and default stop grace.
   */
  constructor(command: BootstrapCommand, options: ProcessAllocatorOptions = {}) {
    this.command = command;
    this.#options = { ...options };
  }

  /**
   * Serves a bootstrap channel per rank and launches one child per rank.
   * @param spec Ranks, allocation name and transport.
   * @param options Cancellation of the launch itself.
   * @returns The allocation; read its events, then stop or dispose it.
   * @throws {TypeError | RangeError} For an invalid spec.
   * @throws {V0AllocatorError} `Launch` when a child cannot be started (BS-24).
   * @throws The signal's reason when aborted (BS-24).
   * @tags allow-run, allow-net, allow-read, allow-write, allow-env
   */
  async allocate(
    spec: V0AllocSpec,
    options: { signal?: AbortSignal } = {},
  ): Promise<ProcessAlloc> {
    const ranks = ranksOf(spec);
    const name = spec.name ?? `v0_${crypto.randomUUID().slice(0, 8)}`;
    if (!isValidName(name)) throw new TypeError(`Invalid alloc name: "${name}"`);
    const transport = spec.transport ?? "unix";
    if (transport !== "unix" && transport !== "tcp") {
      throw new TypeError(`Invalid alloc transport: "${transport}"`);
    }
    options.signal?.throwIfAborted();
    const owned = this.#options.launcher === undefined;
    const launcher = this.#options.launcher ?? new NativeProcLauncher();
    const alloc = new ProcessAlloc(name, {
      transport,
      launcher,
      ownsLauncher: owned,
      graceMs: this.#options.graceMs ?? 5_000,
    });
    try {
      for (const rank of ranks) {
        options.signal?.throwIfAborted();
        await alloc[LAUNCH](rank, { command: this.command, config: this.#options.config });
      }
      options.signal?.throwIfAborted();
    } catch (error) {
      await alloc[ABANDON](); // BS-24
      throw error;
    }
    alloc[SEAL]();
    return alloc;
  }
}

/**
 * A running v0 allocation: events, stop and disposal. Created by
 * {@linkcode ProcessAllocator.allocate}.
 */
export class ProcessAlloc implements AsyncDisposable, AsyncIterable<AllocProcState> {
  /** The allocation name. */
  readonly name: string;
  /** Transport of the bootstrap channels and procs. */
  readonly transport: "unix" | "tcp";
  readonly #launcher: ProcLauncher;
  readonly #ownsLauncher: boolean;
  readonly #graceMs: number;
  readonly #ranks: Rank[] = [];
  readonly #log: AllocProcState[] = [];
  readonly #count = new WatchCell(0);
  readonly #pids = new Map<number, number>();
  #stopped = 0;
  #sealed = false;
  #stopCode: number | undefined;
  readonly #session: RankSession = {
    transport: () => this.transport,
    stopCode: () => this.#stopCode,
    publish: (event) => this.#publish(event),
    kill: (r) =>
      this.#launcher.kill(r.procId.key).catch((e: unknown) => {
        console.warn(`hypermesh: cannot kill v0 rank ${r.rank}:`, e);
      }),
  };
  #stopping: Promise<AllocStopped[]> | undefined;

  /**
   * Use {@linkcode ProcessAllocator.allocate}.
   * @param name Allocation name.
   * @param parts `transport`; `launcher`; `ownsLauncher`, whether disposing
   * the alloc disposes the launcher; `graceMs`, the default stop grace.
   */
  constructor(
    name: string,
    parts: {
      transport: "unix" | "tcp";
      launcher: ProcLauncher;
      ownsLauncher: boolean;
      graceMs: number;
    },
  ) {
    const { transport, launcher, ownsLauncher, graceMs } = parts;
    this.name = name;
    this.transport = transport;
    this.#launcher = launcher;
    this.#ownsLauncher = ownsLauncher;
    this.#graceMs = graceMs;
  }

  /** The allocated ranks, in launch order. */
  get ranks(): number[] {
    return this.#ranks.map((r) => r.rank);
  }

  /** Rank → OS pid, for children the launcher reported a pid for. */
  get pids(): ReadonlyMap<number, number> {
    return this.#pids;
  }

  /**
   * The proc id assigned to `rank`.
   * @param rank An allocated rank.
   * @returns Its proc id, or `undefined`.
   */
  procId(rank: number): ProcId | undefined {
    return this.#ranks.find((r) => r.rank === rank)?.procId;
  }

  /**
   * Every event from the first, in order; ends once every rank is `Stopped`
   * (BS-21).
   * @param options Cancellation.
   * @returns An async generator of events.
   * @throws The signal's reason when aborted.
   */
  async *events(options: { signal?: AbortSignal } = {}): AsyncGenerator<AllocProcState, void> {
    let i = 0;
    for await (const n of this.#count.watch(options)) {
      while (i < n) yield this.#log[i++];
    }
    while (i < this.#log.length) yield this.#log[i++];
  }

  /**
   * Same as {@linkcode ProcessAlloc.events} without cancellation.
   * @returns An async iterator of events.
   */
  [Symbol.asyncIterator](): AsyncIterator<AllocProcState> {
    return this.events();
  }

  /**
   * Waits until every rank is `Running`.
   * @param options Cancellation.
   * @returns The `Running` events, in rank order.
   * @throws {V0AllocatorError} The error of the first rank that failed, or
   * `Exited` for a rank that stopped first.
   * @throws The signal's reason when aborted.
   */
  async running(options: { signal?: AbortSignal } = {}): Promise<AllocRunning[]> {
    const running = new Map<number, AllocRunning>();
    for await (const ev of this.events(options)) {
      if (ev.kind === "Failed") throw ev.error;
      if (ev.kind === "Stopped") {
        throw new V0AllocatorError("Exited", ev.rank, `its process ended (${ev.exit.kind})`, {
          input: ev.exit,
        });
      }
      if (ev.kind === "Running") running.set(ev.rank, ev);
      if (running.size === this.#ranks.length) {
        return [...running.values()].sort((a, b) => a.rank - b.rank);
      }
    }
    throw new V0AllocatorError("Exited", -1, "the allocation ended");
  }

  /**
   * Stops every child: `StopAndExit(code)`, then SIGTERM, then SIGKILL
   * (BS-23). Idempotent: later calls return the first call's result.
   * @param code The exit code asked of every child.
   * @param options Grace period.
   * @returns The `Stopped` event of every rank, in launch order.
   * @throws {RangeError} For a non-integer code.
   * @tags allow-run
   */
  stop(code = 0, options: V0StopOptions = {}): Promise<AllocStopped[]> {
    if (!Number.isInteger(code)) {
      return Promise.reject(new RangeError(`Invalid exit code: ${code}`));
    }
    this.#stopping ??= this.#stop(code, options.graceMs ?? this.#graceMs);
    return this.#stopping;
  }

  /** Stops (BS-23), SIGKILLs anything left and releases the launcher (BS-24). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.stop(0);
    } finally {
      await this[ABANDON]();
    }
  }

  async #stop(code: number, graceMs: number): Promise<AllocStopped[]> {
    this.#stopCode = code;
    await Promise.all(this.#ranks.map(async (r) => {
      if (r.exit === undefined) r.tx?.post({ StopAndExit: code }); // BS-23
      if (await settlesWithinLight(r.done!, graceMs)) return;
      try {
        await this.#launcher.terminate(r.procId.key, { graceMs }); // SIGTERM, then SIGKILL
      } catch (error) {
        console.warn(`hypermesh: cannot terminate v0 rank ${r.rank}:`, error);
      }
    }));
    return await Promise.all(this.#ranks.map((r) => r.done!));
  }

  /**
   * Internal: SIGKILLs every child still running, awaits every exit and
   * disposes an owned launcher. Idempotent.
   */
  async [ABANDON](): Promise<void> {
    await Promise.all(this.#ranks.map(async (r) => {
      if (r.exit === undefined) {
        await this.#launcher.kill(r.procId.key).catch((error: unknown) => {
          console.warn(`hypermesh: cannot kill v0 rank ${r.rank}:`, error);
        });
      }
      await r.done;
    }));
    if (this.#ownsLauncher) await this.#launcher[Symbol.asyncDispose]();
    this[SEAL]();
  }

  /**
   * Internal: serves rank `rank`'s channel and launches its child.
   * @param rank The rank.
   * @param options `command`, the bootstrap command; `config`, the config
   * snapshot for the child.
   */
  async [LAUNCH](
    rank: number,
    options: { command: BootstrapCommand; config?: ConfigSnapshot },
  ): Promise<void> {
    const { command, config } = options;
    const server = await serve<unknown>(ChannelAddr.any(this.transport));
    const procId = new ProcId(server.addr, `${this.name}-${rank}`);
    let launched;
    try {
      launched = await this.#launcher.launch(procId.key, {
        bootstrapPayload: toEnvSafeString(
          config === undefined ? { kind: "V0ProcMesh" } : { kind: "V0ProcMesh", config },
        ),
        processName: formatProcessName(procId.key),
        command: command.withEnv({
          [BOOTSTRAP_ADDR_ENV]: server.addr.toString(),
          [BOOTSTRAP_INDEX_ENV]: String(rank),
        }),
        wantStdio: false,
        tailLines: 0,
      });
    } catch (cause) {
      await server.close();
      throw new V0AllocatorError("Launch", rank, `the child cannot be launched`, { cause });
    }
    const r: Rank = { rank, procId, server, phase: "Launched" };
    this.#ranks.push(r);
    if (launched.pid !== undefined) this.#pids.set(rank, launched.pid);
    this.#publish({ kind: "Created", rank, procId, pid: launched.pid });
    const loop = serveRank(r, this.#session);
    r.done = launched.exit.then(async (result) => {
      r.exit = result.kind;
      await r.tx?.close();
      await server.close(); // BS-22: only once the child is gone
      await loop;
      const stopped: AllocStopped = { kind: "Stopped", rank, procId, exit: result.kind };
      this.#publish(stopped); // BS-21: last event of the rank
      return stopped;
    });
  }

  #publish(event: AllocProcState): void {
    this.#log.push(event);
    this.#count.set(this.#log.length);
    if (event.kind === "Stopped") this.#stopped++;
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (this.#sealed && this.#stopped === this.#ranks.length) this.#count.close(); // BS-21
  }

  /** Internal: no rank will be added any more. */
  [SEAL](): void {
    this.#sealed = true;
    this.#maybeEnd();
  }
}
