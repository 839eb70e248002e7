/**
 * Folder-private: the `deno run … host …` command line of a job's daemon.
 * @module
 */

/** The permissions a host daemon runs with (its procs inherit the same program). */
export const DAEMON_PERMISSIONS: readonly string[] = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

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
    ...DAEMON_PERMISSIONS,
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
