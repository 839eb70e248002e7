/**
 * Folder-private: the launcher of a `BootstrapProcManager`, chosen once
 * (BS-8, see `manager.ts`): set explicitly before first use, else the
 * default from `HYPERACTOR_MESH_PROC_LAUNCHER_KIND` at first use; a failed
 * default choice leaves the slot empty.
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { parseLauncherKind, type ProcLauncher, ProcLauncherError } from "../launcher/types.ts";

/** Holds the (possibly pending) launcher. */
export class LauncherSlot {
  #launcher: Promise<ProcLauncher> | undefined;

  /** The launcher if one was set or chosen (possibly still connecting). */
  get current(): Promise<ProcLauncher> | undefined {
    return this.#launcher;
  }

  /**
   * Installs `launcher` (BS-8).
   * @param launcher The launcher.
   * @throws {ProcLauncherError} `Other` when a launcher was set or chosen.
   */
  set(launcher: ProcLauncher): void {
    if (this.#launcher !== undefined) {
      throw new ProcLauncherError(
        "Other",
        "Cannot set proc launcher: launcher already initialized; call setLauncher before first spawn",
      );
    }
    this.#launcher = Promise.resolve(launcher); // BS-8
  }

  /**
   * The launcher, choosing the default on first use (BS-8).
   * @returns The same launcher on every call.
   * @throws Whatever the kind parse or `SystemdProcLauncher.connect()` throws.
   */
  get(): Promise<ProcLauncher> {
    if (this.#launcher !== undefined) return this.#launcher;
    const kind = parseLauncherKind(config.get(attrs.MESH_PROC_LAUNCHER_KIND));
    const chosen: Promise<ProcLauncher> = kind === "native"
      ? Promise.resolve(new NativeProcLauncher())
      : import("../launcher/systemd.ts").then((m) => m.SystemdProcLauncher.connect());
    this.#launcher = chosen; // BS-8
    chosen.catch(() => {
      if (this.#launcher === chosen) this.#launcher = undefined;
    });
    return chosen;
  }
}
