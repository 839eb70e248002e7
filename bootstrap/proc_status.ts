/**
 * `ProcStatus`: the live lifecycle of a proc hosted in an OS process, and
 * `ProcStatusCell`, the watch cell that only accepts the seed's legal
 * transitions.
 *
 * Port of `hyperactor_mesh::bootstrap::{ProcStatus, ReadyError}` and the
 * `mark_*` / `transition` / `ready` / `wait` logic of `BootstrapProcHandle`.
 * Legal moves (anything else is refused, the state is left unchanged and a
 * warning is logged):
 *
 * | from \ to | Running | Ready | Stopping | Stopped / Killed / Failed |
 * |-----------|---------|-------|----------|---------------------------|
 * | Starting  | yes     | yes   | yes      | yes                       |
 * | Running   |         | yes   | yes      | yes                       |
 * | Ready     |         |       | yes      | yes                       |
 * | Stopping  |         |       |          | yes                       |
 * | terminal  |         |       |          |                           |
 *
 * ## Invariants (BS-*)
 * - **BS-1 (locking).** A transition is one synchronous step: no other lock
 *   and no `await` inside {@linkcode ProcStatusCell.transition}, so the
 *   stored status and the published one never diverge or reorder.
 * - **BS-6 (terminal is final).** Once `Stopped`, `Killed` or `Failed`, the
 *   status never changes again.
 *
 * @module
 */

import { WatchCell, type WatchOptions } from "../channel/watch_cell.ts";
import type { ChannelAddr } from "../channel/addr.ts";
import { ReadyError, WaitError } from "../host/proc_handle.ts";

/** The OS process has been spawned but is not yet confirmed running. */
export interface StartingStatus {
  /** Discriminant. */
  kind: "Starting";
}
/** The OS process is alive; bootstrap may still be running. */
export interface RunningStatus {
  /** Discriminant. */
  kind: "Running";
  /** Process start, epoch ms. */
  startedAt: number;
}
/** Bootstrap completed and the proc is serving. */
export interface ReadyStatus {
  /** Discriminant. */
  kind: "Ready";
  /** Process start, epoch ms. */
  startedAt: number;
  /** Where the proc serves. */
  addr: ChannelAddr | string;
  /** The proc agent's actor id text. */
  agent: string;
}
/** A stop was requested; the OS process has not exited yet. */
export interface StoppingStatus {
  /** Discriminant. */
  kind: "Stopping";
  /** Process start, epoch ms. */
  startedAt: number;
}
/** The process exited with an exit code. */
export interface StoppedStatus {
  /** Discriminant. */
  kind: "Stopped";
  /** The exit code. */
  exitCode: number;
  /** Last stderr lines, for diagnostics. */
  stderrTail: string[];
}
/** The process was killed by a signal. */
export interface KilledStatus {
  /** Discriminant. */
  kind: "Killed";
  /** Signal number. */
  signal: number;
  /** Whether a core was dumped. */
  coreDumped: boolean;
}
/** The proc or its process failed for another reason. */
export interface FailedStatus {
  /** Discriminant. */
  kind: "Failed";
  /** Why. */
  reason: string;
}

/** A terminal status. */
export type ProcExitStatus = StoppedStatus | KilledStatus | FailedStatus;

/** The lifecycle state of a proc hosted in an OS process. */
export type ProcStatus =
  | StartingStatus
  | RunningStatus
  | ReadyStatus
  | StoppingStatus
  | ProcExitStatus;

/**
 * Whether `status` is terminal (`Stopped`, `Killed` or `Failed`).
 * @param status A status.
 * @returns `true` for an exit status.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isExit } from "./proc_status.ts";
 * assert(isExit({ kind: "Failed", reason: "boom" }));
 * assert(!isExit({ kind: "Starting" }));
 * ```
 */
export function isExit(status: ProcStatus): status is ProcExitStatus {
  return status.kind === "Stopped" || status.kind === "Killed" || status.kind === "Failed";
}

const LEGAL: Readonly<Record<ProcStatus["kind"], readonly ProcStatus["kind"][]>> = {
  Starting: ["Running", "Ready", "Stopping", "Stopped", "Killed", "Failed"],
  Running: ["Ready", "Stopping", "Stopped", "Killed", "Failed"],
  Ready: ["Stopping", "Stopped", "Killed", "Failed"],
  Stopping: ["Stopped", "Killed", "Failed"],
  Stopped: [], // BS-6
  Killed: [],
  Failed: [],
};

/**
 * Whether the seed allows moving from `from` to `to`.
 * @param from The current kind.
 * @param to The proposed kind.
 * @returns `true` when legal.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isLegalTransition } from "./proc_status.ts";
 * assert(isLegalTransition("Stopping", "Failed"));
 * assert(!isLegalTransition("Stopping", "Ready"));
 * ```
 */
export function isLegalTransition(from: ProcStatus["kind"], to: ProcStatus["kind"]): boolean {
  return LEGAL[from]?.includes(to) ?? false;
}

/**
 * Formats a duration like Rust's `humantime::format_duration`, to the
 * millisecond: `0s`, `42s`, `1m 3s 250ms`, `2days 1h`.
 * @param ms Non-negative duration in ms.
 * @returns The text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatUptime } from "./proc_status.ts";
 * assertEquals(formatUptime(63_250), "1m 3s 250ms");
 * assertEquals(formatUptime(0), "0s");
 * ```
 */
export function formatUptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms));
  let secs = Math.floor(total / 1000);
  const millis = total % 1000;
  const years = Math.floor(secs / 31_557_600);
  secs %= 31_557_600;
  const months = Math.floor(secs / 2_630_016);
  secs %= 2_630_016;
  const days = Math.floor(secs / 86_400);
  secs %= 86_400;
  const parts: string[] = [];
  const plural = (n: number, unit: string) => {
    if (n > 0) parts.push(`${n}${unit}${n > 1 ? "s" : ""}`);
  };
  const item = (n: number, unit: string) => {
    if (n > 0) parts.push(`${n}${unit}`);
  };
  plural(years, "year");
  plural(months, "month");
  plural(days, "day");
  item(Math.floor(secs / 3600), "h");
  item(Math.floor((secs % 3600) / 60), "m");
  item(secs % 60, "s");
  item(millis, "ms");
  return parts.length === 0 ? "0s" : parts.join(" ");
}

/**
 * The seed's `Display` text: `Starting`, `Running up 3s`,
 * `Ready at unix:/x up 1s`, `Stopping up 2s`, `Stopped(exit=0)`,
 * `Killed(sig=9)`, `Killed(sig=9, core)`, `Failed(reason)`. The uptime is
 * omitted when `startedAt` lies after `now`.
 * @param status A status.
 * @param now Reference time, epoch ms (default `Date.now()`).
 * @returns The text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { displayProcStatus } from "./proc_status.ts";
 * assertEquals(displayProcStatus({ kind: "Running", startedAt: 1_000 }, 4_000), "Running up 3s");
 * assertEquals(displayProcStatus({ kind: "Killed", signal: 9, coreDumped: true }), "Killed(sig=9, core)");
 * ```
 */
export function displayProcStatus(status: ProcStatus, now: number = Date.now()): string {
  const uptime = (startedAt: number) =>
    now >= startedAt ? ` up ${formatUptime(now - startedAt)}` : "";
  switch (status.kind) {
    case "Starting":
      return "Starting";
    case "Running":
      return `Running${uptime(status.startedAt)}`;
    case "Ready":
      return `Ready at ${String(status.addr)}${uptime(status.startedAt)}`;
    case "Stopping":
      return `Stopping${uptime(status.startedAt)}`;
    case "Stopped":
      return `Stopped(exit=${status.exitCode})`;
    case "Killed":
      return status.coreDumped
        ? `Killed(sig=${status.signal}, core)`
        : `Killed(sig=${status.signal})`;
    case "Failed":
      return `Failed(${status.reason})`;
  }
}

/** Options of {@linkcode ProcStatusCell}. */
export interface ProcStatusCellOptions {
  /** Called on a refused transition (default: `console.warn`). */
  onIllegal?: (from: ProcStatus, to: ProcStatus, message: string) => void;
  /** Clock, epoch ms (default `Date.now`). */
  now?: () => number;
}

/**
 * A proc's status, published through a {@linkcode WatchCell}; starts as
 * `Starting` and moves only along legal transitions (BS-1, BS-6).
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { ProcStatusCell } from "./proc_status.ts";
 *
 * const cell = new ProcStatusCell({ onIllegal: () => {} }); // default: console.warn
 * const ready = cell.ready();
 * assert(cell.markRunning(Date.now()));
 * assert(cell.markReady("unix:/tmp/p", "unix:/tmp/p,p,proc_agent[0]"));
 * assertEquals((await ready).kind, "Ready");
 * assert(cell.markStopped(0, []));
 * assert(!cell.markRunning(Date.now()), "terminal is final");
 * assertEquals((await cell.wait()).kind, "Stopped");
 * cell.close();
 * ```
 */
export class ProcStatusCell {
  #cell = new WatchCell<ProcStatus>({ kind: "Starting" });
  #onIllegal: NonNullable<ProcStatusCellOptions["onIllegal"]>;
  #now: () => number;

  /**
   * Creates a cell in `Starting`.
   * @param options Warning sink and clock.
   */
  constructor(options: ProcStatusCellOptions = {}) {
    this.#onIllegal = options.onIllegal ?? ((_from, _to, message) => console.warn(message));
    this.#now = options.now ?? Date.now;
  }

  /**
   * A snapshot of the current status.
   * @returns The current status.
   */
  get(): ProcStatus {
    return this.#cell.get();
  }

  /** Whether {@linkcode ProcStatusCell.close} has been called. */
  get closed(): boolean {
    return this.#cell.closed;
  }

  /**
   * Applies `next` if the seed allows moving there from the current status;
   * otherwise leaves the status unchanged and reports a warning naming both
   * states. Synchronous: no lock, no await (BS-1).
   * @param next The proposed status.
   * @returns Whether the status changed.
   */
  transition(next: ProcStatus): boolean {
    // BS-1: check and publish in one synchronous step; nothing else is locked or awaited.
    const current = this.#cell.get();
    if (this.#cell.closed || !isLegalTransition(current.kind, next.kind)) {
      const why = this.#cell.closed ? "status is closed" : "leaving status unchanged";
      const now = this.#now();
      this.#onIllegal(
        current,
        next,
        `illegal transition: ${displayProcStatus(current, now)} -> ${
          displayProcStatus(next, now)
        }; ${why}`,
      );
      return false;
    }
    this.#cell.set(next);
    return true;
  }

  /**
   * `Starting → Running{startedAt}`.
   * @param startedAt Process start, epoch ms.
   * @returns Whether the status changed.
   */
  markRunning(startedAt: number): boolean {
    return this.transition({ kind: "Running", startedAt });
  }

  /**
   * `Starting | Running → Ready`; keeps `Running`'s `startedAt` (from
   * `Starting`, now).
   * @param addr Where the proc serves.
   * @param agent The proc agent's actor id text.
   * @returns Whether the status changed.
   */
  markReady(addr: ChannelAddr | string, agent: string): boolean {
    const current = this.#cell.get();
    const startedAt = current.kind === "Running" ? current.startedAt : this.#now();
    return this.transition({ kind: "Ready", startedAt, addr, agent });
  }

  /**
   * `Starting | Running | Ready → Stopping`; keeps `startedAt` (from
   * `Starting`, now).
   * @returns Whether the status changed.
   */
  markStopping(): boolean {
    const current = this.#cell.get();
    const startedAt = "startedAt" in current ? current.startedAt : this.#now();
    return this.transition({ kind: "Stopping", startedAt });
  }

  /**
   * Non-terminal → `Stopped{exitCode, stderrTail}`.
   * @param exitCode The exit code.
   * @param stderrTail Last stderr lines.
   * @returns Whether the status changed.
   */
  markStopped(exitCode: number, stderrTail: string[] = []): boolean {
    return this.transition({ kind: "Stopped", exitCode, stderrTail });
  }

  /**
   * Non-terminal → `Killed{signal, coreDumped}`.
   * @param signal Signal number.
   * @param coreDumped Whether a core was dumped.
   * @returns Whether the status changed.
   */
  markKilled(signal: number, coreDumped: boolean): boolean {
    return this.transition({ kind: "Killed", signal, coreDumped });
  }

  /**
   * Non-terminal → `Failed{reason}`.
   * @param reason Why.
   * @returns Whether the status changed.
   */
  markFailed(reason: string): boolean {
    return this.transition({ kind: "Failed", reason });
  }

  /**
   * The current status, then every later one in order; ends on close.
   * @param options Cancellation.
   * @returns An async generator of statuses.
   * @throws The signal's reason when aborted.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<ProcStatus, void, undefined> {
    return this.#cell.watch(options);
  }

  /**
   * Waits for `Ready` (the seed's `ready_inner`); `Stopping` is not terminal.
   * @param options Cancellation.
   * @returns The `Ready` status.
   * @throws {ReadyError} `Terminal` when the proc exits first, `ChannelClosed`
   * when the cell closes first.
   * @throws The signal's reason when aborted.
   */
  async ready(options: WatchOptions = {}): Promise<ReadyStatus> {
    for await (const status of this.#cell.watch(options)) {
      if (status.kind === "Ready") return status;
      if (isExit(status)) throw ReadyError.terminal(status, displayProcStatus(status));
    }
    throw ReadyError.channelClosed();
  }

  /**
   * Waits for a terminal status (the seed's `wait`).
   * @param options Cancellation.
   * @returns The exit status.
   * @throws {WaitError} When the cell closes before the proc exits.
   * @throws The signal's reason when aborted.
   */
  async wait(options: WatchOptions = {}): Promise<ProcExitStatus> {
    for await (const status of this.#cell.watch(options)) {
      if (isExit(status)) return status;
    }
    throw new WaitError({ cause: `status closed at ${displayProcStatus(this.#cell.get())}` });
  }

  /** Closes the cell: watchers end, pending `ready`/`wait` reject. Idempotent. */
  close(): void {
    this.#cell.close();
  }
}
