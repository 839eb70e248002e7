/**
 * Folder-private: the stdio wiring of `BootstrapProcManager` — one
 * {@linkcode StreamForwarder} per captured stream (mirror, tail, file
 * capture, log forwarding), draining them when the child exits (BS-4), and
 * flushing each log sender before the terminal status is published (BS-14,
 * see `manager.ts`).
 * @module
 */

import { settlesWithinLight } from "../internal/light_timer.ts";
import { dial } from "../channel/mod.ts";
import type { ChannelTx } from "../channel/types.ts";
import type { ProcId } from "../actor/reference.ts";
import { attrs, config } from "../config/mod.ts";
import type { LogMessage } from "./log_forward.ts";
import { type OutputTarget, StreamForwarder } from "./stream_forwarder.ts";
import { FileAppender } from "./file_appender.ts";
import type { ProcLogSink } from "./manager.ts";

/** One captured stream's forwarder and, with log forwarding, its log sender. */
export interface StdioForwarder {
  /** The forwarder. */
  fwd: StreamForwarder;
  /** The log channel sender (log forwarding on). */
  tx?: ChannelTx<LogMessage>;
  /** The proc's log sink (log forwarding on), drained once after every forwarder (LO-4). */
  sink?: ProcLogSink;
}

/**
 * Reads an environment variable, `undefined` when unset or not permitted.
 * @param key The variable.
 * @returns Its value.
 */
export function envGet(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}

/**
 * Opens the aggregate file appender: in `fileCaptureDir`, else (with
 * `HYPERACTOR_FORCE_FILE_LOG`) in `$TMPDIR/$USER`; warns and yields
 * `undefined` when there is none or it cannot be created.
 * @param fileCaptureDir The configured directory.
 * @returns The appender, or `undefined`.
 */
export async function openFileAppender(
  fileCaptureDir: string | undefined,
): Promise<FileAppender | undefined> {
  let dir = fileCaptureDir;
  if (dir === undefined && config.get(attrs.FORCE_FILE_LOG)) {
    dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/${envGet("USER") ?? "hypermesh"}`;
  }
  if (dir === undefined) {
    console.warn(
      "hypermesh: enable_file_capture=true but no file appender (set HYPERACTOR_FORCE_FILE_LOG)",
    );
    return undefined;
  }
  try {
    return await FileAppender.open({ dir });
  } catch (error) {
    console.warn("hypermesh: cannot create the file appender:", error);
    return undefined;
  }
}

/**
 * Starts a forwarder on each captured stream: `[rank] `-prefixed mirror,
 * tail, file capture, and (with `logChannel`) a `Log` message per batch.
 * @param stdio The child's captured streams.
 * @param procId The proc.
 * @param rank Its create rank.
 * @param opts Tail size, file appender, log channel.
 * @returns The stdout and stderr forwarders, in that order.
 */
export function forwardStdio(
  stdio: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> },
  procId: ProcId,
  rank: number,
  opts: {
    tailLines: number;
    appender: FileAppender | undefined;
    logChannel: string | undefined;
    logSink?: ProcLogSink | undefined;
    prefixWithRank?: boolean;
  },
): StdioForwarder[] {
  const { appender } = opts;
  const sink = opts.logSink;
  const hostname = (() => {
    try {
      return Deno.hostname();
    } catch {
      return "unknown_host";
    }
  })();
  const start = (stream: ReadableStream<Uint8Array>, target: OutputTarget) => {
    const tx = opts.logChannel === undefined ? undefined : dial<LogMessage>(opts.logChannel);
    const file = appender?.sink(target);
    const fwd = StreamForwarder.start(stream, {
      target,
      tailLines: opts.tailLines,
      prefixRank: rank,
      ...(opts.prefixWithRank === undefined ? {} : { prefixWithRank: opts.prefixWithRank }),
      onLines: (lines: string[]): void | Promise<void> => {
        file?.(lines);
        let room: void | Promise<void> = undefined;
        if (sink !== undefined) {
          try {
            room = sink.push(target, lines); // LO-4; a promise while the owner catches up (LO-1)
          } catch (error) {
            console.warn(`hypermesh: log sink of ${procId} failed:`, error);
          }
        }
        if (tx !== undefined && tx.status.get().kind === "Active") {
          tx.post({
            kind: "Log",
            hostname,
            procId: procId.toString(),
            outputTarget: target,
            payload: lines,
          });
        }
        return room;
      },
    });
    return { fwd, ...(tx === undefined ? {} : { tx }), ...(sink === undefined ? {} : { sink }) };
  };
  return [start(stdio.stdout, "stdout"), start(stdio.stderr, "stderr")];
}

/**
 * Drains every forwarder after the child exited (BS-4: bounded, a
 * grandchild may hold the pipes open), then flushes and closes its log
 * sender (BS-14).
 * @param forwarders The forwarders, in order.
 * @returns Each forwarder's tail, in order.
 */
export async function drainStdio(forwarders: StdioForwarder[]): Promise<string[][]> {
  // BS-4: let the pipes drain to EOF (bounded: a grandchild may hold them open).
  const tails: string[][] = [];
  for (const { fwd, tx } of forwarders) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([
      fwd.done,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 500)),
    ]);
    clearTimeout(timer);
    const out = drained ?? await fwd.abort();
    tails.push(out.tail);
    if (tx !== undefined) {
      if (tx.status.get().kind === "Active") tx.post({ kind: "Flush", syncVersion: null });
      await settlesWithinLight(tx.flush(), config.get(attrs.FORWARDER_FLUSH_TIMEOUT)); // BS-14
      await tx.close();
    }
  }
  // LO-4: both pipes reached EOF (bounded); the sink drains (bounded) before
  // the caller publishes the terminal status.
  const sink = forwarders.find((f) => f.sink !== undefined)?.sink;
  if (sink !== undefined) {
    try {
      await sink.drain();
    } catch (error) {
      console.warn("hypermesh: log sink drain failed:", error);
    }
  }
  return tails;
}
