/**
 * Mesh admin aggregation: {@linkcode spawnAdmin} spawns a `mesh_admin` actor
 * on the caller's proc that aggregates the hosts of one or more host meshes
 * and answers an introspection tree — root → hosts → procs → actors with
 * statuses — as JSON (`GetTree`). `spawnAdmin` starts no HTTP server;
 * `serveAdmin` (`admin/server.ts`) is `spawnAdmin` plus the HTTP API
 * (`/v1/tree`, `/v1/events`, …) and the web page.
 *
 * Proc nodes carry their process's OS figures (`pid`, `uptimeMs`,
 * `rssBytes`, `cpuTimeMs`, `cpuPercent`; AW-1 in
 * `host_agent/proc_metrics.ts`) and, for an exited process, its
 * `stderrTail`; actor nodes carry their runtime figures (AW-2).
 *
 * ## Invariants (SA-*, MA-*, AW-*)
 * - **SA-1 (a mesh).** At least one mesh is required.
 * - **SA-2 (a host per mesh).** Every mesh has at least one host.
 * - **SA-3 (ordered union).** The host list is the ordered union of the
 *   meshes' host agents, deduplicated by agent id; the first occurrence wins.
 * - **SA-6 (client host last).** The caller's own client host (when given)
 *   is merged after the meshes.
 * - **MA-C1 (client host once).** The client host appears exactly once,
 *   whether or not a mesh also lists it (Monarch's mesh admin `CH-1`).
 * - **MA-R1 (robust).** The admin never fails on a bad host or proc:
 *   unreachable nodes become error nodes.
 * - **AW-2 (actor figures).** Every live actor node of a proc carries its
 *   `type` (the registered actor type when the proc agent created it),
 *   `status`, `messagesProcessed` and `mailboxDepth` (`Proc.actorStats`),
 *   read at the time of the request.
 *
 * @module
 */

import type { Context } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import { ActorRef, type PortRefData } from "../actor/port.ts";
import { request } from "../actor/request.ts";
import type { HostAgent } from "./host_agent/host_agent.ts";
import type { HostInfo } from "./host_agent/protocol.ts";
import type { HostMeshRef } from "./host_mesh/host_mesh_ref.ts";
import type { IntrospectResult } from "./proc_agent/protocol.ts";
import { supersededBy } from "./restart/superseded.ts";
import { formatStatus } from "./resource/status.ts";

/** The admin actor's name. */
export const MESH_ADMIN_ACTOR_NAME = "mesh_admin";

/** A host entry: address text and agent. */
export type HostEntry = [addr: string, agent: ActorRef<HostAgent>];

/**
 * An ordered set of host entries deduplicated by agent id (SA-3).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HostRef } from "./host_mesh/host_mesh_ref.ts";
 * import { HostSet } from "./admin.ts";
 * const set = new HostSet();
 * set.insert("a", HostRef.parse("tcp:127.0.0.1:1").agent);
 * set.insert("dup", HostRef.parse("tcp:127.0.0.1:1").agent);
 * assertEquals(set.entries().map(([a]) => a), ["a"]);
 * ```
 */
export class HostSet {
  readonly #seen = new Set<string>();
  readonly #entries: HostEntry[] = [];

  /**
   * Inserts an entry; a no-op when the agent id is already present (SA-3).
   * @param addr Address text.
   * @param agent The host agent.
   */
  insert(addr: string, agent: ActorRef<HostAgent>): void {
    const key = agent.actorId.key;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#entries.push([addr, agent]);
  }

  /**
   * Inserts every host of `mesh`.
   * @param mesh The mesh.
   */
  extendFromMesh(mesh: HostMeshRef): void {
    for (const [addr, agent] of mesh.hostEntries()) this.insert(addr, agent);
  }

  /**
   * The entries in first-seen order.
   * @returns The entries in first-seen order.
   */
  entries(): HostEntry[] {
    return [...this.#entries];
  }
}

/**
 * The ordered union of the meshes' hosts, then the client host entries
 * (SA-3, SA-6, MA-C1).
 * @param meshes The meshes.
 * @param clientEntries The caller's own host entries, merged last.
 * @returns Deduplicated entries.
 */
export function aggregateHosts(
  meshes: readonly HostMeshRef[],
  clientEntries?: readonly HostEntry[],
): HostEntry[] {
  const set = new HostSet();
  for (const mesh of meshes) set.extendFromMesh(mesh); // SA-3
  for (const [addr, agent] of clientEntries ?? []) set.insert(addr, agent); // SA-6, MA-C1
  return set.entries();
}

/** A node of the admin tree. */
export interface AdminNode {
  /** `root`, `host:<agent id>`, a proc id, or an actor id. */
  identity: string;
  /** `root`, `host`, `proc`, `actor` or `error`. */
  nodeType: "root" | "host" | "proc" | "actor" | "error";
  /** Node properties (addr, status, …). */
  properties: Record<string, unknown>;
  /** Child nodes. */
  children: AdminNode[];
}

/** Options of {@linkcode spawnAdmin}. */
export interface SpawnAdminOptions {
  /** The caller's own client host (merged last; SA-6). */
  clientHost?: HostMeshRef;
  /** Per-query timeout, ms (default 5000). */
  queryTimeoutMs?: number;
}

function ask<T>(cx: Context, send: (reply: string) => void, timeoutMs: number): Promise<T> {
  return request<T>(cx, "Introspect", send, { timeoutMs });
}

function errorNode(identity: string, error: unknown): AdminNode {
  const message = error instanceof Error ? error.message : String(error);
  return { identity, nodeType: "error", properties: { message }, children: [] };
}

/** The `mesh_admin` actor. */
export class MeshAdminAgent {
  readonly #hosts: HostEntry[];
  readonly #rootClient: string;
  readonly #timeoutMs: number;

  /**
   * Creates a MeshAdminAgent.
   * @param hosts Aggregated hosts.
   * @param options `rootClient`: the caller's actor id text; `timeoutMs`:
   * per-query timeout.
   */
  constructor(hosts: HostEntry[], options: { rootClient: string; timeoutMs: number }) {
    this.#hosts = hosts;
    this.#rootClient = options.rootClient;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Handlers: `GetTree{reply}` → {@linkcode AdminNode}; `GetHosts{reply}` → addresses. */
  readonly handlers = {
    GetTree: async (cx: Context, msg: { reply: PortRefData<AdminNode> }): Promise<void> => {
      cx.send(msg.reply, await this.tree(cx));
    },
    GetHosts: (cx: Context, msg: { reply: PortRefData<string[]> }): void | Promise<void> => {
      cx.send(msg.reply, this.#hosts.map(([a]) => a));
    },
  };

  /**
   * Builds the tree (MA-R1: errors become error nodes).
   * @param cx The admin's context.
   * @returns The root node.
   */
  async tree(cx: Context): Promise<AdminNode> {
    const hosts = await Promise.all(
      this.#hosts.map(([addr, agent]) => this.#host(cx, addr, agent)),
    );
    return {
      identity: "root",
      nodeType: "root",
      properties: { numHosts: hosts.length, rootClient: this.#rootClient },
      children: hosts,
    };
  }

  async #host(cx: Context, addr: string, agent: ActorRef<HostAgent>): Promise<AdminNode> {
    const identity = `host:${agent.actorId.key}`;
    let info: HostInfo;
    try {
      info = await ask<HostInfo>(
        cx,
        (reply) => agent.port("Introspect").withReturnUndeliverable(false).send(cx, { reply }),
        this.#timeoutMs,
      );
    } catch (error) {
      const node = errorNode(identity, error);
      node.properties.addr = addr; // which host it was, for a reader that never saw it up
      return node;
    }
    const superseded = supersededBy(info.procs);
    const procs = await Promise.all(info.procs.map(async (p): Promise<AdminNode> => {
      const node: AdminNode = {
        identity: p.procId,
        nodeType: "proc",
        properties: {
          name: p.name,
          createRank: p.createRank,
          status: formatStatus(p.status),
          // RS-6: restart history of the rank, and former incarnations marked.
          ...(p.restarts === undefined ? {} : { restarts: p.restarts }),
          ...(p.lastFailure === undefined ? {} : { lastFailure: p.lastFailure }),
          ...(superseded.has(p.procId) ? { supersededBy: superseded.get(p.procId) } : {}),
          ...(p.metrics ?? {}), // AW-1: pid, uptimeMs, rssBytes, cpuTimeMs, cpuPercent
          ...(p.stderrTail === undefined ? {} : { stderrTail: p.stderrTail }),
        },
        children: [],
      };
      if (p.agent === null || p.status.kind !== "Running") return node;
      try {
        const result = await ask<IntrospectResult>(cx, (reply) => {
          ActorRef.attest(p.agent!).port("Introspect").withReturnUndeliverable(false)
            .send(cx, { child: p.procId, reply });
        }, this.#timeoutMs);
        node.properties = { ...node.properties, ...result.attrs };
        node.children = result.children.map((actor) => ({
          identity: actor,
          nodeType: "actor",
          // AW-2: type, status, messages processed, mailbox depth (live actors).
          properties: { ...(result.actorStats?.[actor] ?? { status: "Stopped" }) },
          children: [],
        }));
      } catch (error) {
        node.children = [errorNode(`${p.procId}:introspect`, error)];
      }
      return node;
    }));
    return {
      identity,
      nodeType: "host",
      properties: { addr, mode: info.mode, state: info.state, numProcs: info.procs.length },
      children: procs,
    };
  }
}

/**
 * Spawns a {@linkcode MeshAdminAgent} on the caller's proc aggregating the
 * hosts of `meshes` (SA-1..SA-3, SA-6).
 * @param meshes One or more host meshes.
 * @param cx The caller (the admin runs on its proc).
 * @param options Client host and query timeout.
 * @returns The admin actor.
 * @throws {Error} SA-1 (no meshes), SA-2 (a mesh without hosts).
 * @throws {import("../actor/proc.ts").DuplicateActorNameError} When the caller's
 * proc already has an admin.
 */
export function spawnAdmin(
  meshes: Iterable<HostMeshRef>,
  cx: Context,
  options: SpawnAdminOptions = {},
): Promise<ActorRef<MeshAdminAgent>> {
  const list = [...meshes];
  if (list.length === 0) {
    return Promise.reject(
      new Error("Cannot spawn mesh admin: at least one mesh is required (SA-1)"),
    );
  }
  const empty = list.findIndex((m) => m.hosts.length === 0);
  if (empty >= 0) {
    return Promise.reject(
      new Error(`Cannot spawn mesh admin: mesh at index ${empty} has no hosts (SA-2)`),
    );
  }
  const hosts = aggregateHosts(list, options.clientHost?.hostEntries());
  const admin = new MeshAdminAgent(hosts, {
    rootClient: cx.self.key,
    timeoutMs: options.queryTimeoutMs ?? 5_000,
  });
  try {
    return Promise.resolve(Proc.of(cx).spawn(MESH_ADMIN_ACTOR_NAME, admin).bind());
  } catch (error) {
    return Promise.reject(error);
  }
}
