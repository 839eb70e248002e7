/**
 * Folder-private: the `deno run … host …` command line of a job's daemon.
 * @module
 */

import { BOOTSTRAP_PERMISSIONS } from "../../launcher/command.ts";

/** Where and how to run the daemon program. */
export interface DenoProgram {
  /** The deno executable. */
  deno: string;
  /** The program with the `host` subcommand (a path or URL). */
  program: string;
  /** A `deno.json` to pass with `--config`, if any. */
  config?: string;
  /** Extra `host` arguments (e.g. `--command-worker`). */
  hostArgs?: readonly string[];
}

/**
 * This package's `bootstrap.ts` and `deno.json` (paths for a local checkout,
 * URLs otherwise).
 * @returns The program and its config (undefined when not a local checkout).
 */
export function packageProgram(): { program: string; config?: string } {
  const program = new URL("../../bootstrap.ts", import.meta.url);
  if (program.protocol !== "file:") return { program: program.href };
  return {
    program: program.pathname,
    config: new URL("../../deno.json", import.meta.url).pathname,
  };
}

/**
 * @param p The program.
 * @param hostArgs The `host` subcommand's arguments from the job layer.
 * @returns `deno run [--config C] <permissions> PROGRAM host … <extra>`.
 */
export function denoCommand(p: DenoProgram, hostArgs: readonly string[]): string[] {
  return [
    p.deno,
    "run",
    ...(p.config !== undefined ? ["--config", p.config] : []),
    ...BOOTSTRAP_PERMISSIONS, // its procs run the same program
    p.program,
    ...hostArgs,
    ...(p.hostArgs ?? []),
  ];
}

/**
 * Quotes `word` for a POSIX shell (the remote side of `ssh`).
 * @param word Any text.
 * @returns The single-quoted word.
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
