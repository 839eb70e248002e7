/**
 * Errors of the host-mesh layer (the seed's `crate::Error` variants used by
 * `host_mesh.rs`, and `ConfigPushError`).
 *
 * @module
 */

import { formatStatus, type Status } from "../resource/status.ts";
import type { RankedValues } from "../resource/ranked_values.ts";
import type { State } from "../resource/protocol.ts";
import type { ProcState } from "../host_agent/protocol.ts";

/** Variants of {@linkcode HostMeshRefParseError}. */
export type HostMeshRefParseErrorKind =
  | "MissingId"
  | "MissingRegion"
  | "InvalidId"
  | "InvalidHost"
  | "InvalidRegion"
  | "InvalidCardinality";

/**
 * Text that is not a host mesh reference (`ID:HOST,HOST@REGION`).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostMeshRefParseError } from "./errors.ts";
 * assertEquals(new HostMeshRefParseError("MissingId", "x", "no ':'").kind, "MissingId");
 * ```
 */
export class HostMeshRefParseError extends Error {
  /** The variant. */
  readonly kind: HostMeshRefParseErrorKind;
  /** The rejected text. */
  readonly input: string;
  /**
   * Creates a HostMeshRefParseError.
   * @param kind The variant.
   * @param input The rejected text.
   * @param detail What is wrong.
   * @param options `cause`.
   */
  constructor(
    kind: HostMeshRefParseErrorKind,
    input: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot parse host mesh ref "${input}": ${detail}`, options);
    this.name = "HostMeshRefParseError";
    this.kind = kind;
    this.input = input;
  }
}

/**
 * A spawn was misconfigured (overlapping labels, proc-bind length, a failing
 * per-rank bootstrap function).
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { MeshConfigurationError } from "./errors.ts";
 * assertMatch(new MeshConfigurationError("spawn", "bad").message, /^Cannot spawn/);
 * ```
 */
export class MeshConfigurationError extends Error {
  /**
   * Creates a MeshConfigurationError.
   * @param action What was attempted.
   * @param detail Why it is misconfigured.
   * @param options `cause`.
   */
  constructor(action: string, detail: string, options?: ErrorOptions) {
    super(`Cannot ${action}: ${detail}`, options);
    this.name = "MeshConfigurationError";
  }
}

/**
 * A rank reached a terminating status while its proc was being created.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcCreationError } from "./errors.ts";
 * import { Status } from "../resource/status.ts";
 * const e = new ProcCreationError(
 *   { kind: "State", name: "p", status: Status.failed("x"), state: null, generation: 0, timestamp: 0 },
 *   1,
 *   "tcp:127.0.0.1:1,service,host_agent[0]",
 * );
 * assertEquals(e.hostRank, 1);
 * ```
 */
export class ProcCreationError extends Error {
  /** The failing proc's state, as reported by its host agent. */
  readonly state: State<ProcState>;
  /** The rank of the host it was created on. */
  readonly hostRank: number;
  /** The host agent's ActorId text. */
  readonly meshAgent: string;
  /**
   * Creates a ProcCreationError.
   * @param state The proc's state.
   * @param hostRank Its host's rank.
   * @param meshAgent The host agent.
   */
  constructor(state: State<ProcState>, hostRank: number, meshAgent: string) {
    super(
      `Cannot create proc ${state.name} on host rank ${hostRank}: ${formatStatus(state.status)}`,
    );
    this.name = "ProcCreationError";
    this.state = state;
    this.hostRank = hostRank;
    this.meshAgent = meshAgent;
  }
}

/**
 * Some ranks never reported within `HYPERACTOR_MESH_PROC_SPAWN_MAX_IDLE`;
 * those carry `Timeout`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcSpawnError } from "./errors.ts";
 * import { RankedValues } from "../resource/ranked_values.ts";
 * import { Status } from "../resource/status.ts";
 * const e = new ProcSpawnError(RankedValues.fromRank(0, Status.Running));
 * assertEquals(e.statuses.get(0)?.kind, "Running");
 * ```
 */
export class ProcSpawnError extends Error {
  /** Per-rank statuses. */
  readonly statuses: RankedValues<Status>;
  /**
   * Creates a ProcSpawnError.
   * @param statuses Per-rank statuses (silent ranks are `Timeout`).
   */
  constructor(statuses: RankedValues<Status>) {
    super(`Cannot spawn proc mesh: timed out waiting for procs (${statuses})`);
    this.name = "ProcSpawnError";
    this.statuses = statuses;
  }
}

/**
 * A proc mesh did not stop: some rank is not terminated.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcMeshStopError } from "./errors.ts";
 * import { RankedValues } from "../resource/ranked_values.ts";
 * import { Status } from "../resource/status.ts";
 * assertEquals(new ProcMeshStopError(RankedValues.fromRank(0, Status.Running)).name, "ProcMeshStopError");
 * ```
 */
export class ProcMeshStopError extends Error {
  /** Best-known per-rank statuses. */
  readonly statuses: RankedValues<Status>;
  /**
   * Creates a ProcMeshStopError.
   * @param statuses Per-rank statuses.
   */
  constructor(statuses: RankedValues<Status>) {
    super(`Cannot stop proc mesh: not every rank terminated (${statuses})`);
    this.name = "ProcMeshStopError";
    this.statuses = statuses;
  }
}

/**
 * A host agent answered a state query with no state (unknown proc).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcNotExistError } from "./errors.ts";
 * assertEquals(new ProcNotExistError("p").procName, "p");
 * ```
 */
export class ProcNotExistError extends Error {
  /** The resource name. */
  readonly procName: string;
  /**
   * Creates a ProcNotExistError.
   * @param procName The resource name.
   */
  constructor(procName: string) {
    super(`Cannot get state of proc ${procName}: it does not exist`);
    this.name = "ProcNotExistError";
    this.procName = procName;
  }
}

/** Why one host did not install the pushed config (HM-4: not a stable taxonomy). */
export type ConfigPushFailure =
  | { kind: "SendFailed"; message: string }
  | { kind: "ReplyTimedOut"; timeoutMs: number }
  | { kind: "ReplyChannelClosed" };

function describeFailure(f: ConfigPushFailure): string {
  switch (f.kind) {
    case "SendFailed":
      return `send failed: ${f.message}`;
    case "ReplyTimedOut":
      return `reply timed out after MESH_ATTACH_CONFIG_TIMEOUT (${f.timeoutMs}ms)`;
    case "ReplyChannelClosed":
      return "reply channel closed before reply";
  }
}

/**
 * The attach-time config push failed on some hosts; one entry per host
 * (HM-2, HM-4).
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { ConfigPushError } from "./errors.ts";
 * const e = new ConfigPushError([{ host: "tcp:127.0.0.1:9", failure: { kind: "ReplyChannelClosed" } }]);
 * assertStringIncludes(e.message, "tcp:127.0.0.1:9");
 * ```
 */
export class ConfigPushError extends Error {
  /** One entry per host that did not acknowledge. */
  readonly failures: readonly { host: string; failure: ConfigPushFailure }[];
  /** Why the hosts may not have been able to answer, when there is a likely reason. */
  readonly hint: string | undefined;
  /**
   * Creates a ConfigPushError.
   * @param failures Per-host failures.
   * @param hint A likely reason, appended to the message.
   */
  constructor(
    failures: readonly { host: string; failure: ConfigPushFailure }[],
    hint?: string,
  ) {
    super(
      `Cannot attach host mesh: config push failed on ${failures.length} host(s):` +
        failures.map(({ host, failure }) => `\n  - ${host}: ${describeFailure(failure)}`).join("") +
        (hint === undefined ? "" : `\n${hint}`),
    );
    this.name = "ConfigPushError";
    this.failures = failures;
    this.hint = hint;
  }
}
