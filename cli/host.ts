/**
 * `bootstrap.ts host --addr tcp:HOST:PORT [--command-worker] [--secret-file PATH | --insecure]`: a long-lived
 * host daemon — a host with a bootstrap proc manager and a host agent at
 * `ADDR,service,host_agent[0]`. It prints `ready <addr>` once serving and
 * exits 0 after `ShutdownHost` (or SIGTERM/SIGINT). Its procs run this same
 * program, or the demo worker with `--command-worker`.
 *
 * Every link to the daemon proves the secret read from `--secret-file`,
 * else `HYPERMESH_SECRET_FILE`, else the user's default secret file
 * (`~/.config/hypermesh/secret`, created at first use); the file must not be
 * accessible to group or others. `--insecure` (or `HYPERMESH_INSECURE=1`)
 * turns authentication off, loudly, and only for loopback/unix addresses.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { ChannelAddr } from "../channel/addr.ts";
import { useUserSecret } from "../channel/secret.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { servedUntilReleased, serveProcessHost } from "../mesh/host_mesh/_serve.ts";
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
export function parseHostArgs(
  args: string[],
): { addr: ChannelAddr; worker: boolean; secretFile?: string; insecure: boolean } {
  const flags = parseArgs(args, {
    string: ["addr", "secret-file"],
    boolean: ["command-worker", "insecure"],
  });
  if (typeof flags.addr !== "string") throw new TypeError("Invalid arguments: --addr is required");
  const secretFile = flags["secret-file"];
  if (secretFile !== undefined && flags.insecure) {
    throw new TypeError("Invalid arguments: --secret-file and --insecure exclude each other");
  }
  return {
    addr: ChannelAddr.parse(flags.addr),
    worker: flags["command-worker"] === true,
    ...(typeof secretFile === "string" ? { secretFile } : {}),
    insecure: flags.insecure === true,
  };
}

/**
 * Runs the daemon.
 * @param args Arguments after `host`.
 * @returns 0 after shutdown; 2 for bad arguments or a bad secret file.
 */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseHostArgs(args);
  } catch (error) {
    console.error(String(error));
    return 2;
  }
  try {
    // AU-5..AU-7: before anything is served; procs inherit the secret.
    useUserSecret({
      ...(parsed.secretFile !== undefined ? { secretFile: parsed.secretFile } : {}),
      ...(parsed.insecure ? { insecure: true } : {}),
      addr: parsed.addr,
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const command = parsed.worker ? workerCommand() : BootstrapCommand.current();
  const served = await serveProcessHost(parsed.addr, command);
  console.log(`ready ${served.ref.addr}`);
  await servedUntilReleased(served);
  return 0;
}
