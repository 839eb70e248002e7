/**
 * Folder-private: the host agent's drain and shutdown workers — terminating
 * user procs (bounded concurrency), waiting until their observers saw them
 * terminal, forgetting them, and releasing the host after `ShutdownHost`.
 *
 * ## Invariants (HA-*)
 * Enforced here, promised by `host_agent.ts`:
 * - **HA-12 (drain keeps the host).** `DrainHost` terminates user procs
 *   only; the host, its service proc and its socket stay usable.
 * - **HA-13 (shutdown acks after children).** `ShutdownHost` replies only
 *   after every child was terminated, then releases the host.
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { isTerminated } from "../resource/status.ts";
import { clampMaxInFlight, type DrainHost, type ShutdownHost } from "./protocol.ts";
import type { HostAgentState } from "./state.ts";
import type { ProcBackend } from "./backend.ts";
import { type ProcRecord, type ProcTable, reply } from "./_procs.ts";
import type { HostAgentMode } from "./host_agent.ts";

/** What the workers act on: the agent's parts. */
export interface Teardown {
  /** How the agent reaches its procs (and releases its host). */
  readonly mode: HostAgentMode;
  /** The agent's backend. */
  readonly backend: ProcBackend;
  /** The agent's lifecycle state. */
  readonly state: HostAgentState;
  /** The agent's proc records. */
  readonly procs: ProcTable;
}

/**
 * Handles `DrainHost`: a host mesh's procs only (by `hostMeshId`), or every
 * user proc (Attached→Draining→Detached); acks when done (HA-12).
 * @param cx The agent.
 * @param msg The request.
 * @param t The agent's parts.
 */
export function drainHost(cx: Context, msg: DrainHost, t: Teardown): void {
  const timeoutMs = msg.timeoutMs;
  const maxInFlight = clampMaxInFlight(msg.maxInFlight);
  if (msg.hostMeshId !== null && msg.hostMeshId !== undefined) {
    const mine = t.procs.records().filter((r) => r.spec?.hostMeshId === msg.hostMeshId);
    terminateRecords(cx, t.backend, mine, timeoutMs, maxInFlight, "host mesh stopped").then(() => {
      for (const rec of mine) t.procs.forget(rec);
      if (t.procs.size === 0 && t.state.beginDrain()) t.state.endDrain();
      reply(cx, msg.ack, null);
    });
    return;
  }
  if (!t.state.beginDrain()) {
    reply(cx, msg.ack, null);
    return;
  }
  const recs = t.procs.records();
  for (const rec of recs) t.procs.checkWaiters(cx, rec);
  t.backend.terminateAll(cx, timeoutMs, maxInFlight, "host drained").catch(() => {})
    .then(async () => {
      await settled(recs);
      for (const rec of recs) t.procs.forget(rec);
      t.state.endDrain();
      reply(cx, msg.ack, null); // HA-12
    });
}

/**
 * Handles `ShutdownHost`: terminates every child, enters `Shutdown`, acks,
 * then releases the host in a microtask (HA-13).
 * @param cx The agent.
 * @param msg The request.
 * @param t The agent's parts.
 */
export async function shutdownHost(cx: Context, msg: ShutdownHost, t: Teardown): Promise<void> {
  const maxInFlight = clampMaxInFlight(msg.maxInFlight);
  if (t.state.kind === "Shutdown") {
    reply(cx, msg.ack, null);
    return;
  }
  const recs = t.procs.records();
  if (recs.length > 0 || t.mode.kind === "Process") {
    await t.backend.terminateAll(cx, msg.timeoutMs, maxInFlight, "host shutdown")
      .catch(() => {});
    await settled(recs);
  }
  t.state.shutdown();
  for (const rec of recs) t.procs.checkWaiters(cx, rec);
  reply(cx, msg.ack, null); // HA-13
  const release = t.mode.onShutdown;
  // Release without awaiting it here: disposing the host destroys this actor,
  // which waits for this handler to return. (No timer: an owner awaiting the
  // same release must not leave one pending behind it.)
  queueMicrotask(() => {
    (async () => {
      if (release) await release();
      else await t.mode.host[Symbol.asyncDispose]();
    })().catch((error) => console.error(`host_agent: release failed: ${error}`));
  });
}

async function terminateRecords(
  cx: Context,
  backend: ProcBackend,
  recs: ProcRecord[],
  timeoutMs: number,
  maxInFlight: number,
  reason: string,
): Promise<void> {
  const queue = [...recs];
  const worker = async () => {
    for (let rec = queue.shift(); rec !== undefined; rec = queue.shift()) {
      rec.exitExpected = true; // SV-11
      if (rec.procId !== undefined && !isTerminated(rec.status)) {
        await backend.terminate(cx, rec.procId, timeoutMs, reason).catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxInFlight, queue.length) }, worker));
  await settled(recs);
}

/** Waits (briefly) until the observers saw every record terminal. */
async function settled(recs: ProcRecord[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (recs.every((r) => r.procId === undefined || isTerminated(r.status))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
