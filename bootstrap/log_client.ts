/**
 * `LogClientActor`: where forwarded child output ends up, in the mesh
 * client's process (port of `hyperactor_mesh::logging::LogClientActor`,
 * reference §6.4).
 *
 * - **Immediate mode** (`aggregateWindowMs: null`): each line is written as
 *   `[<hostname> <proc_id>] <line>` to stdout or stderr by its target.
 * - **Aggregation mode** (default window {@linkcode DEFAULT_AGGREGATE_WINDOW_MS}):
 *   per target, a line joins the buffered entry with the smallest normalised
 *   Levenshtein distance when that is below {@linkcode SIMILARITY_THRESHOLD},
 *   else it becomes a new entry. When the window ends the buffer is printed as
 *   a block (see {@linkcode formatAggregatedBlock}) and reset.
 * - **Sync-flush barrier**: `StartSyncFlush{expectedProcs, reply, version}`
 *   bumps the version and sends it on `version`; each `Flush{syncVersion}` of
 *   the current version counts one proc; when all arrived the buffer is
 *   printed and `reply` gets `null`. Use `syncFlush()` of `log_forward.ts`.
 *
 * Output goes through an injectable {@linkcode LogWriter} (default
 * `console.log` / `console.error`), one call per printed line.
 *
 * ## Invariants (BS-*)
 * - **BS-17 (printed exactly once).** Every line of every `Log` message is
 *   written exactly once: at once (immediate mode), or at the end of its
 *   window, when aggregation is changed or disabled, when a sync flush
 *   completes, or when the actor stops — whichever comes first (aggregated
 *   lines are written as part of their entry's count).
 * - **BS-18 (barrier).** A sync flush replies exactly once, after
 *   `expectedProcs` flushes of its version arrived (at once for 0), and after
 *   the buffer was printed; flushes of other versions are ignored; a newer
 *   `StartSyncFlush` supersedes a pending one, whose reply is never sent.
 *
 * @module
 */

import type { Actor } from "../actor/types.ts";
import type { Context } from "../actor/types.ts";
import type { PortRefData } from "../actor/port.ts";
import type { OutputTarget } from "./stream_forwarder.ts";
import type { OwnerLogAck, OwnerLogBatch } from "./log_sender.ts";

/** Default aggregation window (reference: 5 s). */
export const DEFAULT_AGGREGATE_WINDOW_MS = 5_000;
/** Lines closer than this normalised edit distance are aggregated together. */
export const SIMILARITY_THRESHOLD = 0.15;

const CYAN = "\x1b[36m";
const YELLOW = "\x1b[33m";
const RESET = "\x1b[0m";

/** Writes one line of output (without its newline) to `target`. */
export type LogWriter = (target: OutputTarget, line: string) => void;

/** A batch of lines of one proc stream, as forwarded by a `LogForwardActor`. */
export interface LogBatch {
  /** Host that produced the lines. */
  hostname: string;
  /** The proc id text. */
  procId: string;
  /** Which stream. */
  outputTarget: OutputTarget;
  /** The lines (already rank-prefixed by the parent's stream forwarder). */
  payload: string[];
}

/** One aggregated entry: a representative line and how many lines it stands for. */
export interface AggregatedEntry {
  /** The first line of the group. */
  line: string;
  /** Lines in the group (≥ 1). */
  count: number;
}

/** Options of {@linkcode LogClientActor}. */
export interface LogClientOptions {
  /** Output sink (default `console.log` / `console.error` by target). */
  writer?: LogWriter;
  /** Aggregation window in ms, `null` for immediate mode (default 5 s). */
  aggregateWindowMs?: number | null;
  /** Clock for block headers (default `() => new Date()`). */
  now?: () => Date;
}

/** Body of `SetAggregate`. */
export interface SetAggregateMessage {
  /** New window in ms, `null` to print each line at once. */
  aggregateWindowMs: number | null;
  /** Gets `null` once the mode is applied (and the buffer printed). */
  reply?: PortRefData<null>;
}

/** Body of `StartSyncFlush`. */
export interface StartSyncFlushMessage {
  /** How many forwarders must flush the new version. */
  expectedProcs: number;
  /** Gets `null` when the barrier is complete. */
  reply: PortRefData<null>;
  /** Gets the new version at once. */
  version: PortRefData<number>;
}

function checkWindow(windowMs: number | null): void {
  if (windowMs !== null && (!Number.isFinite(windowMs) || windowMs < 0)) {
    throw new RangeError(`Invalid aggregateWindowMs: ${windowMs}`);
  }
}

/**
 * Levenshtein distance of `a` and `b` (in code points) divided by the longer
 * length; 0 for two empty strings. Returns early with a value ≥ `limit` once
 * the result cannot be below `limit`.
 * @param a A line.
 * @param b Another line.
 * @param options `limit`: stop computing once the distance is known to be ≥
 * this (default 1).
 * @returns The normalised distance in [0, 1] (exact when below `limit`).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { normalizedLevenshtein } from "./log_client.ts";
 * assertEquals(normalizedLevenshtein("kitten", "sitting"), 3 / 7);
 * assertEquals(normalizedLevenshtein("", ""), 0);
 * ```
 */
export function normalizedLevenshtein(
  a: string,
  b: string,
  options: { limit?: number } = {},
): number {
  const limit = options.limit ?? 1;
  const s = Array.from(a);
  const t = Array.from(b);
  const longest = Math.max(s.length, t.length);
  if (longest === 0) return 0;
  if (Math.abs(s.length - t.length) / longest >= limit) return 1; // lower bound already too far
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  let cur = new Array<number>(t.length + 1);
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin / longest >= limit) return 1; // every later row is at least as far
    [prev, cur] = [cur, prev];
  }
  return prev[t.length] / longest;
}

/**
 * Groups similar lines (reference §6.4): a line joins the entry with the
 * smallest normalised distance if that is below {@linkcode SIMILARITY_THRESHOLD}.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LineAggregator } from "./log_client.ts";
 * const agg = new LineAggregator();
 * for (const l of ["[0] step 1 done", "[1] step 1 done", "something else"]) agg.add(l);
 * assertEquals(agg.entries, [{ line: "[0] step 1 done", count: 2 }, { line: "something else", count: 1 }]);
 * ```
 */
export class LineAggregator {
  #entries: AggregatedEntry[] = [];

  /** The entries in first-seen order. */
  get entries(): readonly AggregatedEntry[] {
    return this.#entries;
  }

  /** Whether nothing is buffered. */
  get isEmpty(): boolean {
    return this.#entries.length === 0;
  }

  /**
   * Adds one line.
   * @param line The line.
   */
  add(line: string): void {
    let best: AggregatedEntry | undefined;
    let bestDistance = SIMILARITY_THRESHOLD;
    for (const entry of this.#entries) {
      const d = normalizedLevenshtein(entry.line, line, { limit: bestDistance });
      if (d < bestDistance) {
        best = entry;
        bestDistance = d;
        if (d === 0) break;
      }
    }
    if (best !== undefined) best.count++;
    else this.#entries.push({ line, count: 1 });
  }

  /**
   * Empties the aggregator.
   * @returns The entries it held.
   */
  take(): AggregatedEntry[] {
    const out = this.#entries;
    this.#entries = [];
    return out;
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * The printed form of an aggregation window: a cyan header
 * `>>> Aggregated Logs (YYYY-MM-DD HH:MM:SS) >>>` (local time), one yellow
 * `[N similar log lines]` + text line per entry, a cyan closing line.
 * @param entries The entries.
 * @param when The header's timestamp.
 * @returns The lines to print.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatAggregatedBlock } from "./log_client.ts";
 * const lines = formatAggregatedBlock([{ line: "hi", count: 2 }], new Date(2026, 2, 28, 9, 5, 7));
 * assertEquals(lines, [
 *   "\x1b[36m>>> Aggregated Logs (2026-03-28 09:05:07) >>>\x1b[0m",
 *   "\x1b[33m[2 similar log lines]\x1b[0m hi",
 *   "\x1b[36m<<< Aggregated Logs (2026-03-28 09:05:07) <<<\x1b[0m",
 * ]);
 * ```
 */
export function formatAggregatedBlock(
  entries: readonly AggregatedEntry[],
  when: Date,
): string[] {
  const ts = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ` +
    `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
  return [
    `${CYAN}>>> Aggregated Logs (${ts}) >>>${RESET}`,
    ...entries.map((e) => `${YELLOW}[${e.count} similar log lines]${RESET} ${e.line}`),
    `${CYAN}<<< Aggregated Logs (${ts}) <<<${RESET}`,
  ];
}

const defaultWriter: LogWriter = (target, line) => {
  if (target === "stderr") console.error(line);
  else console.log(line);
};

/**
 * Prints forwarded child output in the client; see the module doc.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../actor/proc.ts";
 * import { LogClientActor } from "./log_client.ts";
 *
 * await using proc = Proc.local();
 * const out: string[] = [];
 * const client = proc.spawn("log_client", new LogClientActor({
 *   aggregateWindowMs: null,
 *   writer: (target, line) => void out.push(`${target}: ${line}`),
 * }));
 * using cx = proc.instance("cx");
 * client.ref.send(cx, "Log", { hostname: "h", procId: "p", outputTarget: "stdout", payload: ["[0] hi"] });
 * client.stop();
 * await client.wait();
 * assertEquals(out, ["stdout: [h p] [0] hi"]);
 * ```
 */
export class LogClientActor implements Actor {
  readonly #writer: LogWriter;
  readonly #now: () => Date;
  #windowMs: number | null;
  #epoch = 0; // invalidates window timers scheduled before a mode change
  #windowArmed = false;
  readonly #buffers: Record<OutputTarget, LineAggregator> = {
    stdout: new LineAggregator(),
    stderr: new LineAggregator(),
  };
  #version = 0;
  #pending: { remaining: number; reply: PortRefData<null> } | undefined;

  /**
   * Creates the actor (spawn it in the client's proc).
   * @param options Writer, window, clock.
   * @throws {RangeError} For a negative or non-finite window.
   */
  constructor(options: LogClientOptions = {}) {
    const windowMs = options.aggregateWindowMs === undefined
      ? DEFAULT_AGGREGATE_WINDOW_MS
      : options.aggregateWindowMs;
    checkWindow(windowMs);
    this.#windowMs = windowMs;
    this.#writer = options.writer ?? defaultWriter;
    this.#now = options.now ?? (() => new Date());
  }

  /** The current window in ms, `null` in immediate mode. */
  get aggregateWindowMs(): number | null {
    return this.#windowMs;
  }

  /** The current sync-flush version (0 before the first `StartSyncFlush`). */
  get version(): number {
    return this.#version;
  }

  /** Message handlers. */
  readonly handlers = {
    /** Lines of one proc stream. */
    Log: (cx: Context, msg: LogBatch): void | Promise<void> => this.#log(cx, msg),
    /**
     * Lines of one proc stream from a host's `OwnerLogSender`: written like
     * `Log`, then acknowledged on `msg.ack` (LO-1, LO-3).
     */
    OwnerLog: (cx: Context, msg: OwnerLogBatch): void | Promise<void> => {
      this.#log(cx, msg);
      if (typeof msg?.ack === "string" && Number.isSafeInteger(msg.seq)) {
        const ack: OwnerLogAck = { procId: msg.procId, seq: msg.seq };
        cx.send({ port: msg.ack, returnUndeliverable: false }, ack);
      }
    },
    /** A forwarder's flush marker (`null`: periodic, ignored). */
    Flush: (cx: Context, msg: { syncVersion: number | null }): void | Promise<void> =>
      this.#flush(cx, msg.syncVersion),
    /** Switches aggregation (printing what is buffered first). */
    SetAggregate: (cx: Context, msg: SetAggregateMessage): void | Promise<void> => {
      checkWindow(msg.aggregateWindowMs);
      this.#printBuffered();
      this.#windowMs = msg.aggregateWindowMs;
      if (msg.reply !== undefined) cx.send(msg.reply, null);
    },
    /** Starts a sync-flush barrier. */
    StartSyncFlush: (cx: Context, msg: StartSyncFlushMessage): void | Promise<void> => {
      if (!Number.isSafeInteger(msg.expectedProcs) || msg.expectedProcs < 0) {
        throw new RangeError(`Invalid expectedProcs: ${msg.expectedProcs}`);
      }
      this.#version++;
      this.#pending = { remaining: msg.expectedProcs, reply: msg.reply }; // BS-18: supersedes
      cx.send(msg.version, this.#version);
      this.#completeIfDone(cx);
    },
    /** Internal: the aggregation window of `epoch` ended. */
    FlushAggregates: (_cx: Context, msg: { epoch: number }): void | Promise<void> => {
      if (msg.epoch !== this.#epoch) return; // a stale timer
      this.#printBuffered();
    },
  };

  /**
   * Prints what is still buffered (BS-17).
   */
  cleanup(): void {
    this.#printBuffered();
  }

  #log(cx: Context, msg: LogBatch): void {
    const lines = Array.isArray(msg?.payload) ? msg.payload : [];
    const target: OutputTarget = msg?.outputTarget === "stderr" ? "stderr" : "stdout";
    if (this.#windowMs === null) {
      for (const line of lines) this.#writer(target, `[${msg.hostname} ${msg.procId}] ${line}`);
      return;
    }
    for (const line of lines) this.#buffers[target].add(String(line));
    if (!this.#windowArmed && lines.length > 0) {
      this.#windowArmed = true;
      cx.selfMessageWithDelay("FlushAggregates", { epoch: this.#epoch }, {
        delayMs: this.#windowMs,
      });
    }
  }

  #flush(cx: Context, syncVersion: number | null): void {
    if (syncVersion === null || syncVersion === undefined) return;
    if (this.#pending === undefined || syncVersion !== this.#version) {
      console.warn(
        `hypermesh: log client ignores flush of version ${syncVersion} (current ${this.#version})`,
      );
      return;
    }
    this.#pending.remaining--;
    this.#completeIfDone(cx);
  }

  #completeIfDone(cx: Context): void {
    const pending = this.#pending;
    if (pending === undefined || pending.remaining > 0) return;
    this.#pending = undefined;
    this.#printBuffered();
    cx.send(pending.reply, null); // BS-18
  }

  #printBuffered(): void {
    this.#epoch++;
    this.#windowArmed = false;
    for (const target of ["stdout", "stderr"] as const) {
      const buffer = this.#buffers[target];
      if (buffer.isEmpty) continue;
      for (const line of formatAggregatedBlock(buffer.take(), this.#now())) {
        this.#writer(target, line); // BS-17
      }
    }
  }
}
