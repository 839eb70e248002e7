/**
 * The hypermesh executable: bootstrap child mode, and (later) CLI
 * subcommands.
 *
 * - With `HYPERACTOR_MESH_BOOTSTRAP_MODE` (or, for the v0 allocator,
 *   `HYPERACTOR_MESH_BOOTSTRAP_ADDR`) in the environment, this process is a
 *   bootstrap child: it runs `bootstrapOrDie()` with the proc agent wired in
 *   and exits with the code the mode reports.
 * - Otherwise `main(args)` dispatches `args[0]` through {@linkcode SUBCOMMANDS}
 *   (none yet; `host`, `demo`, `status` will be added there) and prints usage
 *   for anything else.
 *
 * Cold start matters (spawn-to-Ready latency; `bench/spawn_bench.ts`), so
 * the module graph `deno run` loads is exactly the `Proc`-mode child path:
 * - **Static imports for the child path** (`bootstrap/bootstrap.ts`, the proc
 *   agent). One graph build; loading the same modules through `import()` at
 *   run time costs a second resolution pass (~5 ms CPU per child).
 * - **Hidden `import()` for everything else** (subcommands, `Host` mode, v0).
 *   `deno run` reads and resolves the whole graph behind every *analyzable*
 *   `import("./x.ts")` at start-up, branch taken or not: for the CLI and host
 *   modules that is ~40 more files plus the `dbus-next` npm graph (~10 ms CPU
 *   per child). `loadLazy` takes the specifier as a value, which
 *   the graph builder cannot follow (so running a subcommand needs
 *   `--allow-read`, which it needs anyway). Each load is typed with the small
 *   interface it uses: an `import type` of those modules would pull their
 *   graphs into this entry's documented API.
 *
 * Set `HYPERMESH_TRACE_BOOT=1` in a child's environment to get its phase
 * timings on stderr (`bootstrap/_boot_trace.ts`).
 *
 * Permissions for a bootstrap child: `--allow-read --allow-write --allow-net
 * --allow-env` (unix sockets and config), `--allow-ffi` (parent-death
 * `prctl`; without it a parent-pid watchdog is used), `--allow-sys`
 * (hostname) and `--allow-run` (only for `Host` mode, which spawns procs).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { main } from "./bootstrap.ts";
 * assertEquals(await main(["help"], { env: { get: () => undefined }, print: () => {} }), 0);
 * ```
 * @module
 */

import { bootMark } from "./bootstrap/_boot_trace.ts";
import { bootstrapOrDie } from "./bootstrap/bootstrap.ts";
import { isBootstrapChild, processEnv } from "./bootstrap/mode.ts";
import { ProcAgent } from "./mesh/proc_agent/proc_agent.ts";
import type { HostRunner } from "./bootstrap/bootstrap.ts";
import type { V0ProcBooter } from "./bootstrap/v0_proc_mesh.ts";

// The lighter proc command: the bundled proc child (`cli/proc_child.ts`, issue 16).
export {
  PROC_CHILD_PERMISSIONS,
  procChildCommand,
  type ProcChildCommandOptions,
} from "./cli/proc_child_command.ts";

bootMark("evaluated");

/** A CLI subcommand: loaded on demand, returns the exit code. */
export interface Subcommand {
  /** One line for the usage text. */
  readonly summary: string;
  /**
   * Runs the subcommand.
   * @param args The arguments after the subcommand name.
   * @returns The exit code.
   */
  run(args: string[]): Promise<number>;
}

/**
 * Imports a module through a specifier the `deno run` graph builder cannot
 * follow, so its graph is not loaded at every start-up (see the module doc).
 * @param specifier A specifier relative to this file.
 * @returns The module namespace, typed as `T` (the part the caller uses).
 * @throws {TypeError} When the module cannot be loaded.
 * @example
 * ```ts ignore
 * const { run } = await loadLazy<CliModule>("./cli/demo.ts");
 * ```
 */
function loadLazy<T>(specifier: string): Promise<T> {
  return import(specifier);
}

/** What a subcommand module exports. */
interface CliModule {
  /**
   * Runs the subcommand.
   * @param args The arguments after the subcommand name.
   * @returns The exit code.
   */
  run(args: string[]): Promise<number>;
}

/**
 * The subcommand table. Add entries as
 * `name: { summary, run: async (args) => (await loadLazy<CliModule>("./x.ts")).run(args) }`
 * (parse `args` with `@std/cli/parse-args` inside the loaded module).
 */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  host: {
    summary:
      "Run a host daemon: host --addr tcp:HOST:PORT [--bind tcp:IP:PORT] [--command-worker] [--secret-file PATH | --secret-stdin | --insecure] [--stdin-lifeline] [--ready-file PATH]",
    run: async (args) => (await loadLazy<CliModule>("./cli/host.ts")).run(args),
  },
  demo: {
    summary: "Demo: demo [--hosts N] [--procs M] [--launcher native|systemd]",
    run: async (args) => (await loadLazy<CliModule>("./cli/demo.ts")).run(args),
  },
  status: {
    summary: "Print each proc's state: status <meshref>",
    run: async (args) => (await loadLazy<CliModule>("./cli/status.ts")).run(args),
  },
  top: {
    summary: "Watch hosts, procs and actors, redrawn every second: top [--once] <meshref>",
    run: async (args) => (await loadLazy<CliModule>("./cli/top.ts")).run(args),
  },
  admin: {
    summary: "Serve the admin HTTP API and page for a mesh: admin [--addr HOST:PORT] <meshref>",
    run: async (args) => (await loadLazy<CliModule>("./cli/admin.ts")).run(args),
  },
};

/** Options of {@linkcode main}. */
export interface MainOptions {
  /** Where to read the bootstrap variables (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** Where usage asked for goes (default `console.log`). */
  print?: (text: string) => void;
  /** Where usage after a mistake goes (default `console.error`). */
  printError?: (text: string) => void;
}

// "Am I a bootstrap child?" is decided in one place (`bootstrap/mode.ts`).
export { isBootstrapChild };

/**
 * Runs this process as a bootstrap child with the proc agent wired in, then
 * exits with the mode's code (1 on any failure).
 * @returns Never.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi, allow-sys
 */
export async function runBootstrapChild(): Promise<never> {
  return await bootstrapOrDie({
    bootProcAgent: (proc, onStopAll) => ProcAgent.bootV1(proc, { onStopAll }),
    bootV0Proc: async (procId) => {
      const v0 = await loadLazy<{ bootstrapV0: V0ProcBooter }>("./mesh/proc_agent/v0.ts");
      const { proc, agent } = await v0.bootstrapV0(procId);
      return { proc, agent };
    },
    // Host mode: a host with a BootstrapProcManager and a host agent.
    runHost: async (mode) =>
      (await loadLazy<{ runHost: HostRunner }>("./mesh/host_mesh/_serve.ts")).runHost(mode),
  });
}

function usage(): string {
  const lines = [
    "Usage: deno run --allow-run --allow-read --allow-write --allow-net --allow-env \\",
    "         --allow-sys --allow-ffi bootstrap.ts <subcommand> [args]",
    "",
    "Started with HYPERACTOR_MESH_BOOTSTRAP_MODE set, runs as a bootstrap child.",
    "",
    "Subcommands (each takes --help):",
    ...Object.entries(SUBCOMMANDS).map(([name, sub]) => `  ${name.padEnd(10)} ${sub.summary}`),
    `  ${"help".padEnd(10)} Show this text.`,
    "",
    "Exit codes: 0 ok, 1 runtime failure, 2 usage. HYPERMESH_DEBUG=1 prints error stacks.",
  ];
  return lines.join("\n");
}

/**
 * The entry point: bootstrap child, subcommand, or usage.
 * @param args Command-line arguments (`Deno.args`).
 * @param options Environment and output (for tests).
 * @returns The exit code (a bootstrap child never returns).
 */
export async function main(args: string[], options: MainOptions = {}): Promise<number> {
  if (isBootstrapChild(options.env ?? processEnv())) return await runBootstrapChild();
  const print = options.print ?? console.log;
  const [name, ...rest] = args;
  const sub = name === undefined
    ? undefined
    : Object.hasOwn(SUBCOMMANDS, name)
    ? SUBCOMMANDS[name]
    : undefined;
  if (sub !== undefined) return await sub.run(rest);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    print(usage());
    return 0;
  }
  // A mistake: one line naming it, then the usage, on stderr; exit 2.
  (options.printError ?? console.error)(`unknown subcommand "${name}"\n\n${usage()}`);
  return 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
