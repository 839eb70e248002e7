/**
 * `bootstrap.ts host --addr tcp:HOST:PORT [--bind tcp:IP:PORT] [--command-worker] [--secret-file PATH | --secret-stdin | --insecure] [--stdin-lifeline]`: a long-lived
 * host daemon — a host with a bootstrap proc manager and a host agent at
 * `ADDR,service,host_agent[0]`. It prints `ready <addr>` and then
 * `mesh ref <ref>` once serving and exits 0 after `ShutdownHost` (or
 * SIGTERM/SIGINT); 1 when it cannot serve; 2 for bad arguments. Its procs run this same
 * program, or the demo worker with `--command-worker`.
 *
 * `--addr` is the host's identity, the address every other machine dials:
 * a name (`tcp:node7.cluster:26600`) is kept as written and the daemon
 * listens on what it resolves to (AD-2); `--bind` listens elsewhere, e.g.
 * on every interface (`--bind tcp:0.0.0.0:26600`, AD-3). `0.0.0.0` and `::`
 * are refused as `--addr` (exit 2, AD-1).
 *
 * Started by systemd as a `Type=notify` service (`deploy/systemd/`), it
 * sends `READY=1` and `STATUS=serving <addr>` over `NOTIFY_SOCKET` once it
 * serves (SN-1, needs `--allow-ffi`).
 *
 * Started by a job (`mesh/job/`): `--secret-stdin` reads the channel secret
 * from stdin's first line (JB-4) and `--stdin-lifeline` releases the host
 * when stdin ends, so the daemon dies with the client or its ssh session
 * (JB-3). `--ready-file PATH` writes the served address to PATH once serving
 * and removes it at exit (a readiness probe for `deploy/kubernetes/`).
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
import { checkAdvertisable } from "../channel/advertise.ts";
import { ChannelSecret, setChannelSecret, useUserSecret } from "../channel/secret.ts";
import { StdinLines } from "./_stdin.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { NOTIFY_SOCKET_ENV, sdNotify } from "../bootstrap/sd_notify.ts";
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
    bind: {
      kind: "string",
      value: "ADDR",
      help: "Listen here instead of on --addr, e.g. tcp:0.0.0.0:26600 (same transport).",
    },
    "command-worker": { kind: "boolean", help: "Procs run the demo worker program." },
    "secret-file": { kind: "string", value: "PATH", help: "The mesh secret (a 0600 file)." },
    "secret-stdin": {
      kind: "boolean",
      help: "Read the mesh secret from stdin's first line (as a job starts the daemon).",
    },
    "stdin-lifeline": {
      kind: "boolean",
      help: "Shut down when stdin ends (the client or its ssh session is gone).",
    },
    "ready-file": {
      kind: "string",
      value: "PATH",
      help: "Write the served address to PATH once serving; removed at exit.",
    },
    insecure: { kind: "boolean", help: "No authentication (loopback and unix only; loud)." },
  },
};

/**
 * Parses the `host` arguments.
 * @param args Arguments after `host`.
 * @returns The address and whether procs use the worker program.
 * @throws {UsageError} Without `--addr`, for an unknown flag, a stray
 * argument, a malformed address, a `--bind` of another transport, more
 * than one secret source, or `--addr tcp:0.0.0.0:…` / `tcp:[::]:…` (AD-1,
 * the message names `--bind`).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseHostArgs } from "./host.ts";
 * assertEquals(parseHostArgs(["--addr", "tcp:127.0.0.1:0"]).addr.toString(), "tcp:127.0.0.1:0");
 * ```
 */
export function parseHostArgs(
  args: string[],
): HostArgs {
  return hostArgs(parseCommand(args, HOST_SPEC));
}

/** The parsed `host` arguments. */
export interface HostArgs {
  /** The advertised address: the host's identity. */
  addr: ChannelAddr;
  /** Where to listen instead, when given (AD-3). */
  bind?: ChannelAddr;
  /** Procs run the demo worker. */
  worker: boolean;
  /** `--secret-file`. */
  secretFile?: string;
  /** `--insecure`. */
  insecure: boolean;
  /** `--secret-stdin` (JB-4). */
  secretStdin: boolean;
  /** `--stdin-lifeline` (JB-3). */
  stdinLifeline: boolean;
  /** `--ready-file`. */
  readyFile?: string;
}

function hostArgs(parsed: ParsedCommand): HostArgs {
  const { flags } = parsed;
  if (typeof flags.addr !== "string") throw new UsageError("--addr is required");
  const secretFile = flags["secret-file"];
  const secretSources = [
    secretFile !== undefined,
    flags.insecure === true,
    flags["secret-stdin"] === true,
  ];
  if (secretSources.filter((given) => given).length > 1) {
    throw new UsageError("--secret-file, --secret-stdin and --insecure exclude each other");
  }
  let addr: ChannelAddr;
  let bind: ChannelAddr | undefined;
  try {
    addr = ChannelAddr.parse(flags.addr);
  } catch (error) {
    throw new UsageError(`--addr: ${(error as Error).message}`);
  }
  try {
    checkAdvertisable(addr); // AD-1
  } catch (error) {
    throw new UsageError((error as Error).message, { showUsage: false, cause: error });
  }
  if (typeof flags.bind === "string") {
    try {
      bind = ChannelAddr.parse(flags.bind);
    } catch (error) {
      throw new UsageError(`--bind: ${(error as Error).message}`);
    }
    if (bind.transport !== addr.transport) {
      throw new UsageError(`--bind ${bind} must use --addr's transport (${addr.transport})`);
    }
  }
  return {
    addr,
    ...(bind !== undefined ? { bind } : {}),
    worker: flags["command-worker"] === true,
    ...(typeof secretFile === "string" ? { secretFile } : {}),
    insecure: flags.insecure === true,
    ...(typeof flags["ready-file"] === "string" ? { readyFile: flags["ready-file"] } : {}),
    secretStdin: flags["secret-stdin"] === true,
    stdinLifeline: flags["stdin-lifeline"] === true,
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
    const stdin = options.secretStdin || options.stdinLifeline ? new StdinLines() : undefined;
    try {
      if (options.secretStdin) {
        // JB-4: the job writes the secret (ChannelSecret.toEnv) as stdin's first line.
        const line = (await stdin!.line())?.trim() ?? "";
        if (line === "") throw new TypeError("Cannot read the secret: stdin ended before a line");
        setChannelSecret(ChannelSecret.fromEnv(line)); // procs inherit it
      } else {
        // AU-5..AU-7: before anything is served; procs inherit the secret.
        useUserSecret({
          ...(options.secretFile !== undefined ? { secretFile: options.secretFile } : {}),
          ...(options.insecure ? { insecure: true } : {}),
          addr: options.bind ?? options.addr, // AU-7 judges where the daemon listens
        });
      }
    } catch (error) {
      // A setup mistake the user fixes before retrying: exit 2, as for usage.
      throw new UsageError((error as Error).message, { showUsage: false, cause: error });
    }
    // SN-1: the socket is ours alone; procs started later must not inherit it.
    const notifySocket = Deno.env.get(NOTIFY_SOCKET_ENV);
    if (notifySocket !== undefined) Deno.env.delete(NOTIFY_SOCKET_ENV);
    const command = options.worker ? workerCommand() : BootstrapCommand.current();
    const served = await serveProcessHost(
      options.addr,
      command,
      options.bind !== undefined ? { bind: options.bind } : {},
    );
    console.log(`ready ${served.ref.addr}`);
    // Pasteable into `bootstrap.ts status` (and `HostMeshRef.parse`).
    console.log(`mesh ref ${HostMeshRef.fromHosts("host", [served.ref.addr])}`);
    try {
      // SN-1: after the front-end serves; a Type=notify unit is started from here on.
      sdNotify(`READY=1\nSTATUS=serving ${served.ref.addr}`, { socket: notifySocket ?? "" });
    } catch (error) {
      console.error(error instanceof Error ? error.message : String(error));
    }
    // A file-based readiness signal (a Kubernetes exec probe): written once serving.
    if (options.readyFile !== undefined) {
      await Deno.writeTextFile(options.readyFile, `${served.ref.addr}\n`);
    }
    // JB-3: the job's end of stdin closed (client gone, ssh session ended): stop.
    if (options.stdinLifeline) stdin!.closed().then(() => served.release());
    await servedUntilReleased(served);
    if (options.readyFile !== undefined) await Deno.remove(options.readyFile).catch(() => {});
    return 0;
  });
}
