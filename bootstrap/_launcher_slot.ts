/**
 * Folder-private: the launcher of a `BootstrapProcManager`, chosen once
 * (BS-8, see `manager.ts`): set explicitly before first use, else the
 * default from `HYPERACTOR_MESH_PROC_LAUNCHER_KIND` at first use; a failed
 * default choice leaves the slot empty.
 *
 * ## Invariants (BS-*)
 * - **BS-45 (systemd only when chosen).** The systemd launcher's module is
 *   imported by a computed URL the first time a slot chooses it, so neither
 *   it nor its D-Bus npm package is in the static module graph of
 *   `bootstrap.ts`: a demo or a native host never downloads or loads them.
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import { NativeProcLauncher } from "../launcher/native.ts";
import { parseLauncherKind, type ProcLauncher, ProcLauncherError } from "../launcher/types.ts";

/**
 * The systemd launcher's module, loaded on first use only (BS-45): the
 * specifier is computed, so the module (and its D-Bus npm graph) is not
 * part of the static graph of `bootstrap.ts` or of any entry point that
 * never selects it — a demo or a native host downloads and loads none of it.
 * The URL is relative to this module, so it resolves from a file, an
 * `https:` URL or JSR alike.
 */
function loadSystemdLauncher(): Promise<SystemdModule> {
  const specifier = new URL(SYSTEMD_MODULE, import.meta.url).href;
  return import(specifier);
}

const SYSTEMD_MODULE = "../launcher/systemd.ts";

/** What this slot uses of the systemd launcher's module. */
interface SystemdModule {
  SystemdProcLauncher: { connect(): Promise<ProcLauncher> };
}

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
      : loadSystemdLauncher().then((m) => m.SystemdProcLauncher.connect());
    this.#launcher = chosen; // BS-8
    chosen.catch(() => {
      if (this.#launcher === chosen) this.#launcher = undefined;
    });
    return chosen;
  }
}
