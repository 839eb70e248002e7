/**
 * Installing a proc's agent actor: the spawn-function type shared by the
 * local manager and the child-side boot helpers.
 * @module
 */

import type { Actor } from "../actor/types.ts";
import type { ActorHandle } from "../actor/types.ts";
import { ActorRef } from "../actor/port.ts";
import type { Proc } from "../actor/proc.ts";

/**
 * Boots the agent actor of a freshly created proc (typically
 * `(proc) => proc.spawn("agent", new MyAgent())`) and returns its handle or
 * reference, synchronously or not.
 *
 * @typeParam A The agent actor type.
 */
export type AgentSpawner<A extends Actor = Actor> = (
  proc: Proc,
) => ActorHandle<A> | ActorRef<A> | Promise<ActorHandle<A> | ActorRef<A>>;

/**
 * Runs `spawn` and normalizes its result to an {@linkcode ActorRef}.
 * @param spawn The spawn function.
 * @param proc The proc.
 * @returns The agent's reference.
 * @throws Whatever `spawn` throws, or a TypeError for a bad result.
 */
export async function spawnAgent<A extends Actor>(
  spawn: AgentSpawner<A>,
  proc: Proc,
): Promise<ActorRef<A>> {
  const result = await spawn(proc);
  if (result instanceof ActorRef) return result;
  if (result !== null && typeof result === "object" && typeof result.bind === "function") {
    return result.bind();
  }
  throw new TypeError(`Invalid agent spawn result: ${String(result)}`);
}
