/**
 * Testing support for hosts (the seed's `testing` module): a trivial agent
 * used by the host tests and by child-process fixtures.
 *
 * @module
 */

import type { Context } from "../actor/types.ts";
import type { PortRefData } from "../actor/port.ts";

/**
 * Replies to every `Echo` message (the reply port itself) with its own actor
 * id text.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../actor/proc.ts";
 * import { EchoActor } from "./testing.ts";
 *
 * await using proc = Proc.local();
 * const echo = proc.spawn("echo", new EchoActor());
 * using client = proc.instance("client");
 * const { ref, receiver } = client.openOncePort<string>();
 * echo.ref.send(client, "Echo", ref);
 * assertEquals(await receiver.recv(), echo.actorId.toString());
 * ```
 */
export class EchoActor {
  /** `Echo`: the reply port. */
  readonly handlers = {
    Echo: (cx: Context, reply: PortRefData<string>): void => {
      cx.send(reply, cx.self.toString());
    },
  };
}
