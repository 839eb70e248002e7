/**
 * Identifiers of procs, actors and ports, with canonical text forms.
 *
 * Vocabulary (the March-2026 Monarch form, see the README): a proc is named by
 * the channel address it is reachable at plus a name, `ADDR,PROC`; an actor by
 * `ADDR,PROC,ACTOR[PID]`; a port by `ADDR,PROC,ACTOR[PID][PORT]`, where a
 * handler port may show its message type, `[PORT<Type>]`. Every id is a value
 * whose `key` (its canonical text) is cheap to compare and use as a map key.
 *
 * ## Invariants (ID-*)
 * - **ID-1 (round trip).** `XId.parse(id.toString())` equals `id` for every id.
 * - **ID-2 (strict parse).** Anything else is rejected with a
 *   {@linkcode ReferenceParseError} naming the input; nothing is guessed.
 * - **ID-3 (prefix).** A proc's key followed by `,` prefixes the key of every
 *   actor and port in that proc; an actor's key prefixes its ports' keys.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";

const NAME = /^[A-Za-z0-9_-]+(?:::[A-Za-z0-9_-]+)*$/;

/** Text that is not a valid proc, actor or port id. */
export class ReferenceParseError extends Error {
  /** The rejected input. */
  readonly input: string;
  /**
   * Creates a ReferenceParseError.
   * @param input The rejected text.
   * @param why What is wrong with it.
   * @param options Cause.
   */
  constructor(input: string, why: string, options?: ErrorOptions) {
    super(`Cannot parse reference "${input}": ${why}`, options);
    this.name = "ReferenceParseError";
    this.input = input;
  }
}

/**
 * Checks a name element: letters, digits, `_`, `-`, and `::` separators.
 * @param name The candidate.
 * @returns Whether it is a valid name.
 */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

function checkName(name: string, what: string): void {
  if (!isValidName(name)) throw new TypeError(`Invalid ${what} name: "${name}"`);
}

/**
 * A proc: a channel address and a name (`ADDR,NAME`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProcId } from "./reference.ts";
 * const p = ProcId.parse("tcp:[::1]:4000,service");
 * assertEquals(p.name, "service");
 * assertEquals(p.addr.toString(), "tcp:[::1]:4000");
 * assertEquals(p.actor("host_agent").toString(), "tcp:[::1]:4000,service,host_agent[0]");
 * ```
 */
export class ProcId {
  /** Where the proc is reachable. */
  readonly addr: ChannelAddr;
  /** The proc's name. */
  readonly name: string;
  /** Canonical text. */
  readonly key: string;

  /**
   * Creates a ProcId.
   * @param addr The proc's address.
   * @param name Its name.
   * @throws {TypeError} For an invalid name.
   */
  constructor(addr: ChannelAddr, name: string) {
    checkName(name, "proc");
    this.addr = addr;
    this.name = name;
    this.key = `${addr.toString()},${name}`;
  }

  /**
   * Parses `ADDR,NAME`.
   * @param text The text.
   * @returns The proc id.
   * @throws {ReferenceParseError} ID-2.
   */
  static parse(text: string): ProcId {
    const ref = parseReference(text);
    if (!(ref instanceof ProcId)) throw new ReferenceParseError(text, "not a proc id");
    return ref;
  }

  /**
   * The root actor `name[pid]` in this proc.
   * @param name Actor name.
   * @param pid Actor pid (0 for root actors).
   * @returns The actor id.
   */
  actor(name: string, pid = 0): ActorId {
    return new ActorId(this, name, pid);
  }

  /**
   * The canonical text.
   * @returns The canonical text.
   */
  toString(): string {
    return this.key;
  }

  /**
   * The canonical text (JSON form).
   * @returns The canonical text (JSON form).
   */
  toJSON(): string {
    return this.key;
  }

  /**
   * Value equality.
   * @param other Another id.
   * @returns Whether both name the same proc.
   */
  equals(other: ProcId): boolean {
    return this.key === other.key;
  }
}

/**
 * An actor: a proc, a name and a pid (`ADDR,PROC,NAME[PID]`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ActorId } from "./reference.ts";
 * const a = ActorId.parse("unix:@abc,p,worker[2]");
 * assertEquals([a.name, a.pid, a.procId.name], ["worker", 2, "p"]);
 * assertEquals(a.port(1024).toString(), "unix:@abc,p,worker[2][1024]");
 * ```
 */
export class ActorId {
  /** The proc the actor lives in. */
  readonly procId: ProcId;
  /** Actor name. */
  readonly name: string;
  /** Actor pid within its name (0 for roots). */
  readonly pid: number;
  /** Canonical text. */
  readonly key: string;

  /**
   * Creates an ActorId.
   * @param procId The proc.
   * @param name Actor name.
   * @param pid Non-negative integer.
   * @throws {TypeError} For an invalid name or pid.
   */
  constructor(procId: ProcId, name: string, pid = 0) {
    checkName(name, "actor");
    if (!Number.isSafeInteger(pid) || pid < 0) throw new TypeError(`Invalid actor pid: ${pid}`);
    this.procId = procId;
    this.name = name;
    this.pid = pid;
    this.key = `${procId.key},${name}[${pid}]`;
  }

  /**
   * Parses `ADDR,PROC,NAME[PID]` (a missing `[PID]` means 0).
   * @param text The text.
   * @returns The actor id.
   * @throws {ReferenceParseError} ID-2.
   */
  static parse(text: string): ActorId {
    const ref = parseReference(text);
    if (!(ref instanceof ActorId)) throw new ReferenceParseError(text, "not an actor id");
    return ref;
  }

  /**
   * A port of this actor.
   * @param index Port index.
   * @param typeName Message type shown for handler ports.
   * @returns The port id.
   */
  port(index: number, typeName?: string): PortId {
    return new PortId(this, index, typeName);
  }

  /**
   * The canonical text.
   * @returns The canonical text.
   */
  toString(): string {
    return this.key;
  }

  /**
   * The canonical text (JSON form).
   * @returns The canonical text (JSON form).
   */
  toJSON(): string {
    return this.key;
  }

  /**
   * Value equality.
   * @param other Another id.
   * @returns Whether both name the same actor.
   */
  equals(other: ActorId): boolean {
    return this.key === other.key;
  }
}

/**
 * A port of an actor (`ADDR,PROC,NAME[PID][PORT]` or `…[PORT<Type>]`).
 * Equality ignores the type annotation.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PortId } from "./reference.ts";
 * const p = PortId.parse("local:3,p,a[0][7<Ping>]");
 * assertEquals([p.index, p.typeName], [7, "Ping"]);
 * assertEquals(p.toString(), "local:3,p,a[0][7<Ping>]");
 * ```
 */
export class PortId {
  /** The owning actor. */
  readonly actorId: ActorId;
  /** Port index. */
  readonly index: number;
  /** Message type name of a handler port. */
  readonly typeName?: string;
  /** Canonical text without the type annotation (the identity). */
  readonly key: string;

  /**
   * Creates a PortId.
   * @param actorId Owner.
   * @param index Non-negative safe integer.
   * @param typeName Optional message type shown in the text form.
   * @throws {TypeError} For an invalid index or type name.
   */
  constructor(actorId: ActorId, index: number, typeName?: string) {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new TypeError(`Invalid port index: ${index}`);
    }
    if (typeName !== undefined) checkName(typeName, "port type");
    this.actorId = actorId;
    this.index = index;
    this.typeName = typeName;
    this.key = `${actorId.key}[${index}]`;
  }

  /**
   * Parses a port id.
   * @param text The text.
   * @returns The port id.
   * @throws {ReferenceParseError} ID-2.
   */
  static parse(text: string): PortId {
    const ref = parseReference(text);
    if (!(ref instanceof PortId)) throw new ReferenceParseError(text, "not a port id");
    return ref;
  }

  /**
   * The text form, with the type annotation when known.
   * @returns The text form, with the type annotation when known.
   */
  toString(): string {
    return this.typeName === undefined
      ? this.key
      : `${this.actorId.key}[${this.index}<${this.typeName}>]`;
  }

  /**
   * The text form (JSON form).
   * @returns The text form (JSON form).
   */
  toJSON(): string {
    return this.toString();
  }

  /**
   * Value equality.
   * @param other Another id.
   * @returns Whether both name the same port.
   */
  equals(other: PortId): boolean {
    return this.key === other.key;
  }
}

/** Any of the three id kinds. */
export type Reference = ProcId | ActorId | PortId;

const ACTOR_PART =
  /^([A-Za-z0-9_-]+(?:::[A-Za-z0-9_-]+)*)(?:\[(\d+)\](?:\[(\d+)(?:<([A-Za-z0-9_-]+(?:::[A-Za-z0-9_-]+)*)>)?\])?)?$/;

/**
 * Parses any reference: `ADDR,PROC`, `ADDR,PROC,ACTOR`, `ADDR,PROC,ACTOR[PID]`,
 * `ADDR,PROC,ACTOR[PID][PORT]` or `…[PORT<Type>]`.
 *
 * @param text The text.
 * @returns A {@linkcode ProcId}, {@linkcode ActorId} or {@linkcode PortId}.
 * @throws {ReferenceParseError} ID-2.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ActorId, parseReference } from "./reference.ts";
 * assert(parseReference("local:1,p,a") instanceof ActorId);
 * ```
 */
export function parseReference(text: string): Reference {
  const parts = text.split(",");
  if (parts.length < 2 || parts.length > 3) {
    throw new ReferenceParseError(text, "expected ADDR,PROC[,ACTOR[PID][PORT]]");
  }
  let addr: ChannelAddr;
  try {
    addr = ChannelAddr.parse(parts[0]);
  } catch (cause) {
    throw new ReferenceParseError(text, "invalid channel address", { cause });
  }
  if (!isValidName(parts[1])) throw new ReferenceParseError(text, "invalid proc name");
  const procId = new ProcId(addr, parts[1]);
  if (parts.length === 2) return procId;
  const m = ACTOR_PART.exec(parts[2]);
  if (!m) throw new ReferenceParseError(text, "invalid actor part");
  const pid = m[2] === undefined ? 0 : Number(m[2]);
  if (!Number.isSafeInteger(pid)) throw new ReferenceParseError(text, "pid out of range");
  const actorId = new ActorId(procId, m[1], pid);
  if (m[3] === undefined) return actorId;
  const index = Number(m[3]);
  if (!Number.isSafeInteger(index)) throw new ReferenceParseError(text, "port out of range");
  return new PortId(actorId, index, m[4]);
}

/**
 * The proc key (`ADDR,PROC`) of an actor or port key, by string slicing (ID-3).
 * @param key Canonical text of an actor or port id.
 * @returns The proc's key.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { procKeyOf } from "./reference.ts";
 * assertEquals(procKeyOf("unix:@x,p,a[0][5]"), "unix:@x,p");
 * ```
 */
export function procKeyOf(key: string): string {
  const first = key.indexOf(",");
  const second = key.indexOf(",", first + 1);
  return second < 0 ? key : key.slice(0, second);
}

/**
 * The actor key (`ADDR,PROC,ACTOR[PID]`) of a port key, by string slicing (ID-3).
 * @param key Canonical text of a port id (with or without type annotation).
 * @returns The actor's key.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { actorKeyOf } from "./reference.ts";
 * assertEquals(actorKeyOf("unix:@x,p,a[0][5<T>]"), "unix:@x,p,a[0]");
 * ```
 */
export function actorKeyOf(key: string): string {
  const close = key.indexOf("]", key.lastIndexOf(",") + 1);
  return close < 0 ? key : key.slice(0, close + 1);
}

/**
 * The well-known port index for messages of `typeName` (a stable 52-bit hash in the
 * range 2^52 .. 2^53-1, so it never collides with dynamically opened ports).
 * @param typeName Registered message type name.
 * @returns The port index.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { handlerPortIndex } from "./reference.ts";
 * assert(handlerPortIndex("Ping") >= 2 ** 52);
 * ```
 */
export function handlerPortIndex(typeName: string): number {
  let h = 0xcbf29ce484222325n; // FNV-1a 64
  for (const byte of new TextEncoder().encode(typeName)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return 2 ** 52 + Number(h & 0xfffffffffffffn);
}
