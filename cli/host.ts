/**
 * `bootstrap.ts host --addr tcp:HOST:PORT [--bind tcp:IP:PORT] [--command-worker] [--secret-file PATH | --secret-stdin | --insecure] [--stdin-lifeline]`: a long-lived
 * host daemon — a host with a bootstrap proc manager and a host agent at
 * `ADDR,service,host_agent[0]`. It prints `ready <addr>` once serving and
 * exits 0 after `ShutdownHost` (or SIGTERM/SIGINT). Its procs run this same
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

import { parseArgs } from "@std/cli/parse-args";
import { ChannelAddr } from "../channel/addr.ts";
import { checkAdvertisable } from "../channel/advertise.ts";
import { ChannelSecret, setChannelSecret, useUserSecret } from "../channel/secret.ts";
import { StdinLines } from "./_stdin.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { NOTIFY_SOCKET_ENV, sdNotify } from "../bootstrap/sd_notify.ts";
import { servedUntilReleased, serveProcessHost } from "../mesh/host_mesh/_serve.ts";
import { workerCommand } from "./worker.ts";

/**
 * Parses the `host` arguments.
 * @param args Arguments after `host`.
 * @returns The address and whether procs use the worker program.
 * @throws {TypeError} Without `--addr`, or a `--bind` of another transport.
 * @throws {import("../channel/advertise.ts").UnadvertisableAddrError} For
 * `--addr tcp:0.0.0.0:…` or `tcp:[::]:…` (AD-1).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseHostArgs } from "./host.ts";
 * assertEquals(parseHostArgs(["--addr", "tcp:127.0.0.1:0"]).addr.toString(), "tcp:127.0.0.1:0");
 * ```
 */
export function parseHostArgs(
  args: string[],
): {
  addr: ChannelAddr;
  bind?: ChannelAddr;
  worker: boolean;
  secretFile?: string;
  insecure: boolean;
  secretStdin: boolean;
  stdinLifeline: boolean;
  readyFile?: string;
} {
  const flags = parseArgs(args, {
    string: ["addr", "bind", "secret-file", "ready-file"],
    boolean: ["command-worker", "insecure", "secret-stdin", "stdin-lifeline"],
  });
  if (typeof flags.addr !== "string") throw new TypeError("Invalid arguments: --addr is required");
  const secretFile = flags["secret-file"];
  const secretSources = [secretFile !== undefined, flags.insecure, flags["secret-stdin"]];
  if (secretSources.filter((given) => given).length > 1) {
    throw new TypeError(
      "Invalid arguments: --secret-file, --secret-stdin and --insecure exclude each other",
    );
  }
  const addr = checkAdvertisable(ChannelAddr.parse(flags.addr)); // AD-1
  const bind = typeof flags.bind === "string" ? ChannelAddr.parse(flags.bind) : undefined;
  if (bind !== undefined && bind.transport !== addr.transport) {
    throw new TypeError(`Invalid arguments: --bind ${bind} must use --addr's transport`);
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
  const stdin = parsed.secretStdin || parsed.stdinLifeline ? new StdinLines() : undefined;
  try {
    if (parsed.secretStdin) {
      // JB-4: the job writes the secret (ChannelSecret.toEnv) as stdin's first line.
      const line = (await stdin!.line())?.trim() ?? "";
      if (line === "") throw new TypeError("Cannot read the secret: stdin ended before a line");
      setChannelSecret(ChannelSecret.fromEnv(line)); // procs inherit it
    } else {
      // AU-5..AU-7: before anything is served; procs inherit the secret.
      useUserSecret({
        ...(parsed.secretFile !== undefined ? { secretFile: parsed.secretFile } : {}),
        ...(parsed.insecure ? { insecure: true } : {}),
        addr: parsed.bind ?? parsed.addr, // AU-7 judges where the daemon listens
      });
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  // SN-1: the socket is ours alone; procs started later must not inherit it.
  const notifySocket = Deno.env.get(NOTIFY_SOCKET_ENV);
  if (notifySocket !== undefined) Deno.env.delete(NOTIFY_SOCKET_ENV);
  const command = parsed.worker ? workerCommand() : BootstrapCommand.current();
  const served = await serveProcessHost(
    parsed.addr,
    command,
    parsed.bind !== undefined ? { bind: parsed.bind } : {},
  );
  console.log(`ready ${served.ref.addr}`);
  try {
    // SN-1: after the front-end serves; a Type=notify unit is started from here on.
    sdNotify(`READY=1\nSTATUS=serving ${served.ref.addr}`, { socket: notifySocket ?? "" });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
  }
  // A file-based readiness signal (a Kubernetes exec probe): written once serving.
  if (parsed.readyFile !== undefined) {
    await Deno.writeTextFile(parsed.readyFile, `${served.ref.addr}\n`);
  }
  // JB-3: the job's end of stdin closed (client gone, ssh session ended): stop.
  if (parsed.stdinLifeline) stdin!.closed().then(() => served.release());
  await servedUntilReleased(served);
  if (parsed.readyFile !== undefined) await Deno.remove(parsed.readyFile).catch(() => {});
  return 0;
}
