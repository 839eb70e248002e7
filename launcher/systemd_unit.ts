/**
 * Folder-private pure helpers of the systemd launcher: unit names, the terminal-state
 * test and the exit mapping (reference §5.3). Re-exported by `systemd.ts`.
 * @module
 */

import type { ProcExitKind } from "./types.ts";

/** Prefix of every unit the systemd launcher creates. */
export const UNIT_PREFIX = "hypermesh-";
/** Suffix of every unit the systemd launcher creates. */
export const UNIT_SUFFIX = ".service";
/** systemd's limit on a unit name's length (`UNIT_NAME_MAX` minus the NUL). */
export const UNIT_NAME_MAX = 255;
/** Hex characters of the proc id kept in a hashed (long-id) name; even, so whole bytes. */
const HASHED_KEEP = UNIT_NAME_MAX - UNIT_PREFIX.length - UNIT_SUFFIX.length - 2 - 32 - 1;

const FNV128_OFFSET = 0x6c62272e07bb014262b821756295c58dn;
const FNV128_PRIME = 0x0000000001000000000000000000013bn;
const MASK128 = (1n << 128n) - 1n;

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** FNV-1a, 128-bit: deterministic, dependency-free and synchronous (not cryptographic). */
function fnv1a128(bytes: Uint8Array): string {
  let h = FNV128_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV128_PRIME) & MASK128;
  return h.toString(16).padStart(32, "0");
}

/**
 * The transient unit name of a proc: `hypermesh-<hex>.service`, hex being the lowercase hex
 * of the proc id's UTF-8 bytes (stable, collision-free, and valid whatever the id holds:
 * only `[a-z0-9.-]` appear). Ids longer than 118 bytes would pass systemd's 255-character
 * limit; they become `hypermesh-<first 101 bytes in hex>-h<FNV-1a-128 of all bytes>.service`
 * (254 characters). The `-h` marker cannot occur in the plain form, so the two forms never
 * collide with each other; two long ids collide only if they share the kept prefix and
 * the 128-bit hash.
 * @param procId the proc id's text form (non-empty).
 * @returns the unit name.
 * @throws {TypeError} when `procId` is not a non-empty string.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { unitName } from "./systemd.ts";
 * assertEquals(unitName("a,b"), "hypermesh-612c62.service");
 * ```
 */
export function unitName(procId: string): string {
  if (typeof procId !== "string" || procId === "") {
    throw new TypeError(`Cannot derive a unit name: invalid proc id ${JSON.stringify(procId)}`);
  }
  const bytes = new TextEncoder().encode(procId);
  const hex = toHex(bytes);
  const plain = `${UNIT_PREFIX}${hex}${UNIT_SUFFIX}`;
  if (plain.length <= UNIT_NAME_MAX) return plain;
  return `${UNIT_PREFIX}${hex.slice(0, HASHED_KEEP)}-h${fnv1a128(bytes)}${UNIT_SUFFIX}`;
}

/** The unit / service properties the exit logic reads (D-Bus names). */
export interface UnitExitProps {
  /** `org.freedesktop.systemd1.Unit.ActiveState`. */
  ActiveState?: string;
  /** `org.freedesktop.systemd1.Unit.SubState`. */
  SubState?: string;
  /** `org.freedesktop.systemd1.Service.Result`. */
  Result?: string;
  /** `ExecMainCode`: 0 none yet, 1 exited, 2 killed, 3 dumped (`CLD_*`). */
  ExecMainCode?: number;
  /** `ExecMainStatus`: exit status or signal number. */
  ExecMainStatus?: number;
}

/**
 * Whether a unit has reached a terminal state: `failed`, `inactive` once it had started,
 * or `active` + `exited` (a `RemainAfterExit` service whose process ended).
 * @param props the latest properties.
 * @param started whether the unit was ever seen past its pristine `inactive` state.
 * @returns whether the process has ended.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isUnitTerminal } from "./systemd.ts";
 * assert(isUnitTerminal({ ActiveState: "active", SubState: "exited" }, true));
 * assert(!isUnitTerminal({ ActiveState: "inactive" }, false));
 * ```
 */
export function isUnitTerminal(props: UnitExitProps, started: boolean): boolean {
  const { ActiveState: active, SubState: sub } = props;
  if (active === "failed") return true;
  if (active === "inactive") return started;
  return active === "active" && sub === "exited";
}

/**
 * Whether `ExecMainCode` is conclusive (1 exited, 2 killed, 3 dumped).
 * @param props the unit's properties.
 * @returns whether {@linkcode mapUnitExit} can rely on `ExecMainStatus`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hasExecMainResult } from "./systemd.ts";
 * assert(hasExecMainResult({ ExecMainCode: 2 }) && !hasExecMainResult({ ExecMainCode: 0 }));
 * ```
 */
export function hasExecMainResult(props: UnitExitProps): boolean {
  return props.ExecMainCode === 1 || props.ExecMainCode === 2 || props.ExecMainCode === 3;
}

/**
 * Maps a terminal unit to a {@linkcode ProcExitKind} (reference §5.3): `ExecMainCode`
 * 1 → `Exited{status}`, 2 → `Signaled{status}`, 3 → `Signaled{status, coreDumped}`;
 * otherwise by `Result`: `success` → `Exited{0}`, `exit-code` / `signal` / `core-dump`
 * with a non-zero status as above (`Failed` without one), anything else `Failed`.
 * @param props the unit's last known properties.
 * @returns the exit kind.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mapUnitExit } from "./systemd.ts";
 * assertEquals(mapUnitExit({ ExecMainCode: 1, ExecMainStatus: 3 }), { kind: "Exited", code: 3 });
 * assertEquals(mapUnitExit({ ExecMainCode: 3, ExecMainStatus: 6 }), {
 *   kind: "Signaled", signal: 6, coreDumped: true,
 * });
 * ```
 */
export function mapUnitExit(props: UnitExitProps): ProcExitKind {
  const code = props.ExecMainCode ?? 0;
  const status = props.ExecMainStatus;
  const known = typeof status === "number" && Number.isInteger(status);
  if (code === 1 && known) return { kind: "Exited", code: status };
  if (code === 2 && known) return { kind: "Signaled", signal: status, coreDumped: false };
  if (code === 3 && known) return { kind: "Signaled", signal: status, coreDumped: true };
  const result = props.Result;
  const withStatus = known && status > 0;
  switch (result) {
    case "success":
      return { kind: "Exited", code: 0 };
    case "exit-code":
      return withStatus
        ? { kind: "Exited", code: status }
        : { kind: "Failed", reason: "systemd result exit-code without an exit status" };
    case "signal":
    case "core-dump":
      return withStatus
        ? { kind: "Signaled", signal: status, coreDumped: result === "core-dump" }
        : { kind: "Failed", reason: `systemd result ${result} without a signal number` };
    case undefined:
      return { kind: "Failed", reason: "systemd reported no result" };
    default:
      return { kind: "Failed", reason: `unknown systemd result "${result}"` };
  }
}
