/**
 * Folder-private: one launch of `BootstrapProcManager.spawn` — reading the
 * per-proc overrides (log forwarding, file capture, tail size), encoding the
 * `Bootstrap.Proc` payload, choosing the command and calling the launcher.
 * @module
 */

import type { ChannelAddr } from "../channel/addr.ts";
import { type Attr, type AttrKind, attrs, type AttrValueOf, config } from "../config/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { ProcId } from "../actor/reference.ts";
import type { BootstrapCommand } from "../launcher/command.ts";
import {
  formatProcessName,
  type LaunchOptions,
  type LaunchResult,
  type ProcLauncher,
} from "../launcher/types.ts";
import { HostError } from "../host/errors.ts";
import { toEnvSafeString } from "./mode.ts";
import { PARENT_PID_ENV, WATCH_PID_ENV } from "./mode.ts";
import type { BootstrapProcConfig } from "./manager.ts";
import type { WarmPool } from "./warm_pool.ts";
import { childCommand } from "./_child_command.ts";

/**
 * The value of `attr` in `overrides` (by wire key) when present and of the
 * right type, else the global config's value (the seed's `override_or_global`).
 * @param overrides A config snapshot.
 * @param attr The attribute.
 * @returns The value.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attrs } from "../config/mod.ts";
 * import { overrideOrGlobal } from "./_launch_proc.ts";
 * assertEquals(overrideOrGlobal({ [attrs.MESH_TAIL_LOG_LINES.key]: 7 }, attrs.MESH_TAIL_LOG_LINES), 7);
 * ```
 */
export function overrideOrGlobal<K extends AttrKind>(
  overrides: ConfigSnapshot,
  attr: Attr<K>,
): AttrValueOf[K] {
  const value = overrides[attr.key];
  const ok = attr.kind === "bool"
    ? typeof value === "boolean"
    : attr.kind === "string"
    ? typeof value === "string"
    : typeof value === "number";
  return ok ? value as AttrValueOf[K] : config.get(attr);
}

/** What {@linkcode launchBootstrap} started and the stdio settings it read. */
export interface BootstrapLaunch {
  /** The launcher's result. */
  result: LaunchResult;
  /** The launcher's id of the proc (its proc id text). */
  launcherId: string;
  /** File capture on. */
  fileCapture: boolean;
  /** Tail size (lines). */
  tailLines: number;
  /** Where forwarded lines go (log forwarding on and a channel known). */
  logChannel: string | undefined;
  /** Log forwarding on for this proc. */
  forwarding: boolean;
  /** `[rank] ` prefix on for this proc (per-proc override first). */
  prefixWithRank: boolean;
}

/**
 * Encodes the payload and launches proc `procId` through `launcher`.
 * @param procId The proc's id.
 * @param backendAddr The host back-end the child forwards to.
 * @param procConfig Rank, config override, binding, command override.
 * @param launcher The launcher.
 * @param opts Callback address, socket directory, default command, the
 * manager's log channel (asked only when forwarding is on), and its warm
 * pool (it decides which launches it can serve, BS-32, BS-42).
 * @returns The launch and the stdio settings.
 * @throws {HostError} `ProcessConfigurationFailure` (payload),
 * `ProcessSpawnFailure` (launch).
 */
export async function launchBootstrap(
  procId: ProcId,
  backendAddr: ChannelAddr,
  procConfig: BootstrapProcConfig,
  launcher: ProcLauncher,
  opts: {
    callbackAddr: ChannelAddr;
    socketDir: string;
    defaultCommand: BootstrapCommand;
    logChannel: () => string | undefined;
    warmPool?: WarmPool;
  },
): Promise<BootstrapLaunch> {
  const overrides = procConfig.clientConfigOverride ?? {};
  const forwarding = overrideOrGlobal(overrides, attrs.MESH_ENABLE_LOG_FORWARDING);
  const fileCapture = overrideOrGlobal(overrides, attrs.MESH_ENABLE_FILE_CAPTURE);
  const prefixWithRank = overrideOrGlobal(overrides, attrs.PREFIX_WITH_RANK);
  const tailLines = Math.max(
    0,
    Math.floor(overrideOrGlobal(overrides, attrs.MESH_TAIL_LOG_LINES)),
  );
  const needStdio = forwarding || fileCapture || tailLines > 0;

  let payload: string;
  try {
    payload = toEnvSafeString({
      kind: "Proc",
      procId,
      backendAddr,
      callbackAddr: opts.callbackAddr,
      socketDirPath: opts.socketDir,
      config: overrides,
    });
  } catch (error) {
    throw HostError.processConfigurationFailure(procId, error);
  }
  const logChannel = forwarding ? opts.logChannel() : undefined;
  // A systemd unit's parent is the user manager, not this process: naming
  // us as its parent would make the child's death guard exit it at once, so
  // the unit watches our pid instead (BS-36).
  const base = childCommand( // BS-50, BS-52
    procConfig.bootstrapCommand ?? opts.defaultCommand,
    overrideOrGlobal(overrides, attrs.PROC_EAGER_COMPILE),
  );
  const command = base.withEnv({
    [launcher.kind === "systemd" ? WATCH_PID_ENV : PARENT_PID_ENV]: String(Deno.pid),
  });
  const launcherId = procId.toString();
  const pool = opts.warmPool; // it takes per-proc commands of its program too (BS-42)
  let result: LaunchResult;
  try {
    const options: LaunchOptions = {
      bootstrapPayload: payload,
      processName: formatProcessName(launcherId),
      command,
      wantStdio: needStdio,
      tailLines,
      ...(logChannel === undefined ? {} : { logChannel }),
      ...(procConfig.procBind === undefined ? {} : { procBind: procConfig.procBind }),
      // BS-51: armed before the child runs, its guard needs no FFI.
      ...(launcher.kind === "native" &&
          overrideOrGlobal(overrides, attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG)
        ? { parentDeathSignal: "SIGKILL" as const }
        : {}),
    };
    result = await (pool === undefined
      ? launcher.launch(launcherId, options)
      : pool.launch(launcher, launcherId, options));
  } catch (error) {
    throw HostError.processSpawnFailure(procId, error);
  }
  return { result, launcherId, fileCapture, tailLines, logChannel, forwarding, prefixWithRank };
}
