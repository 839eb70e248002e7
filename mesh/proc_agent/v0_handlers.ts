/**
 * Folder-private: the v0 message handlers of the proc agent (`Configure`,
 * `Gspawn`, `Status`, `StopActor`), kept apart from the resource handlers.
 * @module
 */

import type { Context } from "../../actor/types.ts";
import type { Proc } from "../../actor/proc.ts";
import type { StopOptions } from "../../internal/stop_options.ts";
import type { ReconfigurableMailboxSender } from "../../actor/transport/reconfigurable_sender.ts";
import { DialMailboxRouter } from "../../actor/transport/dial_router.ts";
import { MailboxClient } from "../../actor/transport/mailbox_client.ts";
import { spawnByTypeName } from "../../actor/registry.ts";
import {
  type Configure,
  type Gspawn,
  type GspawnResult,
  isConfigure,
  isGspawn,
  isStopActor,
  type StatusQuery,
  type StopActor,
  type StopActorResult,
} from "./protocol.ts";

/** The v0 configuration state of an agent. */
export type V0Mode =
  | { kind: "UnconfiguredV0"; sender: ReconfigurableMailboxSender }
  | {
    kind: "ConfiguredV0";
    sender: ReconfigurableMailboxSender;
    rank: number;
    /** PortId text of the supervisor, if any. */
    supervisor: string | undefined;
  };

/** What the v0 handlers need from the agent. */
export interface V0Host {
  /** The managed proc. */
  readonly proc: Proc;
  /** v0 configuration state (`undefined` for a v1 agent). */
  v0: V0Mode | undefined;
  /** Whether supervision events are recorded rather than forwarded. */
  recordSupervisionEvents: boolean;
  /**
   * Replies on a port given as PortId text, with bounces suppressed.
   * @param cx The agent's context.
   * @param port The reply port's id text.
   * @param msg The reply.
   */
  reply<M>(cx: Context, port: string, msg: M): void;
  /**
   * Stops one actor and reports how.
   * @param actorId The actor's id text.
   * @param options `graceMs` to wait, `reason`, `signal`.
   * @returns Success, Timeout or NotFound.
   */
  stopActor(actorId: string, options?: StopOptions): Promise<StopActorResult>;
}

/** A v0 request the agent cannot serve in its current state (fails the agent, as in the seed). */
export class ProcAgentStateError extends Error {
  /**
   * Creates a ProcAgentStateError.
   * @param action What was attempted.
   * @param state Why it cannot be done.
   */
  constructor(action: string, state: string) {
    super(`Cannot ${action}: ${state}`);
    this.name = "ProcAgentStateError";
  }
}

/**
 * `Configure`: installs a router (address book + forwarder) into the proc's
 * queueing sender, once, then replies with the rank.
 * @param host The agent.
 * @param cx Its context.
 * @param msg The request.
 * @throws {ProcAgentStateError} When not an unconfigured v0 agent.
 */
export function handleConfigure(host: V0Host, cx: Context, msg: Configure): void {
  if (host.v0?.kind !== "UnconfiguredV0") {
    throw new ProcAgentStateError("configure the mesh agent", "it cannot be (re-)configured");
  }
  if (!isConfigure(msg)) throw new TypeError(`Invalid Configure message`);
  host.recordSupervisionEvents = msg.recordSupervisionEvents;
  const forwarder = MailboxClient.dial(msg.forwarder, { quiet: true });
  const router = new DialMailboxRouter({
    defaultSender: forwarder,
    directAddressedRemoteOnly: true,
  });
  for (const [procId, addr] of Object.entries(msg.addressBook)) router.bind(procId, addr);
  const sender = host.v0.sender;
  host.proc.addDisposer(async () => {
    await router.close();
    await forwarder.close();
  });
  if (!sender.configure(router)) {
    throw new ProcAgentStateError("configure the mesh agent", "its sender is already configured");
  }
  host.v0 = {
    kind: "ConfiguredV0",
    sender,
    rank: msg.rank,
    supervisor: msg.supervisor ?? undefined,
  };
  host.reply(cx, msg.configured, msg.rank);
}

/**
 * `Gspawn`: spawns by registered type name and replies `Success{rank,
 * actorId}`; on failure replies `Error("gspawn failed: …")` and then fails
 * the agent, as the seed does.
 * @param host The agent.
 * @param cx Its context.
 * @param msg The request.
 * @throws {ProcAgentStateError} When not configured, or after a failed spawn.
 */
export async function handleGspawn(host: V0Host, cx: Context, msg: Gspawn): Promise<void> {
  if (host.v0?.kind !== "ConfiguredV0") {
    throw new ProcAgentStateError("gspawn", "the mesh agent is not v0 configured");
  }
  if (!isGspawn(msg)) throw new TypeError(`Invalid Gspawn message`);
  const rank = host.v0.rank;
  let result: GspawnResult;
  try {
    const ref = await spawnByTypeName(host.proc, msg.actorType, {
      name: msg.actorName,
      params: msg.params,
    });
    result = { kind: "Success", rank, actorId: ref.actorId.key };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    host.reply<GspawnResult>(cx, msg.statusPort, {
      kind: "Error",
      message: `gspawn failed: ${why}`,
    });
    throw new ProcAgentStateError("gspawn", `spawning ${msg.actorName} failed: ${why}`);
  }
  host.reply(cx, msg.statusPort, result);
}

/**
 * `Status`: replies `[rank, true]` when configured.
 * @param host The agent.
 * @param cx Its context.
 * @param msg The request.
 * @throws {ProcAgentStateError} When not a configured v0 agent (fails the agent, as in the seed).
 */
export function handleStatus(host: V0Host, cx: Context, msg: StatusQuery): void {
  const mode = host.v0;
  if (mode === undefined) {
    throw new ProcAgentStateError("report status", "unsupported in v1/owned path (no rank)");
  }
  if (mode.kind === "UnconfiguredV0") {
    throw new ProcAgentStateError(
      "report status",
      "v0 agent not configured (waiting for Configure)",
    );
  }
  host.reply<[number, boolean]>(cx, msg.status, [mode.rank, true]);
}

/**
 * `StopActor`: stops one actor, waits up to `timeoutMs`, replies
 * `Success`/`Timeout`/`NotFound` (works for v0 and v1 agents).
 * @param host The agent.
 * @param cx Its context.
 * @param msg The request.
 */
export async function handleStopActor(host: V0Host, cx: Context, msg: StopActor): Promise<void> {
  if (!isStopActor(msg)) {
    console.warn(`hypermesh: proc agent ignores malformed StopActor`);
    return;
  }
  const result = await host.stopActor(msg.actorId, { graceMs: msg.timeoutMs, reason: msg.reason });
  host.reply<StopActorResult>(cx, msg.stopped, result);
}
