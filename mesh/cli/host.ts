/**
 * `bootstrap.ts host --addr tcp:HOST:PORT [--command-worker]`: a long-lived
 * host daemon — a host with a bootstrap proc manager and a host agent at
 * `ADDR,service,host_agent[0]`. It prints `ready <addr>` once serving and
 * exits 0 after `ShutdownHost` (or SIGTERM/SIGINT). Its procs run this same
 * program, or the demo worker with `--command-worker`.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { ChannelAddr } from "../../channel/addr.ts";
import { BootstrapCommand } from "../../launcher/command.ts";
import { servedUntilReleased, serveProcessHost } from "../_host_mesh_serve.ts";
import { workerCommand } from "./worker.ts";

/**
 * Parses the `host` arguments.
 * @param args Arguments after `host`.
 * @returns The address and whether procs use the worker program.
 * @throws {TypeError} Without `--addr`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseHostArgs } from "./host.ts";
 * assertEquals(parseHostArgs(["--addr", "tcp:127.0.0.1:0"]).addr.toString(), "tcp:127.0.0.1:0");
 * ```
 */
export function parseHostArgs(args: string[]): { addr: ChannelAddr; worker: boolean } {
  const flags = parseArgs(args, { string: ["addr"], boolean: ["command-worker"] });
  if (typeof flags.addr !== "string") throw new TypeError("Invalid arguments: --addr is required");
  return { addr: ChannelAddr.parse(flags.addr), worker: flags["command-worker"] === true };
}

/**
 * Runs the daemon.
 * @param args Arguments after `host`.
 * @returns 0 after shutdown; 2 for bad arguments.
 */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseHostArgs(args);
  } catch (error) {
    console.error(String(error));
    return 2;
  }
  const command = parsed.worker ? workerCommand() : BootstrapCommand.current();
  const served = await serveProcessHost(parsed.addr, command);
  console.log(`ready ${served.ref.addr}`);
  await servedUntilReleased(served);
  return 0;
}
