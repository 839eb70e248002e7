/**
 * Test helper (not published): a log-client writer that records every line
 * and lets a test wait for a number of them.
 * @module
 */

import type { OutputTarget } from "./stream_forwarder.ts";

/** Records `target|line` for each written line; `atLeast(n)` waits for n lines. */
export class Sink {
  /** Every line written so far, as `target|line`. */
  readonly lines: string[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  /** The writer to hand to a log client. */
  readonly write = (target: OutputTarget, line: string): void => {
    this.lines.push(`${target}|${line}`);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.lines.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  /**
   * Waits until at least `n` lines were written.
   * @param n The line count.
   * @param timeoutMs Reject after this long, listing what arrived (default: wait forever).
   */
  async atLeast(n: number, timeoutMs?: number): Promise<void> {
    if (this.lines.length >= n) return;
    const enough = new Promise<void>((resolve) => this.#waiters.push({ n, resolve }));
    if (timeoutMs === undefined) return await enough;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        enough,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`only ${this.lines.length}/${n} lines:\n${this.lines.join("\n")}`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
