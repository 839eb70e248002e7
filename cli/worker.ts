/**
 * A bootstrap program with the demo actor type registered: run in `Host`
 * mode it serves a host (its procs run this program too); in `Proc` mode it
 * is a proc with a v1 proc agent. Used by `demo`, the mesh tests and the
 * bench as their bootstrap command ({@linkcode workerCommand}).
 *
 * Cold start: the `Proc`-mode path is imported statically (one module-graph
 * build) and `Host` mode through a specifier the `deno run` graph builder
 * cannot follow, so a proc child does not read and resolve the host-mesh and
 * systemd-launcher graph (with its `dbus-next` npm packages) at start-up
 * (see `bootstrap.ts`).
 *
 * @module
 */

import { BOOTSTRAP_PERMISSIONS, BootstrapCommand } from "../launcher/command.ts";
import { bootstrapOrDie, type HostRunner } from "../bootstrap/bootstrap.ts";
import { ProcAgent } from "../mesh/proc_agent/proc_agent.ts";
import "./demo_actor.ts";

/** Deno permissions a worker runs with ({@linkcode BOOTSTRAP_PERMISSIONS}). */
export const WORKER_PERMISSIONS: readonly string[] = BOOTSTRAP_PERMISSIONS;

/**
 * The bootstrap command running this program.
 * @returns `deno run <permissions> <this file>`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { workerCommand } from "./worker.ts";
 * assert(workerCommand().args.at(-1)!.endsWith("worker.ts"));
 * ```
 */
export function workerCommand(): BootstrapCommand {
  // From a file or from an https: URL (JSR) alike.
  return BootstrapCommand.forModule(import.meta.url, WORKER_PERMISSIONS);
}

/**
 * Runs this process as a bootstrap child (never returns).
 * @returns Never.
 */
export async function runWorker(): Promise<never> {
  return await bootstrapOrDie({
    bootProcAgent: (proc, onStopAll) => ProcAgent.bootV1(proc, { onStopAll }),
    runHost: async (mode) => (await loadHostServe(HOST_SERVE)).runHost(mode),
  });
}

// A value, not a literal: `deno run` must not pre-load the host graph.
const HOST_SERVE = "../mesh/host_mesh/_serve.ts";

function loadHostServe(specifier: string): Promise<{ runHost: HostRunner }> {
  return import(specifier);
}

if (import.meta.main) await runWorker();
