/**
 * Folder-private: memoized {@linkcode handlerPortIndex} (the hash is costly
 * and sits on the send path) and memoized parsing of destination port texts
 * (sliced strings re-hashed and `parseInt` on every delivery dominated the
 * in-process message path).
 * @module
 */

import { actorKeyOf, handlerPortIndex, procKeyOf } from "./reference.ts";

const cache = new Map<string, number>();

/** Lowest index of the handler-port range (bit 52 set). */
export const HANDLER_PORT_BASE = 2 ** 52;

/**
 * @param typeName Message type name.
 * @returns `handlerPortIndex(typeName)`, memoized.
 */
export function handlerIndex(typeName: string): number {
  let index = cache.get(typeName);
  if (index === undefined) {
    index = handlerPortIndex(typeName);
    if (cache.size < 10_000) cache.set(typeName, index);
  }
  return index;
}

/** Message type of undeliverable notifications (same as mailbox_server.ts). */
export const UNDELIVERABLE_TYPE = "Undeliverable";
/** Well-known port index of undeliverable notifications. */
export const UNDELIVERABLE_INDEX: number = handlerIndex(UNDELIVERABLE_TYPE);

/**
 * The port index of a port id text (`…[INDEX]` or `…[INDEX<Type>]`).
 * @param dest Port id text.
 * @returns The index, or NaN when malformed.
 */
export function portIndexOf(dest: string): number {
  const open = dest.lastIndexOf("[");
  return open < 0 ? NaN : parseInt(dest.slice(open + 1), 10);
}

/** The parts of a port id text that routing needs. */
export interface DestParts {
  /** `ADDR,PROC`. */
  readonly procKey: string;
  /** `ADDR,PROC,ACTOR[PID]`. */
  readonly actorKey: string;
  /** The port index (NaN when malformed). */
  readonly index: number;
}

const DEST_CACHE_MAX = 4096;
let dests = new Map<string, DestParts>();
let keys = new Map<string, string>();
let lastDest = "";
let lastParts: DestParts = { procKey: "", actorKey: "", index: NaN };

/**
 * One shared string object per proc/actor key text, so that comparing keys
 * of the same text is a pointer check (a proc interns its own key).
 * @param key A key text.
 * @returns The shared copy.
 */
export function internKey(key: string): string {
  let shared = keys.get(key);
  if (shared === undefined) {
    if (keys.size >= DEST_CACHE_MAX) keys = new Map();
    keys.set(key, key);
    shared = key;
  }
  return shared;
}

/**
 * The parsed parts of a port id text, memoized: the same destination text
 * (an `ActorRef`'s cached handler port, a reply port used many times) is
 * parsed once; a lookup of a fresh string costs one hash, or one comparison
 * when it repeats the previous destination (a stream from the wire). The
 * cache is dropped wholesale when full (one-shot reply ports churn through it).
 * @param dest Port id text.
 * @returns Its proc key, actor key and port index (keys interned).
 */
export function destParts(dest: string): DestParts {
  if (dest === lastDest) return lastParts;
  let parts = dests.get(dest);
  if (parts === undefined) {
    parts = {
      procKey: internKey(procKeyOf(dest)),
      actorKey: internKey(actorKeyOf(dest)),
      index: portIndexOf(dest),
    };
    if (dests.size >= DEST_CACHE_MAX) dests = new Map();
    dests.set(dest, parts);
  }
  lastDest = dest;
  lastParts = parts;
  return parts;
}
