/**
 * `StreamForwarder`: the parent side of one child stream (stdout or stderr).
 *
 * Port of `hyperactor_mesh::logging::StreamFwder` (reference §6.1). It reads
 * the child's pipe chunk by chunk until EOF, mirrors each chunk unchanged to
 * the parent's console, splits the bytes into lines at `\n` (decoded lossily;
 * lines longer than {@linkcode MAX_LINE_BYTES} are cut on a character boundary
 * and get {@linkcode TRUNCATED_SUFFIX}), optionally prefixes `[rank] `, hands
 * each chunk's complete lines as one batch to `onLines`, and keeps a ring of
 * the last `tailLines` non-empty lines (unprefixed) for exit diagnostics.
 *
 * Difference from the seed: lines are reassembled across reads, so a line
 * straddling two chunks is one line (the seed's tail keeps two fragments).
 *
 * ## Invariants (BS-*)
 * - **BS-4 (no line lost at exit).** Every byte read before EOF (or
 *   `abort()`) is mirrored, and every line of it — including a trailing line
 *   without `\n` — is handed to `onLines` and considered for the tail before
 *   `done` resolves.
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";

/** Longest forwarded line, in UTF-8 bytes, before truncation. */
export const MAX_LINE_BYTES = 4096;
/** Appended to a truncated line. */
export const TRUNCATED_SUFFIX = "... [TRUNCATED]";

/** Which parent stream a child stream maps to. */
export type OutputTarget = "stdout" | "stderr";

/** Options of {@linkcode StreamForwarder.start}. */
export interface StreamForwarderOptions {
  /** The parent stream mirrored to, and the log target. */
  target: OutputTarget;
  /** Lines kept for {@linkcode StreamForwarder.peek} (0 = none). */
  tailLines: number;
  /**
   * Console mirror for each raw chunk (default: write to `Deno.stdout` /
   * `Deno.stderr` by `target`); `false` disables mirroring.
   */
  mirror?: ((chunk: Uint8Array) => void | Promise<void>) | false;
  /** Rank to prefix lines with (`[rank] `). */
  prefixRank?: number;
  /** Whether to prefix when `prefixRank` is set (default: config `PREFIX_WITH_RANK`). */
  prefixWithRank?: boolean;
  /** Receives each batch of completed (truncated, prefixed) lines. */
  onLines?: (lines: string[]) => void | Promise<void>;
  /** Stops forwarding like {@linkcode StreamForwarder.abort}. */
  signal?: AbortSignal;
}

/** What a finished forwarder reports. */
export interface StreamForwarderResult {
  /** The last non-empty lines (unprefixed), oldest first. */
  tail: string[];
  /** The first error of the reader, mirror or `onLines`, if any. */
  error?: unknown;
}

const decoder = new TextDecoder(); // lossy: U+FFFD for invalid sequences

/**
 * Cuts `bytes` to {@linkcode MAX_LINE_BYTES} on a UTF-8 boundary and decodes it.
 * @param bytes One line without its `\n`.
 * @returns The decoded, possibly truncated line.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeLine, MAX_LINE_BYTES, TRUNCATED_SUFFIX } from "./stream_forwarder.ts";
 * const line = decodeLine(new TextEncoder().encode("é".repeat(MAX_LINE_BYTES)));
 * assertEquals(line, "é".repeat(MAX_LINE_BYTES / 2) + TRUNCATED_SUFFIX);
 * ```
 */
export function decodeLine(bytes: Uint8Array): string {
  if (bytes.length <= MAX_LINE_BYTES) return decoder.decode(bytes);
  let cut = MAX_LINE_BYTES;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--; // back off continuation bytes
  return decoder.decode(bytes.subarray(0, cut)) + TRUNCATED_SUFFIX;
}

/**
 * Forwards one child stream; see the module doc.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { StreamForwarder } from "./stream_forwarder.ts";
 *
 * const batches: string[][] = [];
 * const input = ReadableStream.from(["a\nb", "c\n", "tail"].map((s) => new TextEncoder().encode(s)));
 * const fwd = StreamForwarder.start(input, {
 *   target: "stdout",
 *   tailLines: 2,
 *   mirror: false,
 *   prefixRank: 3,
 *   prefixWithRank: true,
 *   onLines: (lines) => void batches.push(lines),
 * });
 * assertEquals(await fwd.done, { tail: ["bc", "tail"] });
 * assertEquals(batches, [["[3] a"], ["[3] bc"], ["[3] tail"]]);
 * ```
 */
export class StreamForwarder {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #options: StreamForwarderOptions;
  #prefix: string;
  #ring: string[] = [];
  #ringStart = 0;
  #partial: Uint8Array[] = [];
  #error: unknown;
  #hasError = false;
  #stopped = false;
  #done: Promise<StreamForwarderResult>;

  private constructor(stream: ReadableStream<Uint8Array>, options: StreamForwarderOptions) {
    if (!Number.isSafeInteger(options.tailLines) || options.tailLines < 0) {
      throw new RangeError(`Invalid tailLines: ${options.tailLines}`);
    }
    this.#options = options;
    const prefixOn = options.prefixWithRank ?? config.get(attrs.PREFIX_WITH_RANK);
    this.#prefix = prefixOn && options.prefixRank !== undefined ? `[${options.prefixRank}] ` : "";
    this.#reader = stream.getReader();
    this.#done = this.#run();
  }

  /**
   * Starts forwarding `stream` (it is locked until EOF or abort).
   * @param stream The child's stdout or stderr.
   * @param options Target, tail size, sinks, prefix, cancellation.
   * @returns The running forwarder.
   * @throws {RangeError} For a negative or non-integer `tailLines`.
   * @throws {TypeError} When `stream` is already locked.
   */
  static start(
    stream: ReadableStream<Uint8Array>,
    options: StreamForwarderOptions,
  ): StreamForwarder {
    return new StreamForwarder(stream, options);
  }

  /** Resolves after EOF (or abort) once every line was delivered (BS-4). */
  get done(): Promise<StreamForwarderResult> {
    return this.#done;
  }

  /**
   * The current tail, oldest first.
   * @returns A copy of the last non-empty lines.
   */
  peek(): string[] {
    return [...this.#ring.slice(this.#ringStart), ...this.#ring.slice(0, this.#ringStart)];
  }

  /**
   * Stops reading (cancels the stream), delivers what was read, and waits.
   * @returns The final result.
   */
  abort(): Promise<StreamForwarderResult> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#reader.cancel().catch(() => {});
    }
    return this.#done;
  }

  #fail(error: unknown): void {
    if (this.#hasError) return;
    this.#hasError = true;
    this.#error = error;
  }

  async #run(): Promise<StreamForwarderResult> {
    const { signal } = this.#options;
    const onAbort = () => void this.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await this.#reader.read();
        } catch (error) {
          if (!this.#stopped) this.#fail(error);
          break;
        }
        if (result.done) break;
        await this.#chunk(result.value);
      }
      // BS-4: the trailing partial line is delivered too.
      if (this.#partial.length > 0) await this.#deliver([this.#take()]);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#reader.releaseLock();
    }
    const out: StreamForwarderResult = { tail: this.peek() };
    if (this.#hasError) out.error = this.#error;
    return out;
  }

  async #chunk(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    const mirror = this.#options.mirror ?? defaultMirror(this.#options.target);
    if (mirror) {
      try {
        await mirror(chunk); // BS-4: every chunk, unchanged
      } catch (error) {
        this.#fail(error);
      }
    }
    const lines: Uint8Array[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.#partial.push(chunk.subarray(start, nl));
      lines.push(this.#take());
      start = nl + 1;
    }
    if (start < chunk.length) this.#partial.push(chunk.slice(start));
    if (lines.length > 0) await this.#deliver(lines);
  }

  #take(): Uint8Array {
    const parts = this.#partial;
    this.#partial = [];
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async #deliver(raw: Uint8Array[]): Promise<void> {
    const lines = raw.map(decodeLine);
    for (const line of lines) if (line.length > 0) this.#remember(line);
    const { onLines } = this.#options;
    if (!onLines) return;
    try {
      await onLines(this.#prefix === "" ? lines : lines.map((l) => this.#prefix + l));
    } catch (error) {
      this.#fail(error);
    }
  }

  #remember(line: string): void {
    const max = this.#options.tailLines;
    if (max === 0) return;
    if (this.#ring.length < max) {
      this.#ring.push(line);
    } else {
      this.#ring[this.#ringStart] = line;
      this.#ringStart = (this.#ringStart + 1) % max;
    }
  }
}

function defaultMirror(target: OutputTarget): (chunk: Uint8Array) => Promise<void> {
  const out = target === "stdout" ? Deno.stdout : Deno.stderr;
  return async (chunk) => {
    for (let at = 0; at < chunk.length;) at += await out.write(chunk.subarray(at));
  };
}
