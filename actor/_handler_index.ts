/**
 * Folder-private: memoized {@linkcode handlerPortIndex} (the hash is costly
 * and sits on the send path).
 * @module
 */

import { handlerPortIndex } from "./reference.ts";

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
