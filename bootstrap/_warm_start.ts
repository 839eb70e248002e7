/**
 * Folder-private: the child side of a warm start. A warm child (spawned with
 * `HYPERMESH_BOOTSTRAP_WARM=1` and no mode, see `launcher/warm_child.ts`)
 * reads one {@linkcode WarmStart} JSON line from stdin, applies its env as a
 * cold launch would have set it, and decodes its `Proc` mode.
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import { config } from "../config/mod.ts";
import type { WarmStart } from "../launcher/types.ts";
import { BOOTSTRAP_MODE_ENV, WARM_ENV } from "./mode.ts";
import { BootstrapModeError, fromEnvSafeString, type ProcBootstrap } from "./mode.ts";
import { makeSocketDir } from "./_socket_dirs.ts";

/** The label naming the warm start line in decode errors. */
export const WARM_START_LABEL = "the warm start line";

/** Reads the warm start line; `undefined` at EOF. */
export type WarmInput = () => Promise<string | undefined>;

/**
 * Reads stdin up to the first newline.
 * @returns The line without its newline, or `undefined` when stdin ended
 * before a full line.
 */
export async function readStdinLine(): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(16 * 1024);
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null) return undefined; // EOF: drained before adoption
    const chunk = buf.slice(0, n);
    const nl = chunk.indexOf(10);
    if (nl < 0) {
      chunks.push(chunk);
      continue;
    }
    chunks.push(chunk.subarray(0, nl));
    const total = chunks.reduce((sum, c) => sum + c.length, 0);
    const line = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      line.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(line);
  }
}

/**
 * Parses a warm start line.
 * @param line The JSON line `{"mode": "<base64>", "env": {...}}`.
 * @returns The start.
 * @throws {BootstrapModeError} `Json` for bad JSON, `Field` for bad fields.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseWarmStart } from "./_warm_start.ts";
 * assertEquals(parseWarmStart('{"mode":"e30=","env":{"A":"1"}}'), { mode: "e30=", env: { A: "1" } });
 * assertThrows(() => parseWarmStart('{"mode":1,"env":{}}'), Error, '"mode"');
 * ```
 */
export function parseWarmStart(line: string): WarmStart {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (error) {
    throw new BootstrapModeError("Json", WARM_START_LABEL, "not JSON", { cause: error });
  }
  const { mode, env, unset } = (doc ?? {}) as { mode?: unknown; env?: unknown; unset?: unknown };
  if (typeof mode !== "string") {
    throw new BootstrapModeError("Field", WARM_START_LABEL, "expected a string", {
      field: "mode",
    });
  }
  if (env === null || typeof env !== "object" || Array.isArray(env)) {
    throw new BootstrapModeError("Field", WARM_START_LABEL, "expected an object", {
      field: "env",
    });
  }
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== "string" || key === "" || key.includes("=")) {
      throw new BootstrapModeError("Field", WARM_START_LABEL, "expected a string variable", {
        field: `env.${key}`,
      });
    }
    vars[key] = value;
  }
  if (unset === undefined) return { mode, env: vars };
  if (
    !Array.isArray(unset) ||
    unset.some((name) => typeof name !== "string" || name === "" || name.includes("="))
  ) {
    throw new BootstrapModeError("Field", WARM_START_LABEL, "expected variable names", {
      field: "unset",
    });
  }
  return { mode, env: vars, unset: unset as string[] };
}

/**
 * Makes this process look like a cold launch of `start` (BS-30): unsets the
 * variables it names (LN-23), sets its variables and the mode variable, removes the warm marker (children of the
 * proc must not think they are warm), re-reads the config's Env layer, and
 * decodes the mode.
 * @param start The parsed start line.
 * @returns The `Proc` mode.
 * @throws {BootstrapModeError} For a malformed mode, or one that is not `Proc`.
 * @tags allow-env
 */
export function applyWarmStart(start: WarmStart): ProcBootstrap {
  const mode = fromEnvSafeString(start.mode, WARM_START_LABEL);
  if (mode.kind !== "Proc") {
    throw new BootstrapModeError("Field", WARM_START_LABEL, `a warm child runs Proc mode only`, {
      field: "mode",
    });
  }
  for (const name of start.unset ?? []) Deno.env.delete(name); // LN-23
  for (const [key, value] of Object.entries(start.env)) Deno.env.set(key, value);
  Deno.env.set(BOOTSTRAP_MODE_ENV, start.mode);
  Deno.env.delete(WARM_ENV);
  config.reloadEnv();
  return mode;
}

/**
 * Pre-touches what the `Proc` bootstrap's callback will use, while the warm
 * child has nothing else to do: one message over a loopback unix channel
 * (listener, dialer, framing and ack paths compiled and their lazily created
 * runtime state in place). Best effort: a failure is ignored.
 *
 * BS-49: the socket lives in a private directory of its own, removed as
 * soon as the warm-up is done. Not `ChannelAddr.any("unix")`: that creates
 * the process's runtime directory and an `unload` listener to remove it,
 * and a listener makes `Deno.exit` dispatch `unload` through user code: 2–4
 * ms more per exit (measured: an adopted warm child reached `exit_group`
 * 2.0–4.5 ms after `Deno.exit`, a cold one 0.4 ms), paid by every stop.
 * @tags allow-net, allow-read, allow-write
 */
export async function warmUpChannels(): Promise<void> {
  let dir: string | undefined;
  try {
    // A socket directory like a manager's: swept if this child dies first (BS-38).
    dir = makeSocketDir(Deno.env.get("XDG_RUNTIME_DIR"));
    const server = await serve<{ warm: true }>(ChannelAddr.unix(`${dir}/warm.sock`));
    try {
      const tx = dial<{ warm: true }>(server.addr);
      try {
        await tx.send({ warm: true });
        await server.recv();
      } finally {
        await tx.close();
      }
    } finally {
      await server.close();
    }
  } catch {
    // nothing to warm then; the cold path still works
  } finally {
    if (dir !== undefined) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // gone already
      }
    }
  }
}
