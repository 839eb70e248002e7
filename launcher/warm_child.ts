/**
 * `WarmChild`: a pre-spawned bootstrap child that has loaded its module graph
 * and armed its parent-death guard, and waits for the one stdin line
 * ({@linkcode WarmStart}) that tells it which proc to become. Created by
 * `NativeProcLauncher.prespawn()`, adopted for a proc id by
 * `NativeProcLauncher.launch(procId, { ...options, warm })`, after which it is
 * recorded, observed and stopped exactly like a cold launch (LN-3..LN-8).
 *
 * The child is spawned like a cold one (`_group_spawn.ts`: it leads its own
 * process group, LN-3) with the command's env plus {@linkcode WARM_ENV}`=1`
 * (and without an inherited `HYPERACTOR_MESH_BOOTSTRAP_MODE`: its mode comes
 * from the start line) and a piped stdin; its stdout/stderr disposition (`wantStdio`) is fixed at
 * pre-spawn, so only launches with the same disposition may adopt it.
 *
 * ## Invariants (LN-*)
 * - **LN-20 (adopt-once).** A warm child is adopted at most once: adopting
 *   one that is adopted, exited or disposed throws `ProcLauncherError`
 *   `Launch` and changes nothing; a child that cannot take its start line
 *   (it died: broken pipe) is killed and the adoption throws, so a dead warm
 *   child is never handed out as a proc.
 * - **LN-21 (adopt-match).** A warm child is adopted only for launch options
 *   it matches: the same program, `arg0` and args, an env that differs from
 *   the child's only in variables a running process can still take
 *   ({@linkcode warmMismatch}: not the runtime's own, read at exec), the same
 *   `wantStdio`, and no `procBind` (wrapping needs a fresh exec); anything
 *   else throws `Launch`.
 * - **LN-23 (env as cold).** An adopted child's environment is the launch's:
 *   the start line sets every variable of the launch's env and unsets every
 *   variable the child's command set that the launch's does not
 *   ({@linkcode warmStartFor}), so a per-proc command that only differs in
 *   its variables runs exactly as its cold launch would.
 * - **LN-22 (warm-reaped).** A warm child's exit is always observed
 *   ({@linkcode WarmChild.exit} resolves exactly once, never rejects); when it
 *   exits or is disposed unadopted its stdin is closed and its piped
 *   stdout/stderr cancelled; disposing an unadopted one SIGKILLs its group
 *   and awaits its exit. Unadopted warm children are in the exit safety net
 *   (LN-6) and are killed by their launcher's dispose (LN-5).
 *
 * @module
 */

import type { BootstrapCommand } from "./command.ts";
import { killGroup, recordGroup, watchExit } from "./_groups.ts";
import { groupLeaderCommand } from "./_group_spawn.ts";
import {
  BOOTSTRAP_MODE_ENV,
  type LaunchOptions,
  type PrespawnOptions,
  type ProcExitResult,
  ProcLauncherError,
  WARM_ENV,
  type WarmStart,
} from "./types.ts";

/**
 * A warm child's environment: the inherited one without
 * {@linkcode BOOTSTRAP_MODE_ENV} (a host process carries its own `Host` mode
 * there; a cold launch overrides it, a warm child gets its mode from the
 * start line), plus the command's env and {@linkcode WARM_ENV}`=1`.
 */
function warmEnv(command: BootstrapCommand): { env: Record<string, string>; clearEnv?: true } {
  const env = { ...command.env, [WARM_ENV]: "1" };
  let inherited: Record<string, string>;
  try {
    if (Deno.env.get(BOOTSTRAP_MODE_ENV) === undefined) return { env };
    inherited = Deno.env.toObject();
  } catch {
    return { env }; // no env access: nothing to strip that we could see
  }
  delete inherited[BOOTSTRAP_MODE_ENV];
  return { env: { ...inherited, ...env }, clearEnv: true };
}

/**
 * Variables the Deno runtime (or the libraries and locale under it) reads
 * when the process starts: a warm child has already started, so a launch
 * whose env differs in one of these needs a fresh exec (LN-21).
 */
const RUNTIME_ENV_PREFIXES = ["DENO_", "RUST_", "LD_", "V8_", "NODE_", "LC_"] as const;
const RUNTIME_ENV_NAMES: ReadonlySet<string> = new Set([
  "TZ",
  "LANG",
  "LANGUAGE",
  "NO_COLOR",
  "FORCE_COLOR",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "TMPDIR",
  "XDG_RUNTIME_DIR",
  "HOME",
  "PATH",
]);

function readAtExec(name: string): boolean {
  return RUNTIME_ENV_NAMES.has(name) || RUNTIME_ENV_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Why a warm child running `warm` cannot become a launch of `wanted`
 * (LN-21), if it cannot: another program, `arg0` or args (runtime flags,
 * script), or an env that differs in a variable read at exec (`DENO_*`,
 * `RUST_*`, `LD_*`, `TZ`, `LANG`, `PATH`, `TMPDIR`, …). Other variables may
 * differ: the start line applies them (LN-23).
 * @param warm The warm child's command.
 * @param wanted The launch's command.
 * @returns A short reason, or `undefined` when the child can take the launch.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "./command.ts";
 * import { warmMismatch } from "./warm_child.ts";
 * const warm = BootstrapCommand.fromPath("deno", ["run", "main.ts"]).withEnv({ A: "1" });
 * assertEquals(warmMismatch(warm, warm.withEnv({ A: "2", B: "3" })), undefined);
 * assertEquals(warmMismatch(warm, warm.withEnv({ DENO_DIR: "/x" })), "its DENO_DIR differs");
 * assertEquals(warmMismatch(warm, warm.withArgs(["run", "other.ts"])), "it runs another program");
 * ```
 */
export function warmMismatch(warm: BootstrapCommand, wanted: BootstrapCommand): string | undefined {
  if (warm.equals(wanted)) return undefined;
  if (
    warm.program !== wanted.program || warm.arg0 !== wanted.arg0 ||
    warm.args.length !== wanted.args.length || warm.args.some((a, i) => a !== wanted.args[i])
  ) {
    return "it runs another program";
  }
  for (const name of new Set([...Object.keys(warm.env), ...Object.keys(wanted.env)])) {
    if (warm.env[name] !== wanted.env[name] && readAtExec(name)) return `its ${name} differs`;
  }
  return undefined;
}

/**
 * The start line that turns a warm child running `warm` into a launch with
 * the (already merged, LN-7) variables `env` (LN-23): `env` to set, and the
 * variables `warm` set that `env` lacks, to unset.
 * @param warm The warm child's command.
 * @param mode The env-safe bootstrap payload.
 * @param env The launch's variables (its command's env plus the launcher's).
 * @returns The start line's content.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "./command.ts";
 * import { warmStartFor } from "./warm_child.ts";
 * const warm = BootstrapCommand.fromPath("deno").withEnv({ A: "1", OLD: "x" });
 * assertEquals(warmStartFor(warm, "e30=", { A: "2" }), { mode: "e30=", env: { A: "2" }, unset: ["OLD"] });
 * ```
 */
export function warmStartFor(
  warm: BootstrapCommand,
  mode: string,
  env: Record<string, string>,
): WarmStart {
  const unset = Object.keys(warm.env).filter((name) => !(name in env)).sort();
  return unset.length === 0 ? { mode, env } : { mode, env, unset };
}

/** Where a warm child is in its life. */
export type WarmChildState = "warm" | "adopting" | "adopted" | "exited" | "disposed";

const encoder = new TextEncoder();

/**
 * A pre-spawned child waiting for its start line (see the module doc).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "./command.ts";
 * import { WarmChild } from "./warm_child.ts";
 * // `cat` stands in for a warm bootstrap child: it waits on stdin.
 * const command = BootstrapCommand.fromPath("cat", ["/dev/stdin"]);
 * await using warm = WarmChild.spawn({ command, wantStdio: true });
 * assertEquals(warm.state, "warm");
 * assertEquals(
 *   warm.mismatch({ bootstrapPayload: "", processName: "p", command, wantStdio: false, tailLines: 0 }),
 *   "stdout/stderr are piped",
 * );
 * ```
 */
export class WarmChild implements AsyncDisposable {
  /** OS pid (and process group id, LN-3). */
  readonly pid: number;
  /** When it was spawned, epoch ms. */
  readonly spawnedAt: number;
  /** The command it runs (without {@linkcode WARM_ENV}). */
  readonly command: BootstrapCommand;
  /** Whether its stdout/stderr are piped. */
  readonly wantStdio: boolean;
  /** Resolves exactly once with its terminal result; never rejects (LN-22). */
  readonly exit: Promise<ProcExitResult>;
  readonly #child: Deno.ChildProcess;
  #state: WarmChildState = "warm";
  #released = false;

  private constructor(child: Deno.ChildProcess, options: PrespawnOptions) {
    this.#child = child;
    this.pid = child.pid;
    this.spawnedAt = Date.now();
    this.command = options.command;
    this.wantStdio = options.wantStdio;
    recordGroup(this.pid); // LN-6
    this.exit = watchExit(child).then((result) => {
      if (this.#state === "warm") {
        this.#state = "exited";
        this.#release(); // LN-22
      }
      return result;
    });
  }

  /**
   * Spawns a warm child: `options.command` with {@linkcode WARM_ENV}`=1`,
   * stdin piped, stdout/stderr piped when `wantStdio` else inherited, in its
   * own process group (LN-3).
   * @param options Command and stdio disposition.
   * @returns The warm child.
   * @throws {ProcLauncherError} `Launch` when the OS refuses to start it.
   * @tags allow-run
   */
  static spawn(options: PrespawnOptions): WarmChild {
    const { command } = options;
    const stdio = options.wantStdio ? "piped" : "inherit";
    let child: Deno.ChildProcess;
    try {
      const leader = groupLeaderCommand(command.program, command.args, {
        ...warmEnv(command),
        stdin: "piped",
        stdout: stdio,
        stderr: stdio,
      }, { parentDeathSignal: options.parentDeathSignal }); // LN-3, LN-24
      child = new Deno.Command(leader.program, leader.options).spawn();
    } catch (error) {
      throw new ProcLauncherError(
        "Launch",
        `Cannot pre-spawn a warm child: ${command.program} failed to start (${
          (error as Error).message
        })`,
        { cause: error },
      );
    }
    return new WarmChild(child, options);
  }

  /** Where it is in its life (`warm` until adopted, exited or disposed). */
  get state(): WarmChildState {
    return this.#state;
  }

  /**
   * Why `options` cannot adopt this child (LN-21), if they cannot.
   * @param options The launch options.
   * @returns A short reason, or `undefined` when they match.
   */
  mismatch(options: LaunchOptions): string | undefined {
    if (options.procBind !== undefined) return "a proc bind needs a fresh exec";
    if (options.wantStdio !== this.wantStdio) {
      return this.wantStdio ? "stdout/stderr are piped" : "stdout/stderr are inherited";
    }
    return warmMismatch(this.command, options.command); // LN-21
  }

  /**
   * Hands the child its start line and transfers it to the caller (used by
   * `NativeProcLauncher.launch` with `{ warm }`; LN-20).
   * @param start The mode payload and per-proc env.
   * @returns The child process, now the caller's to record and observe.
   * @throws {ProcLauncherError} `Launch` when the child is not `warm`, or
   * cannot take the line (it is killed then).
   */
  async claim(start: WarmStart): Promise<Deno.ChildProcess> {
    if (this.#state !== "warm") {
      throw new ProcLauncherError(
        "Launch",
        `Cannot adopt warm child ${this.pid}: it is ${this.#state}`,
      ); // LN-20
    }
    this.#state = "adopting";
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(encoder.encode(`${JSON.stringify(start)}\n`));
      await writer.close();
    } catch (error) {
      this.#state = "disposed";
      writer.releaseLock();
      this.#kill();
      this.#release();
      throw new ProcLauncherError(
        "Launch",
        `Cannot adopt warm child ${this.pid}: it cannot take its start line (${
          (error as Error).message
        })`,
        { cause: error },
      ); // LN-20: a dead warm child is never handed out
    }
    this.#state = "adopted";
    return this.#child;
  }

  /**
   * An unadopted child is SIGKILLed (its group), its stdio released, and its
   * exit awaited (LN-22); an adopted one is left to its adopter. Idempotent.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === "adopting" || this.#state === "adopted") return;
    if (this.#state === "warm") {
      this.#state = "disposed";
      this.#kill();
      this.#release();
    }
    await this.exit;
  }

  #kill(): void {
    try {
      killGroup(this.pid);
    } catch {
      // EPERM cannot happen for our own child; its exit is awaited regardless
    }
  }

  /** Closes stdin and cancels piped output of an unadopted child (once). */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    const child = this.#child;
    if (!child.stdin.locked) child.stdin.close().catch(() => {});
    if (this.wantStdio) {
      child.stdout.cancel().catch(() => {});
      child.stderr.cancel().catch(() => {});
    }
  }
}
