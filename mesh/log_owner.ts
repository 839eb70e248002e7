/**
 * The owner side of "logs reach the owner": one {@linkcode LogClientActor}
 * per owner proc (`mesh_log_client`, immediate mode), whose `OwnerLog` port
 * id travels in every `ProcSpec.logClient` of a proc mesh spawned while
 * `HYPERACTOR_MESH_ENABLE_LOG_FORWARDING` is on.
 *
 * ```text
 * proc child stdout/stderr ─pipe─▶ StreamForwarder (host process, [rank] prefix)
 *   ─▶ OwnerLogSender (bounded, LO-1) ─OwnerLog from the service proc (OL-5)─▶
 *   LogClientActor `mesh_log_client` in the owner's proc ─▶ stdout / stderr
 *   ─ack─▶ the host's relay (window; drain before the exit status, LO-3/LO-4)
 * ```
 *
 * Each line is printed as `[<hostname> <proc id>] [<rank>] <line>` (the rank
 * prefix only with `HYPERACTOR_PREFIX_WITH_RANK`, OL-8), stdout
 * lines to stdout and stderr lines to stderr. Tests give the client a
 * writer with {@linkcode spawnOwnerLogClient} before spawning meshes.
 *
 * ## Invariants (OL-*)
 * - **OL-7 (one client per owner proc).** Every mesh spawned from contexts
 *   of one proc names the same log client while it runs (a stopped one is
 *   replaced at the next spawn); it lives until that proc stops.
 * - **OL-8 (the owner's prefix setting).** `HYPERACTOR_PREFIX_WITH_RANK` is
 *   read from the proc's client config override first (the spawning
 *   client's propagated value), then the host's config (`_launch_proc.ts`).
 *
 * Retired: LO-5..LO-8 (now OL-5..OL-8: `LO-` is the bootstrap layer's).
 *
 * @module
 */

import type { Context } from "../actor/types.ts";
import type { ActorHandle } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import { LogClientActor, type LogClientOptions } from "../bootstrap/log_client.ts";

/** The owner log client's actor name. */
export const OWNER_LOG_CLIENT_NAME = "mesh_log_client";

const clients = new WeakMap<Proc, ActorHandle<LogClientActor>>();
const spawned = new WeakMap<Proc, number>(); // actor names are never reused (MB-32)

/**
 * Spawns the owner log client of `proc` (OL-7); call it before the first
 * mesh spawn to choose the writer or aggregation.
 * @param proc The owner's proc.
 * @param options Writer, aggregation window (default `null`: each line at once).
 * @returns The client's handle.
 * @throws {Error} When `proc` already has an owner log client.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../actor/proc.ts";
 * import { ownerLogPort, spawnOwnerLogClient } from "./log_owner.ts";
 * await using proc = Proc.local();
 * const lines: string[] = [];
 * const client = spawnOwnerLogClient(proc, { writer: (t, l) => void lines.push(`${t} ${l}`) });
 * using cx = proc.instance("owner");
 * cx.send({ port: ownerLogPort(cx)!, returnUndeliverable: false }, {
 *   hostname: "h", procId: "p", outputTarget: "stderr", payload: ["[0] boom"], seq: 0, ack: null,
 * });
 * client.stop();
 * await client.wait();
 * assertEquals(lines, ["stderr [h p] [0] boom"]);
 * ```
 */
export function spawnOwnerLogClient(
  proc: Proc,
  options: LogClientOptions = {},
): ActorHandle<LogClientActor> {
  const existing = clients.get(proc);
  if (existing !== undefined && !isDone(existing)) {
    throw new Error(`Cannot spawn the owner log client: ${proc.procId} already has one`);
  }
  const n = spawned.get(proc) ?? 0;
  const handle = proc.spawn(
    n === 0 ? OWNER_LOG_CLIENT_NAME : `${OWNER_LOG_CLIENT_NAME}_${n}`,
    new LogClientActor({ aggregateWindowMs: null, ...options }),
  );
  spawned.set(proc, n + 1);
  clients.set(proc, handle);
  return handle;
}

function isDone(handle: ActorHandle<LogClientActor>): boolean {
  const kind = handle.status.get().kind;
  return kind === "Stopped" || kind === "Failed";
}

/**
 * The PortId text of the `OwnerLog` port of `cx`'s proc's owner log client,
 * spawning a default one (console writer, immediate mode) on first use, or
 * a fresh one (`mesh_log_client_<n>`) when the previous one stopped (OL-7).
 * @param cx The owner.
 * @returns The port id text (goes into `ProcSpec.logClient`), or `null`
 * (with a warning) when no client can be spawned (e.g. the proc is stopping).
 */
export function ownerLogPort(cx: Context): string | null {
  const proc = Proc.of(cx);
  let handle = clients.get(proc);
  try {
    if (handle === undefined || isDone(handle)) handle = spawnOwnerLogClient(proc);
  } catch (error) {
    console.warn("hypermesh: no owner log client; proc output stays on the hosts:", error);
    return null;
  }
  return handle.ref.port("OwnerLog").port;
}
