/**
 * Folder-private: the query side of a host mesh reference — asking host
 * agents for proc states and pushing client config to every host agent.
 *
 * HM-1..HM-4 (config push: every host acked or a {@linkcode ConfigPushError}
 * naming each failed host; requests without undeliverable returns; bounded
 * waits) and HM-6 (an unreachable host fails the push at once) are
 * enforced by {@linkcode pushConfig}.
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import { ChannelAddr } from "../../channel/addr.ts";
import type { ActorRef, PortRef } from "../../actor/port.ts";
import { config, type ConfigSnapshot } from "../../config/config.ts";
import { MESH_ATTACH_CONFIG_TIMEOUT, MESH_GET_PROC_STATE_MAX_IDLE } from "../../config/attrs.ts";
import type { State } from "../resource/protocol.ts";
import { Status } from "../resource/status.ts";
import { ValueMesh } from "../resource/value_mesh.ts";
import type { ProcMesh } from "../proc_mesh.ts";
import type { ProcState } from "../host_agent/protocol.ts";
import type { HostAgent } from "../host_agent/host_agent.ts";
import { ConfigPushError, type ConfigPushFailure, ProcNotExistError } from "./errors.ts";
import { type HostMeshRef, HostRef } from "./host_mesh_ref.ts";
import { HostLostError } from "../supervision/host_lost.ts";
import { RequestError } from "../../actor/request.ts";
import { requestOnHost } from "../call.ts";
import { ChannelProbeError, probeChannel } from "../../channel/probe.ts";
import { isLoopbackHost } from "../../channel/secret.ts";

/**
 * A host agent's port for `type`, with undeliverable returns off.
 * @param agent The host agent.
 * @param type The message type.
 * @returns The port.
 */
// deno-lint-ignore no-explicit-any
export function quietPort(agent: ActorRef<HostAgent>, type: string): PortRef<any> {
  // deno-lint-ignore no-explicit-any
  return (agent.port(type as any) as PortRef<unknown>).withReturnUndeliverable(false);
}

/**
 * Asks `host`'s agent for the state of proc `name` (with a keepalive when
 * `keepaliveUntilMs` is set).
 * @param cx The caller.
 * @param host The host.
 * @param name The proc name.
 * @param timeoutMs Reply bound.
 * @param keepaliveUntilMs Sends `KeepaliveGetState` with this expiry.
 * @returns The state, or `undefined` when no reply came in time.
 * @throws {HostLostError} When `host` is or becomes lost (HW-4).
 */
export async function getState(
  cx: Context,
  host: HostRef,
  name: string,
  timeoutMs: number,
  keepaliveUntilMs?: number,
): Promise<State<ProcState> | undefined> {
  const action = `get the state of proc "${name}"`;
  try {
    return await requestOnHost<State<ProcState>>(cx, host, action, (reply) => {
      const getState = { kind: "GetState" as const, name, reply };
      if (keepaliveUntilMs === undefined) quietPort(host.agent, "GetState").send(cx, getState);
      else {
        quietPort(host.agent, "KeepaliveGetState").send(cx, {
          kind: "KeepaliveGetState",
          expiresAfterMs: keepaliveUntilMs,
          getState,
        });
      }
    }, { timeoutMs }); // HW-4
  } catch (error) {
    if (error instanceof RequestError && error.reason === "timeout") return undefined;
    throw error;
  }
}

/**
 * The state of every proc of `procMesh`, in rank order; ranks whose host
 * agent did not answer within `HYPERACTOR_MESH_GET_PROC_STATE_MAX_IDLE` are
 * padded with `Timeout` (the seed's `proc_states`); ranks of a lost host
 * read `Failed("host … is lost …")` at once (HW-4).
 * @param cx The caller.
 * @param procMesh The procs.
 * @param options `keepaliveUntilMs` sends `KeepaliveGetState`; idle bound.
 * @returns One state per rank.
 * @throws {ProcNotExistError} When a host agent does not know a proc.
 */
export async function procStates(
  cx: Context,
  procMesh: ProcMesh,
  options: { keepaliveUntilMs?: number; maxIdleMs?: number } = {},
): Promise<ValueMesh<State<ProcState>>> {
  const timeoutMs = options.maxIdleMs ?? config.get(MESH_GET_PROC_STATE_MAX_IDLE);
  const states = await Promise.all(
    procMesh.ranks().map(async (r) => {
      const host = new HostRef(r.procId.addr);
      let state: State<ProcState> | undefined;
      let status = Status.timeout(timeoutMs);
      try {
        state = await getState(cx, host, r.procId.name, timeoutMs, options.keepaliveUntilMs);
      } catch (error) {
        if (!(error instanceof HostLostError)) throw error;
        status = Status.failed(`host ${error.host} is lost (${error.reason})`); // HW-4
      }
      if (state === undefined) {
        return {
          kind: "State" as const,
          name: r.procId.name,
          status,
          state: null,
          generation: 0,
          timestamp: Date.now(),
        };
      }
      if (state.state === null) throw new ProcNotExistError(state.name);
      return state;
    }),
  );
  return ValueMesh.fromValues(procMesh.region, states, { keyOf: (s) => JSON.stringify(s) });
}

/**
 * Pushes `attrs` to every host agent as its `ClientOverride` layer and
 * waits for each ack (HM-1..HM-4): requests are sent with
 * `returnUndeliverable` off (HM-3), each wait is bounded by
 * `HYPERACTOR_MESH_ATTACH_CONFIG_TIMEOUT`, and any failure yields a
 * {@linkcode ConfigPushError} naming every failed host (HM-2, HM-4).
 * @param mesh The hosts.
 * @param cx The caller.
 * @param attrs The config snapshot.
 * @throws {ConfigPushError} When any host did not acknowledge.
 */
export async function pushConfig(
  mesh: HostMeshRef,
  cx: Context,
  attrs: ConfigSnapshot,
): Promise<void> {
  const timeoutMs = config.get(MESH_ATTACH_CONFIG_TIMEOUT);
  const results = await Promise.all(mesh.hosts.map(async (host) => {
    // HM-6: a probe beside the push says at once that nothing listens (or
    // something else does) instead of waiting out the push's deadline.
    const unreachable = new AbortController();
    const probe = probeChannel(host.addr, { timeoutMs, signal: unreachable.signal }).then(
      () => undefined,
      (error) => {
        if (!(error instanceof ChannelProbeError)) return undefined;
        unreachable.abort(error);
        return error;
      },
    );
    try {
      await requestOnHost<null>(cx, host, "push config", (done) => {
        quietPort(host.agent, "SetClientConfig").send(cx, { attrs, done }); // HM-3
      }, { timeoutMs, signal: unreachable.signal }); // HW-4
      return undefined;
    } catch (error) {
      if (error instanceof ChannelProbeError) {
        return {
          host,
          failure: { kind: "Unreachable", message: error.message } as ConfigPushFailure,
        };
      }
      if (error instanceof HostLostError) {
        return {
          host,
          failure: { kind: "SendFailed", message: error.message } as ConfigPushFailure,
        };
      }
      if (!(error instanceof RequestError)) {
        return {
          host,
          failure: { kind: "SendFailed", message: String(error) } as ConfigPushFailure,
        };
      }
      const failure: ConfigPushFailure = error.reason === "timeout"
        ? { kind: "ReplyTimedOut", timeoutMs }
        : { kind: "ReplyChannelClosed" };
      return { host, failure };
    } finally {
      // Not cut short: a probe dropped inside its handshake would be logged
      // by the host as a failed authentication. It ends with the push's
      // answer at the latest (one handshake against a request round trip).
      await probe;
    }
  }));
  const failures = results.filter((r) => r !== undefined).map((r) => ({
    host: r.host.toString(),
    failure: r.failure,
  }));
  if (failures.length > 0) {
    throw new ConfigPushError(failures, replyAddressHint(cx, failures)); // HM-2, HM-4
  }
}

function isLocalOnly(addr: ChannelAddr): boolean {
  return addr.transport === "unix" || addr.transport === "local" ||
    isLoopbackHost(addr.host ?? "");
}

/**
 * HM-5: a host on another machine cannot answer a client whose address only
 * this machine can reach; a timed-out push then says where the replies were
 * to go and what to set.
 * @param cx The caller (its proc's address is where replies go).
 * @param failures The push failures.
 * @returns The hint, or `undefined` when none applies.
 */
export function replyAddressHint(
  cx: Context,
  failures: readonly { host: string; failure: ConfigPushFailure }[],
): string | undefined {
  const timedOut = failures.filter((f) => f.failure.kind === "ReplyTimedOut");
  if (timedOut.length === 0) return undefined;
  let clientAddr: ChannelAddr;
  try {
    clientAddr = cx.self.procId.addr;
  } catch {
    return undefined;
  }
  const remote = timedOut.some(({ host }) => {
    try {
      return !isLocalOnly(ChannelAddr.parse(host));
    } catch {
      return false;
    }
  });
  if (!remote || !isLocalOnly(clientAddr)) return undefined;
  return `The hosts were told to reply to ${clientAddr}, which only this machine can reach: ` +
    "set HYPERMESH_CLIENT_ADDR to an address they can dial (e.g. tcp:10.0.0.10:0).";
}
