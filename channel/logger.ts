/**
 * Where the net server reports the peers and connections it drops (CH-5):
 * one replaceable, process-wide logger.
 *
 * @module
 */

/** Where bad-peer reasons are reported. */
export type ChannelLogger = (message: string) => void;

let logger: ChannelLogger = (message) => console.warn(`[hypermesh channel] ${message}`);

/**
 * Replaces the reporter of dropped connections (default: `console.warn`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { setChannelLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const previous = setChannelLogger((line) => lines.push(line));
 * setChannelLogger(previous);
 * assertEquals(lines, []);
 * ```
 * @param next The new logger.
 * @returns The previous logger.
 */
export function setChannelLogger(next: ChannelLogger): ChannelLogger {
  const prev = logger;
  logger = next;
  return prev;
}

/** @param message Reported through the current {@linkcode ChannelLogger}. */
export function log(message: string): void {
  logger(message);
}
