/**
 * Folder-private: the command a bootstrap child actually runs — the proc
 * command with the V8 flags and the runtime variables every proc child
 * starts with (BS-50, BS-52).
 *
 * **Eager compilation.** A proc child compiles its whole module graph when
 * it loads (`--v8-flags=--no-lazy`, `HYPERMESH_PROC_EAGER_COMPILE`, on by
 * default). With V8's lazy default, each function is compiled the first
 * time it runs, and Deno's code cache (written when a module is compiled)
 * holds only the functions compiled by then, so every child compiled its
 * receive path on its first message and its stop path on its stop, again
 * and again. Measured on the 2-core VM (bundled child, 8 procs): stop of 8
 * 27 → 18 ms (child CPU for the stop 53 → 29 ms), 1 proc spawn → Ready
 * 35 → 30 ms, idle RSS within 0.5 MB.
 *
 * **No update check.** `deno run` looks for a newer Deno in the background
 * about a second after it starts (a DNS query for `dl.deno.land`, the
 * system's CA certificates parsed, an HTTPS request; once a day when it
 * succeeds, on every start when the network is out of reach), unless
 * `DENO_NO_UPDATE_CHECK` is set. A fleet's procs have no business contacting
 * the network on their own, and it cost each proc ~3 MB of RSS (measured:
 * 41.0 → 38.1 MB) and a few milliseconds of CPU.
 *
 * ## Invariants (BS-*)
 * - **BS-50 (eager compilation).** With `HYPERMESH_PROC_EAGER_COMPILE` on
 *   (the default; per-proc overrides apply) every bootstrap child whose
 *   command is `deno run …`, cold or warm (the pool's command gets the same
 *   flags, so BS-42 matching is unchanged), starts as
 *   `deno run --v8-flags=--no-lazy …`; any `--v8-flags` of the command itself
 *   follow and win. Off, the command's arguments run exactly as given. Other
 *   programs (a `deno compile`d binary) are never changed. The cost: bytecode
 *   of functions that never run, which for the proc's own code is within the
 *   noise of idle RSS (±0.5 MB); a user module that imports a large library
 *   pays for all of it, and can turn this off.
 * - **BS-52 (no update check).** Every bootstrap child whose command is
 *   `deno run …`, cold or warm, starts with `DENO_NO_UPDATE_CHECK=1` unless
 *   its command sets that variable itself: no proc contacts `dl.deno.land`.
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { BootstrapCommand } from "../launcher/command.ts";

/** What `HYPERMESH_PROC_EAGER_COMPILE` adds to a `deno run` child's V8 flags. */
export const EAGER_COMPILE_V8_FLAGS: readonly string[] = ["--no-lazy"];

/** The variable that turns off `deno run`'s background update check (BS-52). */
export const NO_UPDATE_CHECK_ENV = "DENO_NO_UPDATE_CHECK";

/**
 * `command` as a bootstrap child runs it (a `deno run` command only; any
 * other is returned as is): with {@linkcode EAGER_COMPILE_V8_FLAGS} when
 * `eager` (the command's own `--v8-flags` still win, see
 * `BootstrapCommand.withV8Flags`), and with `DENO_NO_UPDATE_CHECK=1` unless
 * the command sets it.
 * @param command The proc command.
 * @param eager Whether eager compilation is on (default: the global
 * `HYPERMESH_PROC_EAGER_COMPILE`).
 * @returns The command to launch.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "../launcher/command.ts";
 * import { childCommand } from "./_child_command.ts";
 * const cmd = BootstrapCommand.fromPath("deno", ["run", "main.ts"]);
 * assertEquals(childCommand(cmd, true).args, ["run", "--v8-flags=--no-lazy", "main.ts"]);
 * assertEquals(childCommand(cmd, false).args, ["run", "main.ts"]);
 * assertEquals(childCommand(cmd, false).env, { DENO_NO_UPDATE_CHECK: "1" });
 * const other = BootstrapCommand.fromPath("/srv/server");
 * assertEquals(childCommand(other, true), other);
 * ```
 */
export function childCommand(
  command: BootstrapCommand,
  eager: boolean = config.get(attrs.PROC_EAGER_COMPILE),
): BootstrapCommand {
  if (command.args[0] !== "run") return command;
  const quiet = NO_UPDATE_CHECK_ENV in command.env
    ? command
    : command.withEnv({ [NO_UPDATE_CHECK_ENV]: "1" }); // BS-52
  return eager ? quiet.withV8Flags(EAGER_COMPILE_V8_FLAGS) : quiet; // BS-50
}
