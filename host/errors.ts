/**
 * `HostError`: the error family of host operations (seed `HostError`).
 *
 * One class with a `kind` discriminant naming the seed's variant, the data a
 * caller needs to act (proc name, proc id, parameter) and the original error
 * as `cause`. Messages read "Cannot <action>: <the seed's display>".
 *
 * @module
 */

import type { ProcId } from "../actor/reference.ts";

/** The seed's `HostError` variants. */
export type HostErrorKind =
  | "ChannelError"
  | "ProcExists"
  | "ProcessSpawnFailure"
  | "ProcessConfigurationFailure"
  | "AgentSpawnFailure"
  | "MissingParameter"
  | "InvalidParameter";

/** Constructor fields of a {@linkcode HostError}. */
export interface HostErrorInit {
  /** The variant. */
  kind: HostErrorKind;
  /** The full message. */
  message: string;
  /** `ProcExists`: the rejected proc name. */
  procName?: string;
  /** Spawn/configure/agent failures: the proc concerned. */
  procId?: ProcId;
  /** `MissingParameter` / `InvalidParameter`: the parameter (environment variable) name. */
  parameter?: string;
  /** The underlying error. */
  cause?: unknown;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * An error produced by a host operation. Match on {@linkcode HostError.kind}.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { HostError } from "./errors.ts";
 * const err = HostError.procExists("proc1");
 * assert(err instanceof HostError);
 * assertEquals(err.kind, "ProcExists");
 * assertEquals(err.procName, "proc1");
 * assertEquals(err.message, "Cannot spawn proc: proc 'proc1' already exists");
 * ```
 */
export class HostError extends Error {
  /** The seed's variant name. */
  readonly kind: HostErrorKind;
  /** `ProcExists`: the rejected proc name. */
  readonly procName?: string;
  /** The proc concerned, for spawn/configure/agent failures. */
  readonly procId?: ProcId;
  /** `MissingParameter` / `InvalidParameter`: the parameter name. */
  readonly parameter?: string;

  /**
   * Prefer the static constructors.
   * @param init Variant, message and data.
   */
  constructor(init: HostErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "HostError";
    this.kind = init.kind;
    this.procName = init.procName;
    this.procId = init.procId;
    this.parameter = init.parameter;
  }

  /**
   * A channel could not be served or dialed (transparent: the channel error's message).
   * @param cause The channel error.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HostError } from "./errors.ts";
   * assertEquals(HostError.channelError(new Error("Cannot serve \"x\": busy")).kind, "ChannelError");
   * ```
   */
  static channelError(cause: unknown): HostError {
    return new HostError({ kind: "ChannelError", message: describe(cause), cause });
  }

  /**
   * The named proc already exists.
   * @param name The proc name.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HostError } from "./errors.ts";
   * assertEquals(HostError.procExists("a").kind, "ProcExists");
   * ```
   */
  static procExists(name: string): HostError {
    return new HostError({
      kind: "ProcExists",
      message: `Cannot spawn proc: proc '${name}' already exists`,
      procName: name,
    });
  }

  /**
   * The OS refused to start the process hosting a proc.
   * @param procId The proc.
   * @param cause The OS error.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ChannelAddr } from "../channel/addr.ts";
   * import { ProcId } from "../actor/reference.ts";
   * import { HostError } from "./errors.ts";
   * const e = HostError.processSpawnFailure(new ProcId(ChannelAddr.local(1), "p"), new Error("ENOENT"));
   * assertEquals(e.message, "Cannot spawn proc: proc 'local:1,p' failed to spawn process: ENOENT");
   * ```
   */
  static processSpawnFailure(procId: ProcId, cause: unknown): HostError {
    return new HostError({
      kind: "ProcessSpawnFailure",
      message: `Cannot spawn proc: proc '${procId}' failed to spawn process: ${describe(cause)}`,
      procId,
      cause,
    });
  }

  /**
   * A proc was started but could not be configured (not ready in time, terminal
   * before ready, lost lifecycle channel, ready without address or agent).
   * @param procId The proc.
   * @param cause What went wrong (an error or a description).
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ChannelAddr } from "../channel/addr.ts";
   * import { ProcId } from "../actor/reference.ts";
   * import { HostError } from "./errors.ts";
   * const e = HostError.processConfigurationFailure(new ProcId(ChannelAddr.local(1), "p"), "timeout");
   * assertEquals(e.kind, "ProcessConfigurationFailure");
   * assertEquals(e.procId?.name, "p");
   * ```
   */
  static processConfigurationFailure(procId: ProcId, cause: unknown): HostError {
    return new HostError({
      kind: "ProcessConfigurationFailure",
      message: `Cannot spawn proc: proc '${procId}' failed to configure process: ${
        describe(cause)
      }`,
      procId,
      cause,
    });
  }

  /**
   * The management agent could not be spawned in a proc.
   * @param procId The proc.
   * @param cause The spawn error.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ChannelAddr } from "../channel/addr.ts";
   * import { ProcId } from "../actor/reference.ts";
   * import { HostError } from "./errors.ts";
   * const e = HostError.agentSpawnFailure(new ProcId(ChannelAddr.local(1), "p"), new Error("boom"));
   * assertEquals(e.message, "Cannot spawn proc: failed to spawn agent on proc 'local:1,p': boom");
   * ```
   */
  static agentSpawnFailure(procId: ProcId, cause: unknown): HostError {
    return new HostError({
      kind: "AgentSpawnFailure",
      message: `Cannot spawn proc: failed to spawn agent on proc '${procId}': ${describe(cause)}`,
      procId,
      cause,
    });
  }

  /**
   * An input parameter (environment variable) is not set.
   * @param parameter Its name.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HostError } from "./errors.ts";
   * const e = HostError.missingParameter("HYPERACTOR_HOST_PROC_ID");
   * assertEquals(e.message, "Cannot boot proc: parameter 'HYPERACTOR_HOST_PROC_ID' missing: environment variable not found");
   * ```
   */
  static missingParameter(parameter: string): HostError {
    return new HostError({
      kind: "MissingParameter",
      message: `Cannot boot proc: parameter '${parameter}' missing: environment variable not found`,
      parameter,
    });
  }

  /**
   * An input parameter (environment variable) does not parse.
   * @param parameter Its name.
   * @param cause The parse error.
   * @returns The error.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HostError } from "./errors.ts";
   * const e = HostError.invalidParameter("X", new Error("bad"));
   * assertEquals([e.kind, e.parameter, e.message], ["InvalidParameter", "X", "Cannot boot proc: parameter 'X' invalid: bad"]);
   * ```
   */
  static invalidParameter(parameter: string, cause: unknown): HostError {
    return new HostError({
      kind: "InvalidParameter",
      message: `Cannot boot proc: parameter '${parameter}' invalid: ${describe(cause)}`,
      parameter,
      cause,
    });
  }
}

/**
 * Whether `err` is a {@linkcode HostError}, optionally of the given kind.
 * @param err Anything caught.
 * @param kind The variant to match.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HostError, isHostError } from "./errors.ts";
 * assert(isHostError(HostError.procExists("a"), "ProcExists"));
 * assert(!isHostError(new Error("x")));
 * ```
 */
export function isHostError(err: unknown, kind?: HostErrorKind): err is HostError {
  return err instanceof HostError && (kind === undefined || err.kind === kind);
}
