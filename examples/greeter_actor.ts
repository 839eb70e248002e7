/**
 * An example actor type, registered by name so that procs in other processes
 * can spawn it. Imported by the worker program (so procs know the type) and by
 * the client (for the message types).
 * @module
 */

import { type Context, type PortRefData, registerActorType } from "../mod.ts";

/** The registered type name. */
export const GREETER = "example::Greeter";

/** The `Greet` message: who to greet and where to reply. */
export interface Greet {
  /** Who is greeted. */
  name: string;
  /** Where the greeting goes. */
  reply: PortRefData<string>;
}

registerActorType(GREETER, () => ({
  handlers: {
    Greet: (cx: Context, msg: Greet) => cx.send(msg.reply, `hello ${msg.name} from ${cx.self}`),
  },
}));
