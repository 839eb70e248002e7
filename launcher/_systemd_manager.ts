/**
 * Folder-private typed calls on systemd's `org.freedesktop.systemd1.Manager` (the user
 * manager on the session bus) and the unit signals the launcher follows, over
 * {@linkcode DbusConnection}.
 * @module
 */

import { type DbusConnection, unwrap, type Variant } from "./_dbus.ts";

const SYSTEMD = "org.freedesktop.systemd1";
const MANAGER_PATH = "/org/freedesktop/systemd1";
const MANAGER_IFACE = "org.freedesktop.systemd1.Manager";
const PROPERTIES_IFACE = "org.freedesktop.DBus.Properties";
/** Interface of a unit's generic properties (`ActiveState`, `SubState`, `LoadState`). */
export const UNIT_IFACE = "org.freedesktop.systemd1.Unit";
/** Interface of a service unit's properties (`Result`, `ExecMainCode`, `ExecMainStatus`). */
export const SERVICE_IFACE = "org.freedesktop.systemd1.Service";

/**
 * The object path systemd gives a unit: `/org/freedesktop/systemd1/unit/` + the name with
 * every byte other than `[A-Za-z]` (and digits after the first byte) written `_xx`
 * (sd-bus `bus_label_escape`).
 * @param name unit name.
 * @returns the object path.
 */
export function unitObjectPath(name: string): string {
  let out = "";
  const bytes = new TextEncoder().encode(name);
  bytes.forEach((b, i) => {
    const alpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    const digit = b >= 0x30 && b <= 0x39;
    out += alpha || (digit && i > 0)
      ? String.fromCharCode(b)
      : `_${b.toString(16).padStart(2, "0")}`;
  });
  return `${MANAGER_PATH}/unit/${out}`;
}

/** A transient unit property (`(sv)`). */
export type UnitProperty = [name: string, value: Variant];

/** `PropertiesChanged` on a unit object, decoded. */
export interface UnitPropertiesChanged {
  /** Object path of the unit. */
  path: string;
  /** Interface whose properties changed. */
  iface: string;
  /** Changed values, unwrapped. */
  changed: Record<string, unknown>;
  /** Names invalidated without a value. */
  invalidated: string[];
}

/** Typed calls on `org.freedesktop.systemd1.Manager` (the user manager on the session bus). */
export class SystemdManager {
  readonly connection: DbusConnection;
  constructor(connection: DbusConnection) {
    this.connection = connection;
  }

  #call(member: string, signature = "", body: unknown[] = []): Promise<unknown[]> {
    return this.connection.call({
      destination: SYSTEMD,
      path: MANAGER_PATH,
      interface: MANAGER_IFACE,
      member,
      signature,
      body,
    });
  }

  /** Reads the manager's `Version` property (a cheap liveness ping). */
  async version(): Promise<string> {
    const [v] = await this.connection.call({
      destination: SYSTEMD,
      path: MANAGER_PATH,
      interface: PROPERTIES_IFACE,
      member: "Get",
      signature: "ss",
      body: [MANAGER_IFACE, "Version"],
    });
    return String(unwrap(v));
  }

  /** Asks the manager to emit unit/job signals to this connection (`Subscribe`). */
  async subscribe(): Promise<void> {
    await this.#call("Subscribe");
  }

  /** `StartTransientUnit(name, mode, props, [])`; returns the job path. */
  async startTransientUnit(name: string, mode: string, props: UnitProperty[]): Promise<string> {
    const [job] = await this.#call("StartTransientUnit", "ssa(sv)a(sa(sv))", [
      name,
      mode,
      props,
      [],
    ]);
    return String(job);
  }

  /** `StopUnit(name, mode)`; returns the job path. */
  async stopUnit(name: string, mode = "replace"): Promise<string> {
    const [job] = await this.#call("StopUnit", "ss", [name, mode]);
    return String(job);
  }

  /** `KillUnit(name, whom, signal)`. */
  async killUnit(name: string, whom: "main" | "control" | "all", signal: number): Promise<void> {
    await this.#call("KillUnit", "ssi", [name, whom, signal]);
  }

  /** `ResetFailedUnit(name)`. */
  async resetFailedUnit(name: string): Promise<void> {
    await this.#call("ResetFailedUnit", "s", [name]);
  }

  /** `GetUnit(name)` (does not load the unit); returns its object path. */
  async getUnit(name: string): Promise<string> {
    const [path] = await this.#call("GetUnit", "s", [name]);
    return String(path);
  }

  /** `ListUnitsByPatterns([], patterns)`; returns the unit names. */
  async listUnitNames(patterns: string[]): Promise<string[]> {
    const [units] = await this.#call("ListUnitsByPatterns", "asas", [[], patterns]);
    return (units as unknown[][]).map((u) => String(u[0]));
  }

  /** `Properties.GetAll(iface)` on a unit object, unwrapped. */
  async getAll(path: string, iface: string): Promise<Record<string, unknown>> {
    const [props] = await this.connection.call({
      destination: SYSTEMD,
      path,
      interface: PROPERTIES_IFACE,
      member: "GetAll",
      signature: "s",
      body: [iface],
    });
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props as Record<string, unknown>)) out[k] = unwrap(v);
    return out;
  }

  /** Adds the match rules for unit `PropertiesChanged`, `UnitRemoved` and `JobRemoved`. */
  async watchSignals(): Promise<void> {
    await this.connection.addMatch(
      `type='signal',sender='${SYSTEMD}',interface='${PROPERTIES_IFACE}',member='PropertiesChanged',path_namespace='${MANAGER_PATH}/unit'`,
    );
    await this.connection.addMatch(
      `type='signal',sender='${SYSTEMD}',interface='${MANAGER_IFACE}'`,
    );
  }

  /**
   * Decodes signals added by {@linkcode watchSignals}.
   * @param handlers `properties` for unit property changes, `unitRemoved(name, path)`,
   *   `jobRemoved(unit, result)`.
   * @returns a function removing the handler.
   */
  onSignals(handlers: {
    properties(change: UnitPropertiesChanged): void;
    unitRemoved(name: string, path: string): void;
    jobRemoved(unit: string, job: string, result: string): void;
  }): () => void {
    return this.connection.onSignal((s) => {
      if (s.interface === PROPERTIES_IFACE && s.member === "PropertiesChanged") {
        const [iface, changed, invalidated] = s.body as [string, Record<string, unknown>, string[]];
        const values: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(changed ?? {})) values[k] = unwrap(v);
        handlers.properties({
          path: s.path,
          iface,
          changed: values,
          invalidated: invalidated ?? [],
        });
      } else if (s.interface === MANAGER_IFACE && s.member === "UnitRemoved") {
        handlers.unitRemoved(String(s.body[0]), String(s.body[1]));
      } else if (s.interface === MANAGER_IFACE && s.member === "JobRemoved") {
        handlers.jobRemoved(String(s.body[2]), String(s.body[1]), String(s.body[3]));
      }
    });
  }
}
