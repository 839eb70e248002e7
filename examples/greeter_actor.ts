/**
 * An example actor type, registered by name so that procs in other processes
 * can spawn it. Imported by the worker program (so procs know the type) and by
 * the client (for the name and the handler types). A handler's return value is
 * its reply to `call` / `ask`.
 * @module
 */

import { type Context, registerActorType } from "../mod.ts";

/** The registered type name. */
export const GREETER = "example::Greeter";

/** The greeter: `Greet` replies with a greeting naming the actor. */
export const greeter = {
  handlers: { Greet: (cx: Context, msg: { name: string }) => `hello ${msg.name} from ${cx.self}` },
};

registerActorType(GREETER, () => greeter);
