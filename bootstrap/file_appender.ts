/**
 * `FileAppender`: one aggregate stdout file and one stderr file per manager.
 *
 * Port of `hyperactor_mesh::logging::FileAppender` (reference §6.2), minus the
 * channels: {@linkcode StreamForwarder} batches are appended directly, one
 * line plus `\n` each, to `<dir>/<base>_<hostname>_<id>.stdout` and
 * `….stderr`. Writes of one target are serialised in call order.
 *
 * ## Invariants (BS-*)
 * - **BS-7 (appender order).** Batches appended to one target reach its file
 *   in call order, each line whole; `flush()` and disposal wait for every
 *   batch appended before them.
 * - **BS-48 (a failed write is said once).** The first write that fails on a
 *   file (a full disk, a revoked mount) is reported at once on this
 *   process's stderr, naming the file and the cause; later failures of that
 *   file are not repeated. Nothing else changes: the procs keep running,
 *   their lines keep flowing to the other sinks, and `flush()` still
 *   throws the first {@linkcode FileAppenderError}.
 *
 * @module
 */

import { encodeBase58 } from "@std/encoding/base58";
import type { OutputTarget } from "./stream_forwarder.ts";

/** Options of {@linkcode FileAppender.open}. */
export interface FileAppenderOptions {
  /** Directory for the files (created if missing). */
  dir: string;
  /** File name prefix (default `monarch_log`). */
  base?: string;
  /** Host name in the file names (default `Deno.hostname()`). */
  hostname?: string;
  /** Unique id in the file names (default: a short random id). */
  id?: string;
}

/** A write to an aggregate log file failed. */
export class FileAppenderError extends Error {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   * @param path The file.
   * @param options Standard error options (`cause`).
   */
  constructor(path: string, options?: ErrorOptions) {
    super(`Cannot append to "${path}": the write failed`, options);
    this.name = "FileAppenderError";
    this.path = path;
  }
}

interface Sink {
  path: string;
  file: Deno.FsFile;
  queue: Promise<void>;
  /** Whether a failed write was reported (BS-48). */
  reported?: boolean;
}

/**
 * Appends line batches to a per-manager stdout and stderr file.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { FileAppender } from "./file_appender.ts";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   await using appender = await FileAppender.open({ dir, hostname: "h", id: "x" });
 *   appender.append("stdout", ["[0] hello", "[1] world"]);
 * }
 * assertEquals(await Deno.readTextFile(`${dir}/monarch_log_h_x.stdout`), "[0] hello\n[1] world\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileAppender implements AsyncDisposable {
  /** Path of the aggregate stdout file. */
  readonly stdoutPath: string;
  /** Path of the aggregate stderr file. */
  readonly stderrPath: string;
  #sinks: Record<OutputTarget, Sink>;
  #closed = false;
  #error: FileAppenderError | undefined;

  private constructor(stdout: Sink, stderr: Sink) {
    this.stdoutPath = stdout.path;
    this.stderrPath = stderr.path;
    this.#sinks = { stdout, stderr };
  }

  /**
   * Creates the directory and opens both files for appending.
   * @param options Directory, base name, host name, id.
   * @returns The appender.
   * @throws {Deno.errors.PermissionDenied} Or other fs errors when the files cannot be opened.
   * @tags allow-read, allow-write, allow-sys
   */
  static async open(options: FileAppenderOptions): Promise<FileAppender> {
    const base = options.base ?? "monarch_log";
    const hostname = options.hostname ?? Deno.hostname();
    const id = options.id ?? encodeBase58(crypto.getRandomValues(new Uint8Array(8)));
    await Deno.mkdir(options.dir, { recursive: true });
    const stem = `${options.dir}/${base}_${hostname}_${id}`;
    const open = async (path: string): Promise<Sink> => ({
      path,
      file: await Deno.open(path, { create: true, append: true }),
      queue: Promise.resolve(),
    });
    const stdout = await open(`${stem}.stdout`);
    try {
      return new FileAppender(stdout, await open(`${stem}.stderr`));
    } catch (error) {
      stdout.file.close();
      throw error;
    }
  }

  /**
   * Queues `lines` (one `\n` each) for `target`'s file (BS-7).
   * @param target Which file.
   * @param lines The batch.
   * @throws {TypeError} After disposal.
   */
  append(target: OutputTarget, lines: readonly string[]): void {
    if (this.#closed) throw new TypeError("Cannot append: the file appender is closed");
    if (lines.length === 0) return;
    const sink = this.#sinks[target];
    const bytes = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""));
    sink.queue = sink.queue.then(async () => {
      try {
        for (let at = 0; at < bytes.length;) at += await sink.file.write(bytes.subarray(at));
      } catch (error) {
        this.#error ??= new FileAppenderError(sink.path, { cause: error });
        if (!sink.reported) {
          sink.reported = true; // BS-48: once per file
          const cause = error instanceof Error ? error.message : String(error);
          console.error(
            `hypermesh: cannot write captured output to "${sink.path}": ${cause} ` +
              "(the procs keep running; further failures of this file are not reported)",
          );
        }
      }
    });
  }

  /**
   * A sink for {@linkcode StreamForwarder}'s `onLines`.
   * @param target Which file.
   * @returns A function appending each batch to `target`.
   */
  sink(target: OutputTarget): (lines: string[]) => void {
    return (lines) => this.append(target, lines);
  }

  /**
   * Waits until every batch appended so far is written (BS-7).
   * @throws {FileAppenderError} When a write failed.
   */
  async flush(): Promise<void> {
    await Promise.all([this.#sinks.stdout.queue, this.#sinks.stderr.queue]);
    if (this.#error) throw this.#error;
  }

  /** Flushes, then closes both files. Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      this.#sinks.stdout.file.close();
      this.#sinks.stderr.file.close();
    }
  }
}
