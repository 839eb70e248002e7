/**
 * Shared helpers of the integration suites: paths, the permission flags
 * children run with, a manager rig, and process-liveness probes (Deno gates `/proc` of other
 * processes behind `--allow-all`, so these fall back to `ps`; PID 1 reaps
 * lazily, so a zombie counts as dead).
 * @module
 */

import "../testing/timer_warmup.ts"; // test-only sanitizer warm-up (not run by user processes)
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import type { ClientInstance } from "../actor/types.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import type { ProcLauncher } from "../launcher/types.ts";
import { processState } from "../launcher/_proc_state.ts";
import { type BootstrapProcConfig, BootstrapProcManager } from "../bootstrap/manager.ts";
import type { BootstrapProcHandle } from "../bootstrap/proc_handle.ts";
import { isExit, type ProcStatus } from "../bootstrap/proc_status.ts";

/** The repository root, with a trailing slash. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** The explicit permission flags of every child the suites start. */
export const PERMISSIONS: readonly string[] = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

/** `deno run` flags of a bootstrap child (a proc spawns nothing, so no --allow-run). */
export const CHILD_FLAGS: readonly string[] = [
  "--config",
  `${ROOT}deno.json`,
  ...PERMISSIONS.filter((flag) => flag !== "--allow-run"),
];

/**
 * The command running `bootstrap.ts` as a bootstrap child.
 * @returns `deno run <CHILD_FLAGS> <root>/bootstrap.ts`.
 */
export function bootstrapCommand(): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), ["run", ...CHILD_FLAGS, `${ROOT}bootstrap.ts`]);
}

/**
 * Whether `pid` runs (not a zombie, not gone).
 * @param pid A process id.
 * @returns `true` while it runs.
 */
export async function isAlive(pid: number): Promise<boolean> {
  return (await processState(pid)) === "alive";
}

/**
 * Polls until none of `pids` runs or `withinMs` passed.
 * @param pids Process ids.
 * @param withinMs How long to wait.
 * @returns The pids still running at the end (empty when all died).
 */
export async function survivors(pids: readonly number[], withinMs = 2_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  while (true) {
    const alive: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) alive.push(pid);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until `pid` catches `signal` (its handler is installed), read from
 * the `SigCgt` mask of `/proc/PID/status` — a real event instead of a sleep.
 * @param pid A process id.
 * @param signal A signal number (15 for SIGTERM).
 * @param withinMs How long to wait.
 * @throws {Error} When the handler is not installed in time.
 */
export async function waitForSignalHandler(
  pid: number,
  signal: number,
  withinMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    // Reading /proc/PID needs --allow-all in Deno; cat needs only --allow-run.
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" })
      .output();
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(new TextDecoder().decode(out.stdout));
    if (m !== null && (BigInt(`0x${m[1]}`) >> BigInt(signal - 1)) & 1n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`pid ${pid} installed no handler for signal ${signal} within ${withinMs} ms`);
}

/**
 * The status kinds a proc handle goes through, up to and including its exit.
 * @param handle Anything with a status `watch()`.
 * @returns The kinds in order.
 */
export async function statusKinds(
  handle: { watch(): AsyncIterable<ProcStatus> },
): Promise<ProcStatus["kind"][]> {
  const kinds: ProcStatus["kind"][] = [];
  for await (const status of handle.watch()) {
    kinds.push(status.kind);
    if (isExit(status)) break;
  }
  return kinds;
}

/**
 * Reads `reader` up to its first newline (a child's report line).
 * @param reader A text reader, e.g. a child's stdout through `TextDecoderStream`.
 * @returns The first line without its newline; everything read when the
 * stream ended before one.
 */
export async function readFirstLine(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
  }
  return text.slice(0, text.indexOf("\n"));
}

/** What {@linkcode withManager} hands a test. */
export interface ManagerRig {
  /** A served root proc the procs call back to and are reached from. */
  root: Proc;
  /** A client instance of the root proc. */
  cx: ClientInstance;
  /** The manager (default command: {@linkcode bootstrapCommand}). */
  manager: BootstrapProcManager;
  /** Every proc id text spawned through `spawn`, in order. */
  ids: string[];
  /** Spawns proc `name` (create rank 0, no config override unless given). */
  spawn(name: string, extra?: Partial<BootstrapProcConfig>): Promise<BootstrapProcHandle>;
  /** Waits for Ready and routes the root proc's messages for it to its socket. */
  ready(handle: BootstrapProcHandle): Promise<void>;
}

/** Options of {@linkcode withManager}. */
export interface ManagerRigOptions {
  /** The launcher to set (default: the manager's choice, native here). */
  launcher?: () => Promise<ProcLauncher>;
  /** `HYPERMESH_PREWARM_PROCS` for the manager (default 0: no warm pool). */
  prewarm?: number;
  /** The manager's (and its warm pool's) command (default {@linkcode bootstrapCommand}). */
  command?: BootstrapCommand;
}

/**
 * Runs `fn` with a root proc and a {@linkcode BootstrapProcManager}, and
 * disposes both (and so every child) afterwards, whatever `fn` did.
 * @param fn The test body.
 * @param options Launcher and warm pool.
 */
export async function withManager(
  fn: (rig: ManagerRig) => Promise<void>,
  options: ManagerRigOptions = {},
): Promise<void> {
  const root = await Proc.direct(ChannelAddr.any("unix"), "root");
  const cx = root.instance("client");
  let manager: BootstrapProcManager;
  {
    using _prewarm = config.override(attrs.PREWARM_PROCS, options.prewarm ?? 0);
    manager = new BootstrapProcManager(options.command ?? bootstrapCommand());
  }
  const ids: string[] = [];
  try {
    if (options.launcher !== undefined) manager.setLauncher(await options.launcher());
    await fn({
      root,
      cx,
      manager,
      ids,
      spawn: (name, extra = {}) => {
        const procId = new ProcId(ChannelAddr.any("unix"), name);
        ids.push(procId.toString());
        return manager.spawn(procId, root.procId.addr, {
          createRank: 0,
          clientConfigOverride: {},
          ...extra,
        });
      },
      ready: async (handle) => {
        await handle.ready();
        (root.forwarder as DialMailboxRouter).bind(handle.procId, handle.addr()!);
      },
    });
  } finally {
    await manager[Symbol.asyncDispose]();
    cx[Symbol.dispose]();
    await root[Symbol.asyncDispose]();
  }
}

/**
 * A command running a test fixture with env access only.
 * @param name The file under `tests/fixtures/`.
 * @param args Its arguments.
 * @returns `deno run --no-config --allow-env <fixture> args…`.
 */
export function fixtureCommand(name: string, args: string[] = []): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-env",
    `${ROOT}tests/fixtures/${name}`,
    ...args,
  ]);
}

/**
 * A bootstrap worker fixture (a host that spawns procs: every permission,
 * the project's config).
 * @param name The file under `tests/fixtures/`.
 * @returns `deno run --config deno.json <PERMISSIONS> <fixture>`.
 */
export function workerFixtureCommand(name: string): BootstrapCommand {
  return BootstrapCommand.fromPath(Deno.execPath(), [
    "run",
    "--config",
    `${ROOT}deno.json`,
    ...PERMISSIONS,
    `${ROOT}tests/fixtures/${name}`,
  ]);
}

/**
 * Polls `pred` every 10 ms until it holds.
 * @param pred The condition.
 * @param what Names the wait in the error.
 * @param timeoutMs Give up after this long (default 20 s).
 * @throws {Error} `WHAT: not within N ms`.
 */
export async function until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
