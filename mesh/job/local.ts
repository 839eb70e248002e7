/**
 * {@linkcode LocalJob}: N host daemons on this machine, as a job — the same
 * path as a remote engine (ready line, secret on stdin, lifeline; JB-1..JB-4),
 * so a test or an example switches engines by changing one line.
 * @module
 */

import { denoCommand, packageProgram } from "./_command.ts";
import type { HostDaemonSpec, HostJob } from "./job.ts";

/** Options of {@linkcode LocalJob}. */
export interface LocalJobOptions {
  /** How many host daemons (default 1). */
  hosts?: number;
  /** The program with the `host` subcommand (default this package's `bootstrap.ts`). */
  program?: string;
  /** A `deno.json` for `--config` (default this package's, for a local checkout). */
  config?: string;
  /** Extra `host` arguments, e.g. `["--command-worker"]`. */
  hostArgs?: readonly string[];
  /** The advertised address of rank `i` (default `tcp:localhost:0`: any free port). */
  addr?: (rank: number) => string;
}

/**
 * Host daemons on this machine.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LocalJob } from "./local.ts";
 * const job = new LocalJob({ hosts: 2 });
 * const specs = job.daemons((addr) => ["host", "--addr", addr]);
 * assertEquals(specs.map((s) => s.name), ["local#0", "local#1"]);
 * assertEquals(specs[0].command.includes("tcp:localhost:0"), true);
 * ```
 */
export class LocalJob implements HostJob {
  /** `local`. */
  readonly engine = "local";
  readonly #options: LocalJobOptions;

  /**
   * A job of `options.hosts` daemons on this machine.
   * @param options Host count, program, extra daemon arguments.
   * @throws {RangeError} For a host count below 1.
   */
  constructor(options: LocalJobOptions = {}) {
    const hosts = options.hosts ?? 1;
    if (!Number.isInteger(hosts) || hosts < 1) {
      throw new RangeError(`Invalid host count: ${options.hosts}`);
    }
    this.#options = { ...options, hosts };
  }

  /**
   * The daemon commands.
   * @param hostArgs The `host` arguments for an address.
   * @returns One spec per host.
   */
  daemons(hostArgs: (addr: string) => string[]): HostDaemonSpec[] {
    const o = this.#options;
    const pkg = packageProgram();
    const program = o.program ?? pkg.program;
    const config = o.config ?? (o.program === undefined ? pkg.config : undefined);
    return Array.from({ length: o.hosts! }, (_, rank) => ({
      name: `local#${rank}`,
      command: denoCommand(
        {
          deno: Deno.execPath(),
          program,
          ...(config !== undefined ? { config } : {}),
          ...(o.hostArgs ? { hostArgs: o.hostArgs } : {}),
        },
        hostArgs(o.addr?.(rank) ?? "tcp:localhost:0"),
      ),
    }));
  }
}
