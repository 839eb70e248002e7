/**
 * Folder-private test helpers for the agent tests: test actor types, procs
 * on in-memory `local:` channels, and small waits.
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import type { Context } from "../../actor/types.ts";
import type { PortRefData } from "../../actor/port.ts";
import { Proc } from "../../actor/proc.ts";
import { registerActorType } from "../../actor/registry.ts";
import { type ActorStatus, isTerminal } from "../../actor/status.ts";
import type { StatusOverlayJSON } from "../resource/overlay.ts";
import type { State } from "../resource/protocol.ts";
import type { ActorState, IntrospectResult } from "./protocol.ts";
import type { ActorRef } from "../../actor/port.ts";
import type { ProcAgent } from "./proc_agent.ts";

/** Test actor type: `Echo(reply)` replies its id; `Boom` throws; `Hang` never returns. */
export const ECHO_TYPE = "pa_test::Echo";
/** Test actor type whose init throws. */
export const BAD_INIT_TYPE = "pa_test::BadInit";

/** The test actor built by {@linkcode ECHO_TYPE}. */
export class TestEcho {
  /** Handlers. */
  readonly handlers = {
    Echo: (cx: Context, reply: PortRefData<string>): void => cx.send(reply, cx.self.key),
    Boom: (_cx: Context, _msg: null): void => {
      throw new Error("boom");
    },
    Hang: (_cx: Context, _msg: null): Promise<void> => new Promise<void>(() => {}),
  };
}

registerActorType(ECHO_TYPE, () => new TestEcho());
registerActorType(BAD_INIT_TYPE, () => ({
  handlers: {},
  init() {
    throw new Error("bad init");
  },
}));

/**
 * A proc serving a fresh `local:` address (dispose it).
 * @param name Proc name.
 * @returns The proc.
 */
export function localProc(name: string): Promise<Proc> {
  return Proc.direct(ChannelAddr.any("local"), name);
}

/**
 * Waits for a terminal status of a live actor (or returns its retained one).
 * @param proc The proc.
 * @param actorId Actor id text.
 * @returns The terminal status.
 */
export async function terminalStatus(proc: Proc, actorId: string): Promise<ActorStatus> {
  const cell = proc.actorStatus(actorId);
  if (cell === undefined) {
    const snapshot = proc.terminatedSnapshot(actorId);
    if (snapshot === undefined) throw new Error(`no actor ${actorId}`);
    return snapshot.status;
  }
  let last = cell.get();
  for await (const status of cell.watch()) {
    last = status;
    if (isTerminal(status)) break;
  }
  return last;
}

/**
 * `GetRankStatus` round trip.
 * @param cx Caller.
 * @param agent Agent.
 * @param name Resource name.
 * @returns The overlay.
 */
export async function rankStatus(
  cx: Context,
  agent: ActorRef<ProcAgent>,
  name: string,
): Promise<StatusOverlayJSON> {
  const { ref, receiver } = cx.openOncePort<StatusOverlayJSON>();
  agent.send(cx, "GetRankStatus", { kind: "GetRankStatus", name, reply: ref.port });
  return await receiver.recv({ timeoutMs: 5_000 });
}

/**
 * `GetState` round trip.
 * @param cx Caller.
 * @param agent Agent.
 * @param name Resource name.
 * @returns The state.
 */
export async function getState(
  cx: Context,
  agent: ActorRef<ProcAgent>,
  name: string,
): Promise<State<ActorState>> {
  const { ref, receiver } = cx.openOncePort<State<ActorState>>();
  agent.send(cx, "GetState", { kind: "GetState", name, reply: ref.port });
  return await receiver.recv({ timeoutMs: 5_000 });
}

/**
 * `Introspect` round trip.
 * @param cx Caller.
 * @param agent Agent.
 * @param child Reference text.
 * @returns The result.
 */
export async function query(
  cx: Context,
  agent: ActorRef<ProcAgent>,
  child: string,
): Promise<IntrospectResult> {
  const { ref, receiver } = cx.openOncePort<IntrospectResult>();
  agent.send(cx, "Introspect", { child, reply: ref.port });
  return await receiver.recv({ timeoutMs: 5_000 });
}

/**
 * `CreateOrUpdate<ActorSpec>` (no reply).
 * @param cx Caller.
 * @param agent Agent.
 * @param name Resource name.
 * @param rank Create rank.
 * @param actorType Type name.
 */
export function create(
  cx: Context,
  agent: ActorRef<ProcAgent>,
  name: string,
  rank: number,
  actorType: string = ECHO_TYPE,
): void {
  agent.send(cx, "CreateOrUpdate", {
    kind: "CreateOrUpdate",
    name,
    rank,
    spec: { actorType, params: null },
  });
}
