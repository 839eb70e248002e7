/**
 * `HostRef` and `HostMeshRef`: non-owning references to one host and to a
 * ranked mesh of hosts (the seed's `host_mesh.rs`).
 *
 * A host is named by its front-end channel address; its agent is
 * `ADDR,service,host_agent[0]`. A host mesh reference is an id, a
 * {@linkcode Region} and one host per rank, with an optional uniform
 * bootstrap command for spawned procs. Its text form is
 * `ID:HOST1,HOST2,…@REGION`, e.g.
 * `test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1`; slicing keeps
 * the base rank space, so `range("replica", 1)` of that prints
 * `test:local:3,local:4@2+replica=1/2,host=2/1`.
 *
 * ## Invariants (MS-*)
 * - **MS-40 (ref round trip).** `HostMeshRef.parse(r.toString())` has the
 *   same id, region and hosts as `r`, abstract unix addresses (`unix:@x`)
 *   included: parsing tries each `@` from the left.
 * - **MS-41 (cardinality).** A reference always has exactly one host per
 *   rank of its region.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import { ActorRef } from "../../actor/port.ts";
import { ActorId, ProcId } from "../../actor/reference.ts";
import type { Context } from "../../actor/types.ts";
import { config } from "../../config/config.ts";
import { MESH_TERMINATE_CONCURRENCY, MESH_TERMINATE_TIMEOUT } from "../../config/attrs.ts";
import type { BootstrapCommand } from "../../launcher/command.ts";
import { Extent } from "../../ndslice/extent.ts";
import { type RangeSpec, Region } from "../../ndslice/region.ts";
import { SERVICE_PROC_NAME } from "../../host/host.ts";
import type { HostAgent } from "../host_agent/host_agent.ts";
import { clampMaxInFlight, HOST_AGENT_NAME } from "../host_agent/protocol.ts";
import { HostMeshRefParseError } from "./errors.ts";
import { isValidMeshId } from "./id.ts";
import type { ConfigSnapshot } from "../../config/config.ts";
import type { MeshStopOptions, ProcMesh } from "../proc_mesh.ts";
import type { State } from "../resource/protocol.ts";
import type { StatusMesh, ValueMesh } from "../resource/value_mesh.ts";
import type { ProcState } from "../host_agent/protocol.ts";
import { procStates, pushConfig, spawnProcMesh, stopProcMesh } from "./_spawn.ts";
import type { ProcBind, ProcBindInit } from "../../launcher/proc_bind.ts";
import type { Point } from "../../ndslice/extent.ts";
import { OwnerKeepalive } from "../supervision/keepalive.ts";
import { requestOnHost } from "../call.ts";
import type { RestartPolicyInit } from "../restart/policy.ts";
import type { StopOptions } from "../../internal/stop_options.ts";

export { HostMeshRefParseError };

/** Options of `HostMeshRef.spawn`. */
export interface HostSpawnOptions {
  /** One binding per per-host rank (length must equal `perHost.numRanks`). */
  procBind?: readonly (ProcBind | ProcBindInit)[];
  /**
   * Per-proc bootstrap command, called with the proc's point over
   * `hostExtent ⊕ perHost`; takes precedence over the mesh's command.
   */
  perRankBootstrap?: (point: Point) => BootstrapCommand;
  /** Idle bound while procs come up, ms (default `HYPERACTOR_MESH_PROC_SPAWN_MAX_IDLE`). */
  maxIdleMs?: number;
  /** Cancellation. */
  signal?: AbortSignal;
  /**
   * Called with every snapshot of the per-rank statuses while the procs come
   * up (for progress displays).
   */
  onProgress?: (statuses: StatusMesh) => void;
  /**
   * Restart failed ranks in place (RS-*; default: never, as without a
   * policy). Validated before anything is spawned (RS-1); actor meshes
   * spawned on the mesh use it for their actors too unless they set their
   * own.
   */
  restartPolicy?: RestartPolicyInit;
}

/**
 * Options of the host RPCs (`drain`, `shutdown`) and of `HostMesh.shutdown` /
 * `HostMesh.stop`: the shared {@linkcode StopOptions}' `graceMs` (per child,
 * default `HYPERACTOR_MESH_TERMINATE_TIMEOUT`) and `signal` (aborting ends
 * the wait for the host's ack and rejects with its reason), plus the
 * concurrency. The host picks the reason.
 */
export interface HostCallOptions extends Pick<StopOptions, "graceMs" | "signal"> {
  /** Concurrency (default `HYPERACTOR_MESH_TERMINATE_CONCURRENCY`, clamped 1..256). */
  maxInFlight?: number;
}

/** The parts of a {@linkcode HostMeshRef} besides its id. */
export interface HostMeshRefParts {
  /** The region (one rank per host). */
  region: Region;
  /** One host per rank. */
  hosts: readonly HostRef[];
  /** Uniform bootstrap command for spawned procs (else each host's default). */
  bootstrapCommand?: BootstrapCommand;
}

/** Options of {@linkcode HostRef.drain}: {@linkcode HostCallOptions} plus the host mesh. */
export interface HostDrainOptions extends HostCallOptions {
  /** Only procs created for this host mesh (default all). */
  hostMeshId?: string;
}

/**
 * A reference to one host: its front-end address.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostRef } from "./host_mesh_ref.ts";
 * const h = HostRef.parse("tcp:127.0.0.1:2001");
 * assertEquals(h.agent.toString(), "tcp:127.0.0.1:2001,service,host_agent[0]");
 * assertEquals(h.namedProc("w-0").toString(), "tcp:127.0.0.1:2001,w-0");
 * ```
 */
export class HostRef {
  /** The host's front-end address. */
  readonly addr: ChannelAddr;

  /**
   * Creates a HostRef.
   * @param addr The front-end address (or its text).
   * @throws {import("../../channel/addr.ts").ChannelAddrParseError} For bad text.
   */
  constructor(addr: ChannelAddr | string) {
    this.addr = typeof addr === "string" ? ChannelAddr.parse(addr) : addr;
  }

  /**
   * Parses a host's front-end address.
   * @param text A channel address.
   * @returns The host reference.
   * @throws {import("../../channel/addr.ts").ChannelAddrParseError} For bad text.
   */
  static parse(text: string): HostRef {
    return new HostRef(ChannelAddr.parse(text));
  }

  /**
   * The host of a host agent reference (its proc's address).
   * @param agent The agent (reference or ActorId text).
   * @returns The host reference.
   */
  static fromAgent(agent: ActorRef | ActorId | string): HostRef {
    const id = agent instanceof ActorRef
      ? agent.actorId
      : agent instanceof ActorId
      ? agent
      : ActorId.parse(agent);
    return new HostRef(id.procId.addr);
  }

  /** The host's service proc `(addr, "service")`. */
  get serviceProc(): ProcId {
    return new ProcId(this.addr, SERVICE_PROC_NAME);
  }

  /** The host agent `ADDR,service,host_agent[0]`. */
  get agent(): ActorRef<HostAgent> {
    return ActorRef.attest<HostAgent>(this.serviceProc.actor(HOST_AGENT_NAME));
  }

  /**
   * The id of the proc called `name` on this host.
   * @param name A proc name on this host.
   * @returns `(addr, name)`.
   */
  namedProc(name: string): ProcId {
    return new ProcId(this.addr, name);
  }

  /**
   * Terminates every user proc of this host and keeps the host alive
   * (`DrainHost`); resolves on the host's ack.
   * @param cx The calling context.
   * @param options `hostMeshId`: only procs created for this host mesh
   * (default all); grace, concurrency, cancellation.
   * @returns When the host acknowledged.
   * @throws {import("../../actor/request.ts").RequestError} `timeout` when no ack arrives in time.
   * @throws {import("../supervision/host_lost.ts").HostLostError} When the
   * host is or becomes lost (HW-4).
   */
  drain(cx: Context, options: HostDrainOptions = {}): Promise<void> {
    return this.#call(cx, "DrainHost", options, { hostMeshId: options.hostMeshId ?? null });
  }

  /**
   * Terminates every child, then releases the host (`ShutdownHost`);
   * resolves on the host's ack, sent after the children are gone.
   * @param cx The calling context.
   * @param options Grace, concurrency, cancellation.
   * @returns When the host acknowledged.
   * @throws {import("../../actor/request.ts").RequestError} `timeout` when no ack arrives in time.
   * @throws {import("../supervision/host_lost.ts").HostLostError} When the
   * host is or becomes lost (HW-4).
   */
  shutdown(cx: Context, options: HostCallOptions = {}): Promise<void> {
    return this.#call(cx, "ShutdownHost", options, {});
  }

  async #call(
    cx: Context,
    type: "DrainHost" | "ShutdownHost",
    options: HostCallOptions,
    extra: Record<string, unknown>,
  ): Promise<void> {
    const action = type === "DrainHost" ? "drain host" : "shut down host";
    const timeoutMs = options.graceMs ?? config.get(MESH_TERMINATE_TIMEOUT);
    const maxInFlight = clampMaxInFlight(
      options.maxInFlight ?? config.get(MESH_TERMINATE_CONCURRENCY),
    );
    // Termination is bounded by the grace plus a forced kill; allow twice that.
    // HW-4: a host lost meanwhile ends the wait at once.
    await requestOnHost<null>(cx, this, action, (ack) => {
      const msg = { timeoutMs, maxInFlight, ack, ...extra };
      // deno-lint-ignore no-explicit-any
      (this.agent.port(type) as any).withReturnUndeliverable(false).send(cx, msg);
    }, { signal: options.signal, timeoutMs: 2 * timeoutMs + 10_000 });
  }

  /**
   * Value equality.
   * @param other Another host.
   * @returns Whether both name the same address.
   */
  equals(other: HostRef): boolean {
    return this.addr.equals(other.addr);
  }

  /**
   * The address text.
   * @returns The address text.
   */
  toString(): string {
    return this.addr.toString();
  }

  /**
   * The address text.
   * @returns The address text.
   */
  toJSON(): string {
    return this.toString();
  }
}

/**
 * A non-owning reference to a mesh of hosts (MS-41). Use `HostMesh.take`
 * to own the hosts' lifecycle.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostMeshRef } from "./host_mesh_ref.ts";
 * const hosts = HostMeshRef.parse("test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1");
 * assertEquals(
 *   hosts.range("replica", 1).toString(),
 *   "test:local:3,local:4@2+replica=1/2,host=2/1",
 * );
 * ```
 */
export class HostMeshRef {
  /** The mesh id (`label` or `label-<uid58>`). */
  readonly id: string;
  /** The hosts' region. */
  readonly region: Region;
  /** One host per rank, in rank order. */
  readonly hosts: readonly HostRef[];
  /** Uniform bootstrap command for spawned procs (else each host's default). */
  readonly bootstrapCommand: BootstrapCommand | undefined;

  /**
   * Creates a HostMeshRef.
   * @param id The mesh id.
   * @param parts `region`; `hosts`, one per rank; `bootstrapCommand`, the
   * uniform bootstrap command (else each host's default).
   * @throws {TypeError} For an invalid id.
   * @throws {RangeError} When the host count differs from the region's ranks (MS-41).
   */
  constructor(id: string, parts: HostMeshRefParts) {
    const { region, hosts, bootstrapCommand } = parts;
    if (!isValidMeshId(id)) throw new TypeError(`Invalid host mesh id: "${id}"`);
    if (region.numRanks !== hosts.length) { // MS-41
      throw new RangeError(
        `Cannot build host mesh ref: region ${region} has ${region.numRanks} ranks but ${hosts.length} hosts were given`,
      );
    }
    this.id = id;
    this.region = region;
    this.hosts = Object.freeze([...hosts]);
    this.bootstrapCommand = bootstrapCommand;
  }

  /**
   * A `hosts=N` mesh over arbitrary host addresses (extrinsic bootstrap).
   * @param id The mesh id.
   * @param addrs Host front-end addresses.
   * @returns The reference.
   * @throws {TypeError} For an invalid id.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HostMeshRef } from "./host_mesh_ref.ts";
   * assertEquals(HostMeshRef.fromHosts("m", ["tcp:127.0.0.1:1"]).toString(), "m:tcp:127.0.0.1:1@hosts=1/1");
   * ```
   */
  static fromHosts(id: string, addrs: readonly (ChannelAddr | string)[]): HostMeshRef {
    return new HostMeshRef(id, {
      region: Region.fromExtent(new Extent(["hosts"], [addrs.length])),
      hosts: addrs.map((a) => new HostRef(a)),
    });
  }

  /**
   * A `hosts=N` mesh over host agents.
   * @param id The mesh id.
   * @param agents Host agent references or ActorId texts.
   * @returns The reference.
   * @throws {TypeError} For an invalid id.
   * @throws {import("../../actor/reference.ts").ReferenceParseError} For bad agent text.
   */
  static fromHostAgents(id: string, agents: readonly (ActorRef | string)[]): HostMeshRef {
    return new HostMeshRef(id, {
      region: Region.fromExtent(new Extent(["hosts"], [agents.length])),
      hosts: agents.map((a) => HostRef.fromAgent(a)),
    });
  }

  /**
   * Parses `ID:HOST,HOST@REGION` (id split at the first `:`, hosts from the
   * region at the first `@`).
   * @param text The text.
   * @returns The reference.
   * @throws {HostMeshRefParseError} For malformed text.
   * @example
   * ```ts
   * import { assertThrows } from "@std/assert";
   * import { HostMeshRef, HostMeshRefParseError } from "./host_mesh_ref.ts";
   * assertThrows(() => HostMeshRef.parse("no-region:local:1"), HostMeshRefParseError);
   * ```
   */
  static parse(text: string): HostMeshRef {
    const colon = text.indexOf(":");
    if (colon < 0) throw new HostMeshRefParseError("MissingId", text, "missing id");
    const id = text.slice(0, colon);
    if (!isValidMeshId(id)) {
      throw new HostMeshRefParseError("InvalidId", text, `invalid id "${id}"`);
    }
    const rest = text.slice(colon + 1);
    if (rest.indexOf("@") < 0) {
      throw new HostMeshRefParseError("MissingRegion", text, "missing region");
    }
    // The seed splits at the first `@`; we try each `@` from the left so that
    // abstract unix addresses (`unix:@name`) round-trip too (MS-40).
    let firstError: HostMeshRefParseError | undefined;
    for (let at = rest.indexOf("@"); at >= 0; at = rest.indexOf("@", at + 1)) {
      try {
        return parseSplit(text, id, rest.slice(0, at), rest.slice(at + 1));
      } catch (error) {
        if (!(error instanceof HostMeshRefParseError)) throw error;
        firstError ??= error;
      }
    }
    throw firstError!;
  }

  /**
   * The same mesh, spawning procs with `cmd`.
   * @param cmd The bootstrap command for procs spawned on this mesh.
   * @returns A copy using `cmd`.
   */
  withBootstrap(cmd: BootstrapCommand): HostMeshRef {
    return new HostMeshRef(this.id, {
      region: this.region,
      hosts: this.hosts,
      bootstrapCommand: cmd,
    });
  }

  /** The region's extent. */
  get extent(): Extent {
    return this.region.extent();
  }

  /** Number of hosts. */
  get numRanks(): number {
    return this.hosts.length;
  }

  /**
   * The sub-mesh over `region` (a subset of this mesh's region).
   * @param region The target region.
   * @returns The sliced reference (same id and bootstrap command).
   * @throws {RangeError} When `region` is not a subset.
   */
  sliced(region: Region): HostMeshRef {
    const indices = this.region.remap(region);
    if (indices === undefined) {
      throw new RangeError(`Cannot slice host mesh ${this.region} to ${region}: not a subset`);
    }
    return new HostMeshRef(this.id, {
      region,
      hosts: indices.map((i) => this.hosts[i]),
      bootstrapCommand: this.bootstrapCommand,
    });
  }

  /**
   * Selects `range` of dimension `label`.
   * @param label A dimension of the region.
   * @param range An index or `{start, end?, step?}`.
   * @returns The sliced reference.
   * @throws {import("../../ndslice/region.ts").RegionError} For an unknown label or empty range.
   */
  range(label: string, range: RangeSpec): HostMeshRef {
    return this.sliced(this.region.range(label, range));
  }

  /**
   * Spawns a proc mesh with `perHost` procs on every host (reference §12.2):
   * per host `h` and per-host rank `p`, create rank `perHost.numRanks·h + p`,
   * proc name `<name>-<p>-<uid58>`, a `CreateOrUpdate<ProcSpec>` carrying the
   * client's propagatable config, then a `GetRankStatus`; the call fences
   * until every rank reported.
   * @param cx The caller.
   * @param name The proc mesh name (stripped to a label).
   * @param perHost Per-host extent; its labels must not overlap the hosts'.
   * @param options Binding, per-rank bootstrap, idle bound, progress.
   * @returns The proc mesh, over region `hostExtent ⊕ perHost`.
   * @throws {import("./errors.ts").MeshConfigurationError} Overlapping
   * labels, a proc-bind length mismatch, or a failing per-rank bootstrap.
   * @throws {import("./errors.ts").ProcCreationError} When a rank is
   * terminating; carries that proc's state.
   * @throws {import("./errors.ts").ProcSpawnError} When ranks stayed
   * silent past the idle bound (those ranks are `Timeout`).
   */
  spawn(
    cx: Context,
    name: string,
    perHost: Extent,
    options: HostSpawnOptions = {},
  ): Promise<ProcMesh> {
    return spawnProcMesh(this, cx, name, perHost, options).then((mesh) => {
      OwnerKeepalive.start(cx, mesh); // OW-1: the owner renews its procs' leases
      return mesh;
    });
  }

  /**
   * Stops every proc of `procMesh` (per proc `Stop` + `WaitRankStatus(Stopped)`).
   * @param cx The caller.
   * @param procMesh A proc mesh spawned on these hosts.
   * @param options `reason` (default `"stopped"`), idle bound (default
   * `HYPERACTOR_MESH_PROC_STOP_MAX_IDLE`), `signal`.
   * @returns Final statuses, all terminated.
   * @throws {import("./errors.ts").ProcMeshStopError} Otherwise.
   */
  stopProcMesh(
    cx: Context,
    procMesh: ProcMesh,
    options: MeshStopOptions = {},
  ): Promise<StatusMesh> {
    OwnerKeepalive.stopFor(procMesh); // OW-2
    return stopProcMesh(cx, procMesh, options);
  }

  /**
   * The host agents' states of every proc of `procMesh`, in rank order;
   * silent agents are padded with `Timeout`.
   * @param cx The caller.
   * @param procMesh A proc mesh spawned on these hosts.
   * @param options `keepaliveUntilMs` (epoch ms) extends each proc's expiry.
   * @returns One state per rank.
   * @throws {import("./errors.ts").ProcNotExistError} For an unknown proc.
   */
  procStates(
    cx: Context,
    procMesh: ProcMesh,
    options: { keepaliveUntilMs?: number; maxIdleMs?: number } = {},
  ): Promise<ValueMesh<State<ProcState>>> {
    return procStates(cx, procMesh, options);
  }

  /**
   * Installs `attrs` as every host's `ClientOverride` layer (HM-1..HM-4).
   * @param cx The caller.
   * @param attrs The snapshot (default: this process's propagatable config).
   * @returns When every host acknowledged.
   * @throws {import("./errors.ts").ConfigPushError} Naming each failed host.
   */
  pushConfig(cx: Context, attrs: ConfigSnapshot = config.propagatableSnapshot()): Promise<void> {
    return pushConfig(this, cx, attrs);
  }

  /**
   * `(address text, agent)` per host, for admin aggregation.
   * @returns The entries in rank order.
   */
  hostEntries(): [string, ActorRef<HostAgent>][] {
    return this.hosts.map((h) => [h.toString(), h.agent]);
  }

  /**
   * Value equality.
   * @param other Another reference.
   * @returns Whether id, region and hosts are equal.
   */
  equals(other: HostMeshRef): boolean {
    return this.id === other.id && this.region.equals(other.region) &&
      this.hosts.length === other.hosts.length &&
      this.hosts.every((h, i) => h.equals(other.hosts[i]));
  }

  /**
   * `ID:HOST,HOST@REGION` (MS-40).
   * @returns `ID:HOST,HOST@REGION` (MS-40).
   */
  toString(): string {
    return `${this.id}:${this.hosts.join(",")}@${this.region}`;
  }

  /**
   * The text form.
   * @returns The text form.
   */
  toJSON(): string {
    return this.toString();
  }
}

function parseSplit(text: string, id: string, hostsText: string, regionText: string): HostMeshRef {
  let hosts: HostRef[];
  try {
    hosts = hostsText.split(",").map((h) => HostRef.parse(h.trim()));
  } catch (cause) {
    throw new HostMeshRefParseError("InvalidHost", text, String(cause), { cause });
  }
  let region: Region;
  try {
    region = Region.parse(regionText);
  } catch (cause) {
    throw new HostMeshRefParseError("InvalidRegion", text, String(cause), { cause });
  }
  try {
    return new HostMeshRef(id, { region, hosts });
  } catch (cause) {
    throw new HostMeshRefParseError("InvalidCardinality", text, String(cause), { cause });
  }
}
