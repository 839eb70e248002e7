/**
 * Shared helpers of the integration suites: paths, the permission flags
 * children run with, and process-liveness probes (Deno gates `/proc` of other
 * processes behind `--allow-all`, so these fall back to `ps`; PID 1 reaps
 * lazily, so a zombie counts as dead).
 * @module
 */

import { BootstrapCommand } from "../launcher/command.ts";
import { processState } from "../launcher/_proc_state.ts";
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
