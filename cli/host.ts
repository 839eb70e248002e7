/**
 * `bootstrap.ts host --addr tcp:HOST:PORT [--command-worker] [--secret-file PATH | --insecure]`: a long-lived
 * host daemon — a host with a bootstrap proc manager and a host agent at
 * `ADDR,service,host_agent[0]`. It prints `ready <addr>` and then
 * `mesh ref <ref>` once serving and exits 0 after `ShutdownHost` (or
 * SIGTERM/SIGINT); 1 when it cannot serve; 2 for bad arguments. Its procs run this same
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

import {
  type CommandSpec,
  parseCommand,
  type ParsedCommand,
  runCommand,
  UsageError,
} from "./_args.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { useUserSecret } from "../channel/secret.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { servedUntilReleased, serveProcessHost } from "../mesh/host_mesh/_serve.ts";
import { workerCommand } from "./worker.ts";

/** What `host` accepts. */
export const HOST_SPEC: CommandSpec = {
  name: "host",
  summary: "Runs a host daemon: a host with a bootstrap proc manager and a host agent. " +
    "Prints `ready <addr>` and its mesh ref once serving; exits 0 after ShutdownHost, " +
    "SIGTERM or SIGINT.",
  flags: {
    addr: {
      kind: "string",
      value: "ADDR",
      help: "Front-end address, e.g. tcp:10.0.0.5:26600 or unix:/run/user/1000/h.sock (required).",
    },
    "command-worker": { kind: "boolean", help: "Procs run the demo worker program." },
    "secret-file": { kind: "string", value: "PATH", help: "The mesh secret (a 0600 file)." },
    insecure: { kind: "boolean", help: "No authentication (loopback and unix only; loud)." },
  },
};

/**
 * Parses the `host` arguments.
 * @param args Arguments after `host`.
 * @returns The address and whether procs use the worker program.
 * @throws {UsageError} Without `--addr`, for an unknown flag, a stray
 * argument, a malformed address, or `--secret-file` with `--insecure`.
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
  return hostArgs(parseCommand(args, HOST_SPEC));
}

function hostArgs(
  parsed: ParsedCommand,
): { addr: ChannelAddr; worker: boolean; secretFile?: string; insecure: boolean } {
  const { flags } = parsed;
  if (typeof flags.addr !== "string") throw new UsageError("--addr is required");
  const secretFile = flags["secret-file"];
  if (secretFile !== undefined && flags.insecure) {
    throw new UsageError("--secret-file and --insecure exclude each other");
  }
  let addr: ChannelAddr;
  try {
    addr = ChannelAddr.parse(flags.addr);
  } catch (error) {
    throw new UsageError(`--addr: ${(error as Error).message}`);
  }
  return {
    addr,
    worker: flags["command-worker"] === true,
    ...(typeof secretFile === "string" ? { secretFile } : {}),
    insecure: flags.insecure === true,
  };
}

/**
 * Runs the daemon.
 * @param args Arguments after `host`.
 * @returns 0 after shutdown; 1 when it cannot serve (address in use); 2
 * for bad arguments or an unusable secret file.
 */
export function run(args: string[]): Promise<number> {
  return runCommand(HOST_SPEC, args, async (parsed) => {
    const options = hostArgs(parsed);
    try {
      // AU-5..AU-7: before anything is served; procs inherit the secret.
      useUserSecret({
        ...(options.secretFile !== undefined ? { secretFile: options.secretFile } : {}),
        ...(options.insecure ? { insecure: true } : {}),
        addr: options.addr,
      });
    } catch (error) {
      // A setup mistake the user fixes before retrying: exit 2, as for usage.
      throw new UsageError((error as Error).message, { showUsage: false, cause: error });
    }
    const command = options.worker ? workerCommand() : BootstrapCommand.current();
    const served = await serveProcessHost(options.addr, command);
    console.log(`ready ${served.ref.addr}`);
    // Pasteable into `bootstrap.ts status` (and `HostMeshRef.parse`).
    console.log(`mesh ref ${HostMeshRef.fromHosts("host", [served.ref.addr])}`);
    await servedUntilReleased(served);
    return 0;
  });
}
