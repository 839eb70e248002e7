/**
 * The bundled proc child: a bootstrap program that runs only procs (`Proc`
 * mode, and warm children of a warm pool), with a v1 proc agent and the demo
 * `Greeter` actor type registered (`demo_actor.ts`). It ships as one
 * generated JavaScript file, `proc_child.bundle.js` (this module and its
 * whole static graph, built by `deno bundle`); {@linkcode procChildCommand}
 * runs that file:
 *
 * ```text
 * deno run --no-config --allow-read --allow-write --allow-net --allow-env \
 *   --allow-sys --allow-ffi <package>/cli/proc_child.bundle.js
 * ```
 *
 * ## Why a bundle (issue 16, memory per proc)
 * Measured with `bench/memory_bench.ts` (medians, against a bare idle Deno
 * child in the same run): an idle proc started from the TypeScript entry
 * (`deno run --config deno.json … bootstrap.ts`) holds ~1.43x the bare child's
 * Rss; the same proc from this bundle ~1.26x. Of the ~5.7 MB saved, ~4 MB is
 * the module graph (Deno keeps per-module source, emit and code-cache
 * records for each of ~75 TypeScript modules; one JavaScript file has one)
 * and ~1.5 MB is `--config` (reading `deno.json` and its lock file's npm
 * snapshot, which the child never uses: its graph has no bare specifiers).
 * Loading one file is also faster than resolving ~75 (`bench/spawn_bench.ts`
 * has the cold rows of both). The other levers were measured too and lost:
 * trimming the graph further leaves the per-module cost of what remains, and
 * V8 flags (`--max-semi-space-size`, `--single-threaded-gc`, `--lite-mode`)
 * moved nothing (the V8 heap is ~2 MB of the gap).
 *
 * What the bundle cannot remove: the pages of the `deno` binary a proc runs
 * that a bare child does not (sockets, timers, FFI for the parent-death
 * `prctl`: ~2.5 MB of it). They are shared between all procs (Pss/USS do not
 * charge them per proc), but Rss counts them in full.
 *
 * ## Limits
 * - **Procs only.** Any other mode (`Host`, v0) exits 1 with a message:
 *   give hosts the TypeScript entry (`bootstrap.ts`) or your own program.
 * - **No user actor types.** A program that registers its own actor types
 *   must be its own child (`BootstrapCommand.current()`); it may bundle
 *   itself the same way (`deno bundle`, then run the file with
 *   `--no-config`).
 * - **Generated file.** `deno task bundle` regenerates
 *   `proc_child.bundle.js`; `cli/proc_child_test.ts` fails while the
 *   checked-in file differs from a fresh build (PC-1).
 *
 * ## Invariants (PC-*)
 * - **PC-1 (bundle is current).** `proc_child.bundle.js` is byte for byte
 *   what `deno task bundle` produces from this module's graph.
 * - **PC-2 (procs only, explicit permissions).** The bundled child runs a
 *   `Proc`-mode or warm child exactly as `bootstrap.ts` does (same
 *   `bootstrapOrDie` path: config, parent-death guard, proc agent), and
 *   refuses every other mode with exit code 1. {@linkcode procChildCommand}
 *   starts it with explicit permission flags (never `-A`) and `--no-config`,
 *   by path for a local package and by URL for a remote (JSR) one.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { procChildCommand } from "./proc_child.ts";
 * const cmd = procChildCommand();
 * assertEquals(cmd.args.slice(0, 2), ["run", "--no-config"]);
 * assert(cmd.args.at(-1)!.endsWith("cli/proc_child.bundle.js"));
 * ```
 * @module
 */

import { BootstrapCommand } from "../launcher/command.ts";
import { bootstrapModeOf, bootstrapOrDie } from "../bootstrap/bootstrap.ts";
import { processEnv, WARM_ENV } from "../bootstrap/mode.ts";
import { ProcAgent } from "../mesh/proc_agent/proc_agent.ts";
import "./demo_actor.ts";

/** Deno permissions {@linkcode procChildCommand} grants by default (no `--allow-run`). */
export const PROC_CHILD_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

/** The generated bundle, next to this module (and next to itself once bundled). */
const BUNDLE = "./proc_child.bundle.js";

/** Options of {@linkcode procChildCommand}. */
export interface ProcChildCommandOptions {
  /** The `deno` program (default `Deno.execPath()`). */
  execPath?: string;
  /** Permission flags (default {@linkcode PROC_CHILD_PERMISSIONS}); `-A` is refused. */
  permissions?: readonly string[];
  /** More `deno run` flags before the script (e.g. `--v8-flags=…`). */
  flags?: readonly string[];
  /** Extra environment for the child. */
  env?: Readonly<Record<string, string>>;
}

/**
 * The bootstrap command running the bundled proc child (PC-2): give it to a
 * `BootstrapProcManager` (or as a mesh's proc command) whose procs need no
 * actor types of your own.
 * @param options Program, permissions, extra flags, environment.
 * @returns `deno run --no-config <permissions> <flags> <bundle path or URL>`.
 * @throws {TypeError} For `-A` / `--allow-all` among the permissions.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { procChildCommand } from "./proc_child.ts";
 * const cmd = procChildCommand({ execPath: "/bin/deno", permissions: ["--allow-net"] });
 * assertEquals(cmd.program, "/bin/deno");
 * assertEquals(cmd.args.slice(0, 3), ["run", "--no-config", "--allow-net"]);
 * assertThrows(() => procChildCommand({ permissions: ["-A"] }), TypeError);
 * ```
 */
export function procChildCommand(options: ProcChildCommandOptions = {}): BootstrapCommand {
  const permissions = options.permissions ?? PROC_CHILD_PERMISSIONS;
  const all = permissions.find((p) => p === "-A" || p === "--allow-all");
  if (all !== undefined) {
    throw new TypeError(
      `Cannot build the proc child command: ${all} is not an explicit permission`,
    );
  }
  const url = new URL(BUNDLE, import.meta.url);
  const script = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  return new BootstrapCommand({
    program: options.execPath ?? Deno.execPath(),
    args: ["run", "--no-config", ...permissions, ...(options.flags ?? []), script],
    env: options.env ?? {},
  });
}

/**
 * Runs this process as a bundled proc child (PC-2): `Proc` mode or a warm
 * child through `bootstrapOrDie`; any other mode exits 1.
 * @returns Never.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi, allow-sys
 */
export async function runProcChild(): Promise<never> {
  const env = processEnv();
  let kind: string | undefined;
  try {
    kind = env.get(WARM_ENV) === "1" ? "Proc" : bootstrapModeOf(env)?.kind;
  } catch {
    kind = "Proc"; // a malformed mode: bootstrapOrDie reports it and exits 1
  }
  if (kind !== "Proc") {
    console.error(
      `hypermesh: cannot run the bundled proc child: it runs Proc mode only, got ${
        kind ?? "no bootstrap mode"
      }`,
    );
    Deno.exit(1);
  }
  return await bootstrapOrDie({
    bootProcAgent: (proc, onStopAll) => ProcAgent.bootV1(proc, { onStopAll }),
  });
}

if (import.meta.main) await runProcChild();
