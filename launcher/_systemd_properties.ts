/**
 * Folder-private: the properties of a proc's transient `systemd --user`
 * service — command line (wrapped for a `ProcBind`), environment, service
 * type and the stop/kill policy.
 *
 * ## Invariants (LN-*)
 * Enforced here, promised by `systemd.ts`:
 * - **LN-S6 (same module cache).** A unit starts in the user manager's
 *   environment, not ours; besides the command's environment and the launch
 *   variables it gets this process's `DENO_DIR` when set here and not given
 *   by the command, so a Deno child finds the module cache its launcher uses.
 * @module
 */

import { variant } from "./_dbus.ts";
import type { UnitProperty } from "./_systemd_manager.ts";
import { launchEnv, type LaunchOptions } from "./types.ts";
import { wrapCommand } from "./proc_bind.ts";

/** Variables of this process copied into every unit's environment (LN-S6). */
const PASSTHROUGH_ENV: readonly string[] = ["DENO_DIR"];

function passthroughEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PASSTHROUGH_ENV) {
    try {
      const value = Deno.env.get(key);
      if (value !== undefined) out[key] = value;
    } catch {
      // no env permission: nothing to pass through
    }
  }
  return out;
}

/**
 * The `StartTransientUnit` properties of proc `procId`.
 * @param procId The proc id (text form).
 * @param options The launch intent.
 * @param stopTimeoutMs `TimeoutStopUSec`: systemd's own SIGKILL backstop.
 * @returns The unit properties.
 */
export function unitProperties(
  procId: string,
  options: LaunchOptions,
  stopTimeoutMs: number,
): UnitProperty[] {
  const { program, arg0, args } = options.command;
  const wrapped = wrapCommand(program, args, { bind: options.procBind });
  const argv = wrapped.wrapper === undefined
    ? [arg0 ?? program, ...args]
    : [wrapped.program, ...wrapped.args]; // an arg0 override is dropped when wrapping
  const command = options.command.withEnv({ ...passthroughEnv(), ...options.command.env });
  const env = Object.entries(launchEnv({ ...options, command })) // LN-S6
    .map(([k, v]) => `${k}=${v}`).sort();
  return [
    ["Description", variant("s", `hypermesh proc ${procId}`)],
    // exec: active while the process runs, start job fails when exec fails.
    ["Type", variant("s", "exec")],
    ["RemainAfterExit", variant("b", true)],
    ["ExecStart", variant("a(sasb)", [[wrapped.program, argv, false]])],
    ["Environment", variant("as", env)],
    ["KillMode", variant("s", "control-group")],
    ["KillSignal", variant("i", 15)],
    ["SendSIGKILL", variant("b", true)],
    ["TimeoutStopUSec", variant("t", BigInt(Math.round(stopTimeoutMs * 1000)))],
  ];
}
