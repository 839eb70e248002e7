/**
 * The demo actor type `hypermesh::demo::Greeter`, registered on import. It
 * answers `Greet` with who it is, and `GetConfig` with config values (used to
 * observe the client config that reached a proc).
 *
 * @module
 */

import type { Context } from "../actor/types.ts";
import type { PortRefData } from "../actor/port.ts";
import { registerActorType } from "../actor/registry.ts";
import { ALL_ATTRS, config } from "../config/config.ts";

/** The registered type name. */
export const GREETER_TYPE = "hypermesh::demo::Greeter";

/** A `Greet` reply. */
export interface Greeting {
  /** The actor's id text. */
  actor: string;
  /** The OS process id of its proc. */
  pid: number;
  /** The greeting. */
  text: string;
}

/**
 * The greeter actor. `Greet` and `GetConfig` reply by returning (use
 * `call` / `ask`); `Greet` also answers a `reply` port in the message (casts).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Proc } from "../actor/proc.ts";
 * import { Greeter } from "./demo_actor.ts";
 * await using proc = Proc.local();
 * const g = proc.spawn("g", new Greeter());
 * using cx = proc.instance("c");
 * assertEquals((await g.ref.ask(cx, "Greet", { text: "hi" }, { timeoutMs: 5_000 })).text, "hi from g[0]");
 * ```
 */
export class Greeter {
  /** Handlers. */
  readonly handlers = {
    Greet: (cx: Context, msg: { text: string; reply?: PortRefData<Greeting> }): Greeting => {
      const greeting = {
        actor: cx.self.key,
        pid: Deno.pid,
        text: `${msg.text} from ${cx.self.name}[${cx.self.pid}]`,
      };
      if (msg.reply !== undefined) cx.send(msg.reply, greeting);
      return greeting;
    },
    GetConfig: (_cx: Context, msg: { keys: string[] }): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const key of msg.keys) {
        const attr = ALL_ATTRS.get(key);
        // deno-lint-ignore no-explicit-any
        if (attr !== undefined) out[key] = config.get(attr as any);
      }
      return out;
    },
  };
}

registerActorType(GREETER_TYPE, () => new Greeter());
