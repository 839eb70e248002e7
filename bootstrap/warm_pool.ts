/**
 * Folder-private: the warm pool of a `BootstrapProcManager`
 * (`HYPERMESH_PREWARM_PROCS`). It keeps `size` children of the manager's
 * default command pre-spawned (`NativeProcLauncher.prespawn`: module graph
 * loaded, parent-death guard armed, waiting on stdin) and, for a spawn that
 * can use one, has the manager's native launcher adopt it
 * (`launch(procId, { ...options, warm })`) instead of starting a process; it
 * replenishes once spawns pause (`refillDelayMs` after the last take, so a
 * burst is not slowed by as many fresh processes starting under it).
 * Anything else launches cold, unchanged.
 *
 * A spawn uses a warm child only when all hold (BS-32): the manager's
 * launcher is a `NativeProcLauncher` (not systemd, not a custom launcher),
 * the command runs the pool's program (the manager's default, or a per-proc
 * `bootstrapCommand` with the same program and args whose env differs only
 * in variables a started process can still take, BS-42), there is no
 * `procBind` (wrapping needs a fresh exec), and the proc's stdio needs
 * (`wantStdio`: log forwarding, file capture or tail lines) match the
 * pool's, fixed at pre-spawn.
 *
 * The pool is on by default (`HYPERMESH_PREWARM_PROCS=-1`, BS-41): a host
 * keeps {@linkcode autoWarmPoolSize} children ready — 4 on a machine with 2
 * cores and 2 GiB available — so the first spawns a user makes take warm
 * children (spawn → Ready in a fraction of a bare child's start) without
 * any setting. An idle warm child costs about 15 MB of memory of its own
 * (USS; about 44 MB RSS, most of it the shared `deno` binary). Set
 * `HYPERMESH_PREWARM_PROCS=0` to turn it off, or a number to fix the size.
 *
 * Unadopted warm children are owned by the pool's own `NativeProcLauncher`
 * (so choosing the manager's launcher stays lazy, BS-8); adoption moves a
 * child into the manager's launcher, whose pid table, exit monitor,
 * terminate/kill and dispose then treat it as a cold launch (LN-20..LN-22).
 *
 * ## Invariants (BS-*)
 * - **BS-32 (eligible or cold).** A spawn that does not meet the conditions
 *   above, or finds no warm child left, launches cold exactly as without a
 *   pool.
 * - **BS-33 (never hand out the dead).** Only a child whose adoption
 *   succeeded becomes a proc (LN-20); a warm child that exited is discarded
 *   (its exit observed, its stdio released) and replaced, and the spawn tries
 *   the next one, then cold. "Exited" means visibly dead: its exit observed
 *   or its stdin broken (reaped). A child killed in the very instant of its
 *   adoption (its threads still tearing down) ends as that proc's
 *   `Killed(9)`, exactly as a cold child killed at start would.
 * - **BS-34 (pool dispose).** Disposing the pool stops refilling, SIGKILLs
 *   every unadopted warm child and awaits every exit; adopted ones belong to
 *   the manager's launcher.
 * - **BS-35 (bounded respawn).** When `maxQuickDeaths` warm children in a
 *   row die within a second of being spawned (a broken command), or
 *   pre-spawning fails, the pool disables itself with one warning; spawns
 *   launch cold.
 * - **BS-43 (quiet refill).** While a hold ({@linkcode WarmPool.holdRefill})
 *   is open — the manager holds one from each spawn until that proc is
 *   Ready (or ended), and around every stop — the pool starts no warm child
 *   for a refill; the refill runs `refillDelayMs` after the last take or the
 *   last release, whichever is later. Starting and stopping procs get the
 *   CPU; the pool refills once the host is quiet. (Replacing a warm child
 *   that died is not held back: BS-33.)
 * - **BS-44 (staggered refill).** After the initial fill, the pool starts
 *   at most one warm child per `refillStaggerMs` (default
 *   {@linkcode DEFAULT_REFILL_STAGGER_MS}): a refill after a burst of spawns
 *   never starts a burst of runtimes that would starve the procs just
 *   started (or being stopped, or serving). The initial fill starts every
 *   child at once (nothing runs yet to compete with).
 * - **BS-49 (an adopted child is a cold one, in memory and at exit).** A
 *   warm child's preparation loads nothing a cold proc would not load and
 *   leaves nothing behind for its exit: its channel warm-up runs in a
 *   private directory of its own, removed before the child waits for its
 *   start line, and registers no `unload` listener (one makes every
 *   `Deno.exit` dispatch `unload` through user code: an adopted child
 *   reached `exit_group` 2.0–4.5 ms after `Deno.exit`, a cold one 0.4 ms);
 *   and it does not load the runtime's node-compatible timers (BS-37), which
 *   cost 3 MB of RSS per warm child (53–55 MB against 50–51.5 MB, measured)
 *   and a slower exit. Stop of 8 adopted procs: 80 → 58 ms.
 * - **BS-41 (on by default, sized to the machine).** With
 *   `HYPERMESH_PREWARM_PROCS` at its default (-1) a manager of the native
 *   launcher keeps {@linkcode autoWarmPoolSize} warm children: at most
 *   {@linkcode AUTO_WARM_POOL_MAX}, at most two per core, and at most one
 *   per {@linkcode AUTO_WARM_POOL_MIB_PER_CHILD} MiB of available memory
 *   (none below that); 0 turns the pool off, a positive value fixes it.
 * - **BS-42 (per-proc commands of the pool's program).** A spawn with its
 *   own `bootstrapCommand` takes a warm child when that command runs the
 *   pool's program (same program, `arg0`, args; env differing only in
 *   variables a started process can take, LN-21); the child starts with
 *   the spawn's env exactly (LN-23). Any other command launches cold.
 *
 * @module
 */

import { WatchCell } from "../channel/watch_cell.ts";
import { attrs, config } from "../config/mod.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { childCommand } from "./_child_command.ts";
import {
  type LaunchOptions,
  type LaunchResult,
  parseLauncherKind,
  type ProcLauncher,
} from "../launcher/types.ts";
import { type WarmChild, warmMismatch } from "../launcher/warm_child.ts";
import { PARENT_PID_ENV } from "./mode.ts";

/** Options of {@linkcode WarmPool}. */
export interface WarmPoolOptions {
  /** How many warm children to keep (an integer ≥ 1). */
  size: number;
  /** The command (the manager's default, with its per-manager env). */
  command: BootstrapCommand;
  /** Whether warm children's stdout/stderr are piped. */
  wantStdio: boolean;
  /** Arm each child's parent-death signal at its start (LN-24, BS-51). */
  parentDeathSignal?: "SIGKILL";
  /**
   * Quiet time after the last take before replenishing (default
   * {@linkcode DEFAULT_REFILL_DELAY_MS}; 0: at once). A burst of spawns is
   * not slowed by the pool starting as many fresh processes under it.
   */
  refillDelayMs?: number;
  /** Quick deaths in a row that disable the pool (default 3, BS-35). */
  maxQuickDeaths?: number;
  /**
   * Gap between the starts of two refilled children (default
   * {@linkcode DEFAULT_REFILL_STAGGER_MS}; 0: all at once). BS-44.
   */
  refillStaggerMs?: number;
}

/** Counters of a {@linkcode WarmPool}. */
export interface WarmPoolStats {
  /** Warm children pre-spawned. */
  spawned: number;
  /** Spawns served by a warm child. */
  adopted: number;
  /** Spawns that launched cold (ineligible, or no warm child left). */
  cold: number;
  /** Warm children that died unadopted or failed their adoption. */
  discarded: number;
}

/** Default quiet time after the last take before the pool replenishes. */
export const DEFAULT_REFILL_DELAY_MS = 250;

/**
 * Default gap between the starts of two refilled warm children: a child
 * loading its runtime takes ~75 ms of one core, so one start per 150 ms
 * leaves most of a 2-core machine to the procs while the pool refills.
 */
export const DEFAULT_REFILL_STAGGER_MS = 150;

/** A warm child's quick death: within this long of its spawn. */
const QUICK_DEATH_MS = 1_000;

/**
 * Keeps warm children and launches through them (see the module doc).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "../launcher/command.ts";
 * import { WarmPool } from "./warm_pool.ts";
 * // `cat` stands in for a warm bootstrap child: it waits on stdin.
 * await using pool = new WarmPool({
 *   size: 1,
 *   command: BootstrapCommand.fromPath("cat"),
 *   wantStdio: false,
 * });
 * assertEquals((await pool.waitFor((pids) => pids.length === 1))?.length, 1);
 * ```
 */
export class WarmPool implements AsyncDisposable {
  /** How many warm children it keeps. */
  readonly size: number;
  /** The command its children run. */
  readonly command: BootstrapCommand;
  /** Whether its children's stdout/stderr are piped. */
  readonly wantStdio: boolean;
  /** Whether its children start with their parent-death signal armed (BS-51). */
  readonly parentDeathSignal: "SIGKILL" | undefined;
  readonly #refillDelayMs: number;
  readonly #maxQuickDeaths: number;
  readonly #refillStaggerMs: number;
  readonly #launcher = new NativeProcLauncher(); // owns the unadopted (BS-34)
  readonly #ready: WarmChild[] = [];
  readonly #pids = new WatchCell<readonly number[]>([]);
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #stats: WarmPoolStats = { spawned: 0, adopted: 0, cold: 0, discarded: 0 };
  #spawning = 0;
  #lastStart = Number.NEGATIVE_INFINITY;
  #busy = 0;
  #quickDeaths = 0;
  #refill: ReturnType<typeof setTimeout> | undefined;
  #disabled: string | undefined;
  #closed = false;
  #disposing: Promise<void> | undefined;

  /**
   * Creates the pool and starts pre-spawning.
   * @param options Size, command, stdio.
   * @throws {RangeError} When `size` is not an integer ≥ 1.
   * @tags allow-run
   */
  constructor(options: WarmPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`Invalid warm pool size: ${options.size}`);
    }
    this.size = options.size;
    this.command = options.command;
    this.wantStdio = options.wantStdio;
    this.parentDeathSignal = options.parentDeathSignal;
    this.#refillDelayMs = options.refillDelayMs ?? DEFAULT_REFILL_DELAY_MS;
    this.#maxQuickDeaths = options.maxQuickDeaths ?? 3;
    this.#refillStaggerMs = options.refillStaggerMs ?? DEFAULT_REFILL_STAGGER_MS;
    this.#fill(true);
  }

  /** Pids of the warm children waiting now (oldest first). */
  get pids(): readonly number[] {
    return this.#pids.get();
  }

  /** A copy of the counters. */
  get stats(): WarmPoolStats {
    return { ...this.#stats };
  }

  /** Why the pool stopped pre-spawning (BS-35), if it did. */
  get disabled(): string | undefined {
    return this.#disabled;
  }

  /**
   * Waits until the waiting pids satisfy `predicate`.
   * @param predicate The condition.
   * @param options Cancellation.
   * @returns The pids, or `undefined` when the pool closed first.
   * @throws The signal's reason when aborted.
   */
  waitFor(
    predicate: (pids: readonly number[]) => boolean,
    options: { signal?: AbortSignal } = {},
  ): Promise<readonly number[] | undefined> {
    return this.#pids.waitFor(predicate, options);
  }

  /**
   * Why a launch through `launcher` with `options` cannot use a warm child
   * (BS-32), if it cannot.
   * @param launcher The manager's launcher.
   * @param options The launch options.
   * @returns A short reason, or `undefined` when it can.
   */
  ineligible(launcher: ProcLauncher, options: LaunchOptions): string | undefined {
    if (this.#closed) return "the warm pool is disposed";
    if (!(launcher instanceof NativeProcLauncher)) {
      return `the ${launcher.kind} launcher cannot adopt warm children`;
    }
    if (options.procBind !== undefined) return "a proc bind needs a fresh exec";
    if (options.wantStdio !== this.wantStdio) return "its stdio needs differ";
    return warmMismatch(this.command, options.command); // BS-42
  }

  /**
   * Launches `procId` through `launcher`: adopting a warm child when
   * eligible (BS-32, BS-33), else cold (`launcher.launch(procId, options)`).
   * @param launcher The manager's launcher.
   * @param procId Proc id text.
   * @param options The launch options.
   * @returns The launch result.
   * @throws {import("../launcher/types.ts").ProcLauncherError} As `launcher.launch`.
   */
  async launch(
    launcher: ProcLauncher,
    procId: string,
    options: LaunchOptions,
  ): Promise<LaunchResult> {
    const reason = this.ineligible(launcher, options);
    if (reason === undefined) {
      const native = launcher as NativeProcLauncher;
      let warm: WarmChild | undefined;
      while ((warm = this.#ready.shift()) !== undefined) {
        this.#publish();
        try {
          const result = await native.launch(procId, { ...options, warm });
          this.#stats.adopted++;
          this.#quickDeaths = 0;
          this.#scheduleFill();
          return result;
        } catch (error) {
          if (warm.state === "warm") {
            // Not the child's fault (proc id in use, launcher disposed): a cold
            // launch would fail alike. Keep the child.
            this.#ready.unshift(warm);
            this.#publish();
            throw error;
          }
          this.#discard(warm); // BS-33: dead on its start line; try the next
          this.#scheduleFill();
        }
      }
    } else if (!(launcher instanceof NativeProcLauncher) && !this.#closed) {
      this.#disable(reason); // nothing here will ever be adopted
    }
    this.#stats.cold++;
    return await launcher.launch(procId, options); // BS-32
  }

  /**
   * Holds the refill back while the returned value is not disposed (BS-43):
   * the manager holds it while procs start and stop, so children starting
   * their runtime never take the CPU from them. The refill delay counts
   * again from the last release.
   * @returns The hold; dispose it (`using`) when the work is done.
   * @example
   * ```ts
   * import { BootstrapCommand } from "../launcher/command.ts";
   * import { WarmPool } from "./warm_pool.ts";
   * await using pool = new WarmPool({ size: 1, command: BootstrapCommand.fromPath("cat"), wantStdio: false });
   * {
   *   using _quiet = pool.holdRefill();
   *   // … stop procs …
   * }
   * ```
   */
  holdRefill(): Disposable {
    this.#busy++;
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        if (--this.#busy === 0 && this.#ready.length + this.#spawning < this.size) {
          this.#scheduleFill();
        }
      },
    };
  }

  /**
   * Stops refilling, SIGKILLs every unadopted warm child and awaits every
   * exit (BS-34). Idempotent.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#refill);
    this.#refill = undefined;
    this.#ready.length = 0;
    this.#publish();
    await this.#launcher[Symbol.asyncDispose](); // BS-34, LN-5, LN-22
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    this.#pids.close();
  }

  #publish(): void {
    if (!this.#pids.closed) this.#pids.set(this.#ready.map((w) => w.pid));
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch((error) =>
      console.error("hypermesh: warm pool task failed:", error)
    );
    this.#tasks.add(tracked);
    tracked.finally(() => this.#tasks.delete(tracked));
  }

  #scheduleFill(): void {
    if (this.#closed || this.#disabled !== undefined) return;
    clearTimeout(this.#refill); // debounced: the delay counts from the last take
    this.#refill = undefined;
    if (this.#busy > 0) return; // BS-43: the last release schedules it
    if (this.#refillDelayMs <= 0) return this.#fill();
    this.#refill = setTimeout(() => {
      this.#refill = undefined;
      if (this.#busy === 0) this.#fill();
    }, this.#refillDelayMs);
  }

  /**
   * Starts warm children up to the size: all at once on a `burst` (the
   * initial fill, or a stagger of 0), else one now and the next after
   * `refillStaggerMs` (BS-44), unless a hold is open (BS-43).
   */
  #fill(burst = this.#refillStaggerMs <= 0): void {
    while (
      !this.#closed && this.#disabled === undefined &&
      this.#ready.length + this.#spawning < this.size
    ) {
      const wait = this.#lastStart + this.#refillStaggerMs - performance.now();
      if (!burst && wait > 0) {
        clearTimeout(this.#refill); // BS-44: one start per stagger interval
        this.#refill = setTimeout(() => {
          this.#refill = undefined;
          if (this.#busy === 0) this.#fill();
        }, wait);
        return;
      }
      this.#lastStart = performance.now();
      this.#spawning++;
      this.#track(
        this.#launcher.prespawn({
          command: this.command,
          wantStdio: this.wantStdio,
          parentDeathSignal: this.parentDeathSignal,
        }).then(
          (warm) => {
            this.#spawning--;
            this.#stats.spawned++;
            this.#ready.push(warm);
            this.#publish();
            // Observed for every warm child; for an adopted one this is a no-op.
            warm.exit.then(() => this.#onExit(warm));
          },
          (error: unknown) => {
            this.#spawning--;
            if (!this.#closed) this.#disable(`cannot pre-spawn: ${(error as Error).message}`);
          },
        ),
      );
    }
  }

  #onExit(warm: WarmChild): void {
    const at = this.#ready.indexOf(warm);
    if (at < 0) return; // adopted, or already discarded
    this.#ready.splice(at, 1);
    this.#discard(warm); // BS-33
    if (this.#closed) return;
    if (Date.now() - warm.spawnedAt < QUICK_DEATH_MS) this.#quickDeaths++;
    else this.#quickDeaths = 0;
    if (this.#quickDeaths >= this.#maxQuickDeaths) {
      this.#disable(`${this.#quickDeaths} warm children in a row exited right after spawning`);
      return;
    }
    this.#fill();
  }

  #discard(warm: WarmChild): void {
    this.#stats.discarded++;
    this.#publish();
    this.#track(warm[Symbol.asyncDispose]()); // LN-22: exit awaited, stdio released
  }

  #disable(reason: string): void {
    if (this.#disabled !== undefined) return;
    this.#disabled = reason; // BS-35
    console.warn(`hypermesh: warm pool disabled (spawns launch cold): ${reason}`);
    const idle = this.#ready.splice(0);
    this.#publish();
    for (const warm of idle) this.#track(warm[Symbol.asyncDispose]());
  }
}

/** The most warm children the automatic size picks (BS-41). */
export const AUTO_WARM_POOL_MAX = 4;
/** Available memory the automatic size wants per warm child, MiB (BS-41). */
export const AUTO_WARM_POOL_MIB_PER_CHILD = 512;

/**
 * The automatic warm pool size (`HYPERMESH_PREWARM_PROCS=-1`, BS-41): the
 * least of {@linkcode AUTO_WARM_POOL_MAX}, two per core, and one per
 * {@linkcode AUTO_WARM_POOL_MIB_PER_CHILD} MiB of available memory. Without
 * `--allow-sys` the memory is not known and the core bound alone applies.
 * @param machine The machine (default: this one, from `navigator` and
 * `Deno.systemMemoryInfo()`); `availableBytes` undefined when unknown.
 * @returns The size, 0 when the machine is too small for any.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { autoWarmPoolSize } from "./warm_pool.ts";
 * assertEquals(autoWarmPoolSize({ cores: 2, availableBytes: 8 * 2 ** 30 }), 4);
 * assertEquals(autoWarmPoolSize({ cores: 1, availableBytes: 8 * 2 ** 30 }), 2);
 * assertEquals(autoWarmPoolSize({ cores: 8, availableBytes: 1.5 * 2 ** 30 }), 3);
 * assertEquals(autoWarmPoolSize({ cores: 8, availableBytes: 256 * 2 ** 20 }), 0);
 * ```
 */
export function autoWarmPoolSize(
  machine: { cores: number; availableBytes: number | undefined } = thisMachine(),
): number {
  let size = Math.min(AUTO_WARM_POOL_MAX, 2 * Math.max(1, Math.floor(machine.cores)));
  if (machine.availableBytes !== undefined) {
    size = Math.min(
      size,
      Math.floor(machine.availableBytes / (AUTO_WARM_POOL_MIB_PER_CHILD * 2 ** 20)),
    );
  }
  return Math.max(0, size);
}

function thisMachine(): { cores: number; availableBytes: number | undefined } {
  let availableBytes: number | undefined;
  try {
    // Queried first: never a permission prompt from a daemon on a terminal.
    if (Deno.permissions.querySync({ name: "sys", kind: "systemMemoryInfo" }).state === "granted") {
      availableBytes = Deno.systemMemoryInfo().available;
    }
  } catch {
    availableBytes = undefined; // no --allow-sys
  }
  return { cores: navigator.hardwareConcurrency ?? 1, availableBytes };
}

/**
 * The warm pool a manager with default command `command` keeps, per the
 * global config: `HYPERMESH_PREWARM_PROCS` children ({@linkcode autoWarmPoolSize}
 * when negative, the default; none when 0, or when
 * `HYPERACTOR_MESH_PROC_LAUNCHER_KIND` is not native), with this process as
 * their parent-death guard's parent, and stdout/stderr piped when log
 * forwarding, file capture or tail lines are on globally (a spawn whose
 * overrides say otherwise launches cold, BS-32).
 * @param command The manager's default command.
 * @returns The pool (already pre-spawning), or `undefined`.
 * @tags allow-run, allow-env
 */
export function warmPoolFromConfig(command: BootstrapCommand): WarmPool | undefined {
  const configured = Math.floor(config.get(attrs.PREWARM_PROCS));
  const size = configured < 0 ? autoWarmPoolSize() : configured; // BS-41
  if (!(size >= 1)) return undefined;
  try {
    if (parseLauncherKind(config.get(attrs.MESH_PROC_LAUNCHER_KIND)) !== "native") return undefined;
  } catch {
    return undefined; // the launcher choice reports the bad kind at first spawn
  }
  const wantStdio = config.get(attrs.MESH_ENABLE_LOG_FORWARDING) ||
    config.get(attrs.MESH_ENABLE_FILE_CAPTURE) ||
    Math.floor(config.get(attrs.MESH_TAIL_LOG_LINES)) > 0;
  return new WarmPool({
    size,
    command: childCommand(command).withEnv({ [PARENT_PID_ENV]: String(Deno.pid) }), // BS-50
    wantStdio,
    ...(config.get(attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG)
      ? { parentDeathSignal: "SIGKILL" as const }
      : {}), // BS-51
  });
}
