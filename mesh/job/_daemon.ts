/**
 * Folder-private: one host daemon started by a job — a child process (the
 * daemon itself, or the `ssh` client running it remotely) whose stdout
 * carries the daemon's `ready <addr>` line, whose stdin carries the secret
 * and is the daemon's lifeline (JB-3, JB-4).
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import { stopChild } from "../../launcher/stop.ts";

/** Lines of stderr kept for error messages. */
const TAIL_LINES = 20;

/** What to run for one host. */
export interface DaemonSpec {
  /** The host's name in messages (`localhost#0`, `user@node1:22`). */
  name: string;
  /** The program and its arguments. */
  command: readonly string[];
  /** The first stdin line (the secret, JB-4), if any. */
  stdinLine?: string;
}

/** A started daemon (or its ssh session). */
export class StartedDaemon {
  /** The host's name in messages. */
  readonly name: string;
  /** Resolves with the `ready` address; rejects with why the daemon did not come up. */
  readonly ready: Promise<ChannelAddr>;
  /** The child's exit. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #drained: Promise<void>;
  readonly #tail: string[] = [];
  #stdinClosed = false;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.#child = child;
    this.status = child.status;
    this.#stdin = child.stdin.getWriter();
    let onReady!: (addr: ChannelAddr) => void;
    let onFail!: (why: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    this.ready.catch(() => {}); // observed by the job; never an unhandled rejection
    const out = this.#readLines(child.stdout, (line) => {
      const m = /^ready (\S+)/.exec(line);
      if (m) {
        try {
          onReady(ChannelAddr.parse(m[1]));
        } catch (error) {
          onFail(error as Error);
        }
      }
    });
    const err = this.#readLines(child.stderr, (line) => {
      this.#tail.push(line);
      if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    });
    this.#drained = Promise.all([out, err]).then(() => {});
    // Exited before `ready` (e.g. deno missing, bad arguments, ssh refused).
    Promise.all([this.status, this.#drained]).then(([s]) => {
      const tail = this.#tail.length > 0 ? `: ${this.#tail.join(" | ")}` : "";
      onFail(new Error(`exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}${tail}`));
    });
  }

  /**
   * Starts `spec.command` with piped stdio; writes `spec.stdinLine`.
   * @param spec What to run.
   * @returns The started daemon.
   * @throws {Deno.errors.NotFound} When the program does not exist.
   */
  static start(spec: DaemonSpec): StartedDaemon {
    const [program, ...args] = spec.command;
    const child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const daemon = new StartedDaemon(spec.name, child);
    if (spec.stdinLine !== undefined) {
      daemon.#stdin.write(new TextEncoder().encode(`${spec.stdinLine}\n`)).catch(() => {});
    }
    return daemon;
  }

  /** The last lines of the child's stderr. */
  get stderrTail(): readonly string[] {
    return this.#tail;
  }

  /** The child's pid (the daemon, or the ssh client). */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Ends it: closes stdin (the lifeline, JB-3), waits `graceMs` for the exit,
   * then SIGTERM and SIGKILL (launcher `stopChild`). Idempotent.
   * @param graceMs How long each polite step may take.
   * @returns The exit status.
   */
  async stop(graceMs: number): Promise<Deno.CommandStatus> {
    this.#closeStdin();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.status.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!exited) await stopChild(this.#child, { graceMs });
    const status = await this.status;
    await this.#drained;
    return status;
  }

  #closeStdin(): void {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    this.#stdin.close().catch(() => {}); // EPIPE once the child is gone
  }

  async #readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let buffer = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, nl).replace(/\r$/, ""));
          buffer = buffer.slice(nl + 1);
        }
      }
    } catch {
      // the pipe broke: the child is gone
    }
    if (buffer !== "") onLine(buffer);
  }
}
