/**
 * Test helpers for programs built on hypermesh (the `./testing` entry
 * point): a trivial agent actor, network-fault injection for channels, and
 * the reset of the process-global client. None of these belongs in
 * production code.
 *
 * - {@linkcode EchoActor} — answers every `Echo` message with its own actor
 *   id: the smallest agent a `LocalProcManager` or a host test can spawn.
 * - {@linkcode breakConnections} — closes the real sockets under a sender or
 *   server, as a network fault would; senders reconnect and resend what is
 *   unacknowledged (CH-3).
 * - {@linkcode resetContextForTesting} — shuts the process-global client
 *   (`context()`) down so the next test starts from a fresh one.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr, dial, serve } from "./mod.ts";
 * import { breakConnections } from "./testing.ts";
 *
 * await using server = await serve<string>(ChannelAddr.any("tcp"));
 * await using tx = dial<string>(server.addr);
 * await tx.send("before");
 * assertEquals(breakConnections(tx), 1); // the link drops ...
 * await tx.send("after"); // ... and the sender reconnects
 * assertEquals([await server.recv(), await server.recv()], ["before", "after"]);
 * ```
 * @module
 */

import { _testing } from "./channel/channel.ts";
import type { ChannelServer, ChannelTx } from "./channel/types.ts";

export { EchoActor } from "./host/testing.ts";
export { resetContextForTesting } from "./actor/context.ts";

/**
 * Closes the real sockets under a net sender or server, as a network fault
 * would; senders then reconnect and resend what is unacknowledged. A local
 * (`local:`) link has no socket to break.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dial } from "./mod.ts";
 * import { breakConnections } from "./testing.ts";
 *
 * await using tx = dial<number>("local:987654");
 * assertEquals(breakConnections(tx), 0); // local: nothing to break
 * ```
 * @param target A sender from `dial()` or a server from `serve()`.
 * @returns How many sockets were closed.
 */
export function breakConnections(target: ChannelTx<unknown> | ChannelServer<unknown>): number {
  return _testing.breakConnections(target);
}
