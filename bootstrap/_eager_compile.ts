/**
 * Folder-private: the V8 flags a bootstrap child starts with (BS-50).
 *
 * A proc child compiles its whole module graph when it loads
 * (`--v8-flags=--no-lazy`, `HYPERMESH_PROC_EAGER_COMPILE`, on by default).
 * With V8's lazy default, each function is compiled the first time it runs,
 * and Deno's code cache (written when a module is compiled) holds only the
 * functions compiled by then, so every child compiled its receive path on
 * its first message and its stop path on its stop, again and again. Measured
 * on the 2-core VM (bundled child, 8 procs): stop of 8 27 → 18 ms (child CPU
 * for the stop 53 → 29 ms), 1 proc spawn → Ready 35 → 30 ms, idle RSS within
 * 0.5 MB.
 *
 * ## Invariants (BS-*)
 * - **BS-50 (eager compilation).** With `HYPERMESH_PROC_EAGER_COMPILE` on
 *   (the default; per-proc overrides apply) every bootstrap child whose
 *   command is `deno run …`, cold or warm (the pool's command gets the same
 *   flags, so BS-42 matching is unchanged), starts as
 *   `deno run --v8-flags=--no-lazy …`; any `--v8-flags` of the command itself
 *   follow and win. Off, the command runs exactly as given. Other programs
 *   (a `deno compile`d binary) are never changed. The cost: bytecode of
 *   functions that never run, which for the proc's own code is within the
 *   noise of idle RSS (±0.5 MB); a user module that imports a large library
 *   pays for all of it, and can turn this off.
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { BootstrapCommand } from "../launcher/command.ts";

/** What `HYPERMESH_PROC_EAGER_COMPILE` adds to a `deno run` child's V8 flags. */
export const EAGER_COMPILE_V8_FLAGS: readonly string[] = ["--no-lazy"];

/**
 * `command` as a bootstrap child runs it: with {@linkcode EAGER_COMPILE_V8_FLAGS}
 * when `eager` (a `deno run` command only; the command's own `--v8-flags`
 * still win, see `BootstrapCommand.withV8Flags`).
 * @param command The proc command.
 * @param eager Whether eager compilation is on (default: the global
 * `HYPERMESH_PROC_EAGER_COMPILE`).
 * @returns The command to launch.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "../launcher/command.ts";
 * import { childCommand } from "./_eager_compile.ts";
 * const cmd = BootstrapCommand.fromPath("deno", ["run", "main.ts"]);
 * assertEquals(childCommand(cmd, true).args, ["run", "--v8-flags=--no-lazy", "main.ts"]);
 * assertEquals(childCommand(cmd, false), cmd);
 * ```
 */
export function childCommand(
  command: BootstrapCommand,
  eager: boolean = config.get(attrs.PROC_EAGER_COMPILE),
): BootstrapCommand {
  return eager ? command.withV8Flags(EAGER_COMPILE_V8_FLAGS) : command;
}
