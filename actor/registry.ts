/**
 * The actor type registry: actors register under a stable type name so
 * another process can spawn them by name with plain-data parameters (the
 * proc agent's spawn path; Monarch's `Remote::gspawn`).
 *
 * ## Invariants (MB-*)
 * - **MB-35 (typed unknown).** Spawning an unregistered type rejects with
 *   {@linkcode UnknownActorTypeError} and spawns nothing.
 *
 * @module
 */

import type { Actor } from "./types.ts";
import type { ActorRef } from "./port.ts";
import type { Proc } from "./proc.ts";

/** Builds an actor from its (validated) parameters. */
export type ActorFactory = (params: unknown) => Actor | Promise<Actor>;

/** Options of {@linkcode registerActorType}. */
export interface RegisterOptions {
  /** Checks (and may normalize) the parameters; throw to reject them. */
  validate?: (params: unknown) => unknown;
}

/** Spawning an actor type that is not registered. */
export class UnknownActorTypeError extends Error {
  /** The type name. */
  readonly typeName: string;
  /**
   * Creates a UnknownActorTypeError.
   * @param typeName The unknown type.
   */
  constructor(typeName: string) {
    super(`Cannot spawn actor type "${typeName}": actor type ${typeName} not registered`);
    this.name = "UnknownActorTypeError";
    this.typeName = typeName;
  }
}

/** The parameters were rejected by the type's validator. */
export class ActorParamsError extends Error {
  /** The type name. */
  readonly typeName: string;
  /**
   * Creates a ActorParamsError.
   * @param typeName The type.
   * @param options The validator's error as `cause`.
   */
  constructor(typeName: string, options?: ErrorOptions) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`Cannot spawn actor type "${typeName}": invalid parameters: ${why}`, options);
    this.name = "ActorParamsError";
    this.typeName = typeName;
  }
}

const registry = new Map<string, { factory: ActorFactory; validate?: (p: unknown) => unknown }>();

/**
 * Registers (or replaces) an actor type under `name`.
 * @param name Stable, process-independent type name.
 * @param factory Builds the actor from its parameters.
 * @param options Validation.
 * @throws {TypeError} For an empty name or a non-function factory.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isActorTypeRegistered, registerActorType } from "./registry.ts";
 * registerActorType("doc::Noop", () => ({ handlers: {} }));
 * assert(isActorTypeRegistered("doc::Noop"));
 * ```
 */
export function registerActorType(
  name: string,
  factory: ActorFactory,
  options: RegisterOptions = {},
): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Invalid actor type name: ${JSON.stringify(name)}`);
  }
  if (typeof factory !== "function") throw new TypeError(`Invalid factory for actor type ${name}`);
  registry.set(name, { factory, validate: options.validate });
}

/**
 * Whether it is registered.
 * @param name A type name.
 * @returns Whether it is registered.
 */
export function isActorTypeRegistered(name: string): boolean {
  return registry.has(name);
}

/**
 * Every registered type name, in registration order.
 * @returns Every registered type name, in registration order.
 */
export function registeredActorTypes(): string[] {
  return [...registry.keys()];
}

/**
 * Removes a registration (tests).
 * @param name A type name.
 * @returns Whether it was registered.
 */
export function unregisterActorType(name: string): boolean {
  return registry.delete(name);
}

/** Options of {@linkcode spawnByTypeName}. */
export interface SpawnByTypeNameOptions {
  /** The root actor's name (unique per proc). */
  name: string;
  /** Plain-data parameters, checked by the type's validator. */
  params: unknown;
}

/**
 * Builds an actor of a registered type and spawns it as root `actorName`.
 * @param proc Where to spawn.
 * @param typeName Registered type name.
 * @param options `name`: the root actor's name (unique per proc);
 * `params`: plain-data parameters.
 * @returns A reference to the new actor.
 * @throws {UnknownActorTypeError} MB-35.
 * @throws {ActorParamsError} When the validator rejects `params`.
 * @throws {DuplicateActorNameError} When `name` was used in `proc`.
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { Proc } from "./proc.ts";
 * import { spawnByTypeName, UnknownActorTypeError } from "./registry.ts";
 * await using proc = Proc.local();
 * await assertRejects(() => spawnByTypeName(proc, "nope", { name: "a", params: {} }), UnknownActorTypeError);
 * ```
 */
export async function spawnByTypeName(
  proc: Proc,
  typeName: string,
  options: SpawnByTypeNameOptions,
): Promise<ActorRef> {
  const { name: actorName, params } = options;
  const entry = registry.get(typeName);
  if (entry === undefined) throw new UnknownActorTypeError(typeName); // MB-35
  let checked = params;
  if (entry.validate) {
    try {
      const result = entry.validate(params);
      if (result !== undefined) checked = result;
    } catch (cause) {
      throw new ActorParamsError(typeName, { cause });
    }
  }
  const actor = await entry.factory(checked);
  return proc.spawn(actorName, actor).ref;
}
