/**
 * {@linkcode procChildCommand}: the bootstrap command that runs the bundled
 * proc child (`proc_child.bundle.js`, built from `proc_child.ts`, whose
 * module doc has the measurements and PC-1/PC-2). Kept apart from the entry
 * so importing the command neither loads the child's graph nor registers
 * the demo actor type.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { procChildCommand } from "./proc_child_command.ts";
 * const cmd = procChildCommand();
 * assertEquals(cmd.args.slice(0, 2), ["run", "--no-config"]);
 * assert(cmd.args.at(-1)!.endsWith("cli/proc_child.bundle.js"));
 * ```
 * @module
 */

import { BOOTSTRAP_PERMISSIONS, BootstrapCommand } from "../launcher/command.ts";

/** Deno permissions {@linkcode procChildCommand} grants by default (no `--allow-run`). */
export const PROC_CHILD_PERMISSIONS: readonly string[] = BOOTSTRAP_PERMISSIONS.filter(
  (flag) => flag !== "--allow-run",
);

/** The generated bundle, next to this module. */
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
 * From a local package (a `file:` URL) the bundle runs by path; from a remote
 * one (JSR) by its URL, which Deno downloads at the first spawn and caches
 * with `--allow-import` of the host it is served from.
 * @returns `deno run --no-config <permissions> <flags> <bundle path or URL>`.
 * @throws {TypeError} For `-A` / `--allow-all` among the permissions.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { procChildCommand } from "./proc_child_command.ts";
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
  // By path for a local package, by URL (with `--allow-import` of its host) for a remote one.
  const { program, args } = BootstrapCommand.forModule(new URL(BUNDLE, import.meta.url), [
    "--no-config",
    ...permissions,
    ...(options.flags ?? []),
  ]);
  return new BootstrapCommand({
    program: options.execPath ?? program,
    args,
    env: options.env ?? {},
  });
}
