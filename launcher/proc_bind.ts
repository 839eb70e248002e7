/**
 * `ProcBind`: optional CPU / NUMA placement of a launched proc, applied by
 * wrapping its command in `numactl` or `taskset` (Linux).
 * @module
 */

import { isDirectorySync } from "./_proc_state.ts";

/** The keys a {@linkcode ProcBind} accepts, in wrapper-argument order. */
export const PROC_BIND_KEYS = ["cpunodebind", "membind", "physcpubind", "cpus"] as const;

/** One of {@linkcode PROC_BIND_KEYS}. */
export type ProcBindKey = typeof PROC_BIND_KEYS[number];

/** Plain-data form of a {@linkcode ProcBind}: every key optional. */
export type ProcBindInit = { [K in ProcBindKey]?: string };

/** The sysfs directory whose presence means "this machine has NUMA nodes". */
export const NUMA_NODE0_PATH = "/sys/devices/system/node/node0";

const NUMACTL_KEYS = ["cpunodebind", "membind", "physcpubind"] as const;

/** Thrown by {@linkcode ProcBind.fromMap} for a key it does not know. */
export class UnknownProcBindKeyError extends Error {
  /** The unknown key. */
  readonly key: string;
  /**
   * Create the error.
   * @param key the unknown key.
   * @param options standard error options.
   */
  constructor(key: string, options?: ErrorOptions) {
    super(
      `Cannot build proc bind: unknown key "${key}" (expected one of ${PROC_BIND_KEYS.join(", ")})`,
      options,
    );
    this.name = "UnknownProcBindKeyError";
    this.key = key;
  }
}

/**
 * CPU / NUMA binding for one proc. Immutable; absent keys are `undefined`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcBind } from "./proc_bind.ts";
 * const bind = ProcBind.fromMap({ membind: "0", cpus: "0-3" });
 * assertEquals(bind.toJSON(), { membind: "0", cpus: "0-3" });
 * assertEquals(bind.hasNumaKeys, true);
 * ```
 */
export class ProcBind {
  /** `numactl --cpunodebind` value. */
  readonly cpunodebind?: string;
  /** `numactl --membind` value. */
  readonly membind?: string;
  /** `numactl --physcpubind` value. */
  readonly physcpubind?: string;
  /** `taskset -c` CPU list (fallback when numactl does not apply). */
  readonly cpus?: string;

  /**
   * Create a binding; values are trimmed.
   * @param init the keys to set.
   * @throws {TypeError} when a value is not a non-empty string.
   */
  constructor(init: ProcBindInit = {}) {
    for (const key of PROC_BIND_KEYS) {
      const value = init[key];
      if (value === undefined) continue;
      if (typeof value !== "string" || value.trim() === "") {
        throw new TypeError(
          `Cannot build proc bind: invalid ${key} value ${JSON.stringify(value)}`,
        );
      }
      this[key] = value.trim();
    }
    Object.freeze(this);
  }

  /**
   * Build from a string map with the keys `cpunodebind`, `membind`,
   * `physcpubind`, `cpus`.
   * @param map a record or `Map`.
   * @returns the binding.
   * @throws {UnknownProcBindKeyError} for any other key.
   * @throws {TypeError} for an empty or non-string value.
   * @example
   * ```ts
   * import { assertThrows } from "@std/assert";
   * import { ProcBind, UnknownProcBindKeyError } from "./proc_bind.ts";
   * assertThrows(() => ProcBind.fromMap({ cpu: "1" }), UnknownProcBindKeyError, '"cpu"');
   * ```
   */
  static fromMap(
    map: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
  ): ProcBind {
    const entries = map instanceof Map ? [...map.entries()] : Object.entries(map);
    const init: ProcBindInit = {};
    for (const [key, value] of entries) {
      if (!(PROC_BIND_KEYS as readonly string[]).includes(key)) {
        throw new UnknownProcBindKeyError(key);
      }
      init[key as ProcBindKey] = value;
    }
    return new ProcBind(init);
  }

  /** Whether no key is set. */
  get isEmpty(): boolean {
    return PROC_BIND_KEYS.every((k) => this[k] === undefined);
  }

  /** Whether any numactl key (`cpunodebind`, `membind`, `physcpubind`) is set. */
  get hasNumaKeys(): boolean {
    return NUMACTL_KEYS.some((k) => this[k] !== undefined);
  }

  /**
   * Value equality over the four keys.
   * @param other the binding to compare with.
   * @returns whether every key matches.
   */
  equals(other: ProcBind): boolean {
    return PROC_BIND_KEYS.every((k) => this[k] === other[k]);
  }

  /**
   * The plain-data form (present keys only).
   * @returns a record accepted by {@linkcode ProcBind.fromMap}.
   */
  toJSON(): ProcBindInit {
    const out: ProcBindInit = {};
    for (const k of PROC_BIND_KEYS) if (this[k] !== undefined) out[k] = this[k];
    return out;
  }
}

/** Options of {@linkcode wrapCommand}. */
export interface WrapCommandOptions {
  /** The binding (none: the command is unchanged). */
  bind?: ProcBind;
  /** NUMA probe (default: {@linkcode hasNumaNodes}). */
  numaAvailable?: () => boolean;
}

/** Result of {@linkcode wrapCommand}. */
export interface WrappedCommand {
  /** Program to execute. */
  program: string;
  /** Its arguments. */
  args: string[];
  /** The wrapper used, if any (an argv[0] override must then be dropped). */
  wrapper?: "numactl" | "taskset";
}

/**
 * Whether this machine exposes NUMA node 0 in sysfs. Deno gates `/sys` behind
 * `--allow-all`; without it the probe runs `test -d` (needs `--allow-run`),
 * and answers `false` if neither is permitted.
 * @returns whether {@linkcode NUMA_NODE0_PATH} is a directory.
 * @tags allow-read, allow-run
 */
export function hasNumaNodes(): boolean {
  return isDirectorySync(NUMA_NODE0_PATH);
}

/**
 * Wrap `program args…` to apply `bind`: with numactl keys on a NUMA machine,
 * `numactl --cpunodebind=V --membind=V --physcpubind=V program args…` (present
 * keys only); else with `cpus`, `taskset -c CPUS program args…`; else
 * unchanged. The probe runs only when numactl keys are present.
 * @param program the program to run.
 * @param args its arguments.
 * @param options the binding (`bind`), NUMA probe override.
 * @returns the program and arguments to execute.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcBind, wrapCommand } from "./proc_bind.ts";
 * const bind = new ProcBind({ membind: "1", cpus: "2" });
 * assertEquals(wrapCommand("deno", ["run"], { bind, numaAvailable: () => true }), {
 *   program: "numactl",
 *   args: ["--membind=1", "deno", "run"],
 *   wrapper: "numactl",
 * });
 * assertEquals(wrapCommand("deno", ["run"], { bind, numaAvailable: () => false }).args, [
 *   "-c", "2", "deno", "run",
 * ]);
 * ```
 */
export function wrapCommand(
  program: string,
  args: readonly string[],
  options: WrapCommandOptions = {},
): WrappedCommand {
  const { bind } = options;
  if (bind === undefined || bind.isEmpty) return { program, args: [...args] };
  const numaAvailable = options.numaAvailable ?? hasNumaNodes;
  if (bind.hasNumaKeys && numaAvailable()) {
    const flags = NUMACTL_KEYS.filter((k) => bind[k] !== undefined).map((k) => `--${k}=${bind[k]}`);
    return { program: "numactl", args: [...flags, program, ...args], wrapper: "numactl" };
  }
  if (bind.cpus !== undefined) {
    return { program: "taskset", args: ["-c", bind.cpus, program, ...args], wrapper: "taskset" };
  }
  return { program, args: [...args] };
}
