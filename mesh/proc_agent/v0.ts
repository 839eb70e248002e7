/**
 * The v0 proc agent (actor name `mesh`): a {@linkcode ProcAgent} on a proc
 * whose forwarder queues until the agent is configured.
 *
 * - `Configure{rank, forwarder, supervisor, addressBook, configured,
 *   recordSupervisionEvents}` — once: builds a `DialMailboxRouter` (address
 *   book bindings; everything else to a `MailboxClient` on `forwarder`),
 *   installs it into the proc's `ReconfigurableMailboxSender` (queued
 *   envelopes flush in order, MB-12) and replies `rank` on `configured`. A
 *   second `Configure` fails the agent (`Cannot configure the mesh agent: it
 *   cannot be (re-)configured`), as in the seed.
 * - `Gspawn{actorType, actorName, params, statusPort}` — replies
 *   `Success{rank, actorId}`; on failure replies `Error("gspawn failed: …")`
 *   and the agent fails (seed behaviour). Before `Configure` it fails the agent.
 * - `Status{status}` — replies `[rank, true]`; unconfigured (or v1) → the
 *   agent fails, as in the seed.
 * - `StopActor{actorId, timeoutMs, reason, stopped}` — `Success`, `Timeout`
 *   or `NotFound`.
 * - Supervision events: forwarded to `supervisor` when given; else recorded
 *   when `recordSupervisionEvents`; else `onUnhandledSupervisionEvent` runs —
 *   by default it logs and exits the process with code 1 (the seed's crash).
 *   Before `Configure` nothing records them, so the same crash applies.
 * - The orphan check is disabled (v0 procs have no owner to check for).
 *
 * ## Invariants (PA-*)
 * - **PA-8 (configure once).** Only the first `Configure` installs a router
 *   and replies; envelopes the proc forwarded before it are delivered after
 *   it, in order.
 * - **PA-9 (gspawn reply).** Every `Gspawn` on a configured agent gets exactly
 *   one `GspawnResult`.
 *
 * @module
 */

import { ReconfigurableMailboxSender } from "../../actor/transport/reconfigurable_sender.ts";
import { Proc } from "../../actor/proc.ts";
import type { ProcOptions } from "../../actor/types.ts";
import type { ProcId } from "../../actor/reference.ts";
import type { ActorHandle } from "../../actor/types.ts";
import { PROC_AGENT_V0_ACTOR_NAME } from "./protocol.ts";
import { ProcAgent, type ProcAgentOptions } from "./proc_agent.ts";

export { ProcAgentStateError } from "./v0_handlers.ts";

/** Options of {@linkcode bootstrapV0}. */
export interface BootstrapV0Options extends Omit<ProcAgentOptions, "v0Sender"> {
  /** Options of the created proc. */
  procOptions?: ProcOptions;
}

/** What {@linkcode bootstrapV0} creates. */
export interface BootstrappedV0 {
  /** The proc (forwarder: a queueing `ReconfigurableMailboxSender`). */
  proc: Proc;
  /** The forwarder, configured by the agent's `Configure`. */
  sender: ReconfigurableMailboxSender;
  /** The agent, named `mesh`. */
  agent: ActorHandle<ProcAgent>;
}

/**
 * Creates a proc with a queueing forwarder and boots a v0 agent on it (the
 * seed's `ProcAgent::bootstrap`). Dispose the proc when done.
 * @param procId The proc's id.
 * @param options Agent callbacks and proc options.
 * @returns Proc, forwarder and agent handle.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../../channel/addr.ts";
 * import { ProcId } from "../../actor/reference.ts";
 * import { bootstrapV0 } from "./v0.ts";
 *
 * const { proc, agent, sender } = bootstrapV0(new ProcId(ChannelAddr.local(0), "v0doc"));
 * await using _p = proc;
 * assertEquals(agent.actorId.name, "mesh");
 * assertEquals(sender.configured, false);
 * ```
 */
export function bootstrapV0(procId: ProcId, options: BootstrapV0Options = {}): BootstrappedV0 {
  const { procOptions, ...agentOptions } = options;
  const sender = new ReconfigurableMailboxSender();
  const proc = new Proc(procId, sender, procOptions);
  const agent = proc.spawn(
    PROC_AGENT_V0_ACTOR_NAME,
    new ProcAgent(proc, { ...agentOptions, v0Sender: sender }),
  );
  return { proc, sender, agent };
}
