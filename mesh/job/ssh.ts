/**
 * {@linkcode SshJob}: one host daemon per `user@host[:port]`, started with the
 * system's OpenSSH client (`ssh`, no library): `ssh -T … HOST -- exec deno run
 * … host --addr tcp:HOST:0 --secret-stdin --stdin-lifeline`. The secret is the
 * first line the daemon reads from the session's stdin (JB-4); when the
 * session ends — shutdown, the client dies, the network drops (keepalives
 * every 5 s, 3 missed) — the daemon's stdin closes and it stops with its
 * procs (JB-3).
 *
 * Requirements on each machine: key-based login without a prompt
 * (`BatchMode=yes`), deno, and the program (by default this package's
 * `bootstrap.ts` at the same path as here: a shared file system or the same
 * checkout). The advertised address defaults to `tcp:HOST:0` (the name the
 * client used; any free port, reported back in the `ready` line).
 * @module
 */

import { denoCommand, packageProgram, shellQuote } from "./_command.ts";
import type { HostDaemonSpec, HostJob } from "./job.ts";

/** A parsed `[user@]host[:port]`. */
export interface SshDestination {
  /** The login name, if given. */
  user?: string;
  /** The host name or IP (IPv6 without brackets). */
  host: string;
  /** The ssh port, if given. */
  port?: number;
}

/**
 * Parses `[user@]host[:port]` (IPv6 as `[addr]` or `[addr]:port`).
 * @param text The destination.
 * @returns Its parts.
 * @throws {TypeError} For an empty host or an invalid port.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSshDestination } from "./ssh.ts";
 * assertEquals(parseSshDestination("me@node1:2222"), { user: "me", host: "node1", port: 2222 });
 * assertEquals(parseSshDestination("[::1]"), { host: "::1" });
 * ```
 */
export function parseSshDestination(text: string): SshDestination {
  const at = text.lastIndexOf("@");
  const user = at >= 0 ? text.slice(0, at) : undefined;
  let rest = at >= 0 ? text.slice(at + 1) : text;
  let port: number | undefined;
  let host: string;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    host = close > 0 ? rest.slice(1, close) : "";
    rest = close > 0 ? rest.slice(close + 1) : "";
    if (rest.startsWith(":")) port = Number(rest.slice(1));
    else if (rest !== "") host = "";
  } else {
    const colon = rest.indexOf(":");
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) port = Number(rest.slice(colon + 1));
  }
  if (host === "" || user === "") throw new TypeError(`Invalid ssh destination: "${text}"`);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new TypeError(`Invalid ssh port in "${text}"`);
  }
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/** Options of {@linkcode SshJob}. */
export interface SshJobOptions {
  /** The machines, `[user@]host[:port]`. */
  hosts: readonly string[];
  /** The program on the machines (default this package's `bootstrap.ts`, same path). */
  program?: string;
  /** deno on the machines (default `deno` from the login's `PATH`). */
  deno?: string;
  /** A `deno.json` on the machines for `--config` (default this package's, same path). */
  config?: string;
  /** Extra `host` arguments, e.g. `["--command-worker"]`. */
  hostArgs?: readonly string[];
  /** The advertised address of a machine (default `tcp:HOST:0`). */
  addr?: (destination: SshDestination) => string;
  /** A private key (`ssh -i`, with `IdentitiesOnly=yes`). */
  identityFile?: string;
  /** More `ssh` options, before the destination (e.g. `["-o", "UserKnownHostsFile=…"]`). */
  sshOptions?: readonly string[];
  /** The ssh client (default `ssh`). */
  ssh?: string;
}

/**
 * Host daemons started over ssh.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SshJob } from "./ssh.ts";
 * const job = new SshJob({ hosts: ["me@node1:2222"], deno: "/usr/bin/deno", program: "/srv/w.ts" });
 * const [spec] = job.daemons((addr) => ["host", "--addr", addr]);
 * assertEquals(spec.name, "me@node1:2222");
 * assertEquals(spec.command.slice(-3), ["me@node1", "--",
 *   "exec /usr/bin/deno run --allow-run --allow-read --allow-write --allow-net --allow-env " +
 *   "--allow-sys --allow-ffi /srv/w.ts host --addr tcp:node1:0"]);
 * ```
 */
export class SshJob implements HostJob {
  /** `ssh`. */
  readonly engine = "ssh";
  readonly #options: SshJobOptions;
  readonly #destinations: SshDestination[];

  /**
   * A job of one daemon per machine of `options.hosts`.
   * @param options Machines, program, ssh client options.
   * @throws {TypeError} For no hosts or an invalid destination.
   */
  constructor(options: SshJobOptions) {
    if (options.hosts.length === 0) throw new TypeError("Invalid ssh job: no hosts");
    this.#destinations = options.hosts.map(parseSshDestination);
    this.#options = options;
  }

  /**
   * The `ssh` commands.
   * @param hostArgs The `host` arguments for an address.
   * @returns One spec per machine.
   */
  daemons(hostArgs: (addr: string) => string[]): HostDaemonSpec[] {
    const o = this.#options;
    const pkg = packageProgram();
    const program = o.program ?? pkg.program;
    const config = o.config ?? (o.program === undefined ? pkg.config : undefined);
    return this.#destinations.map((d, i) => {
      const host = d.host.includes(":") ? `[${d.host}]` : d.host;
      const remote = denoCommand(
        {
          deno: o.deno ?? "deno",
          program,
          ...(config !== undefined ? { config } : {}),
          ...(o.hostArgs ? { hostArgs: o.hostArgs } : {}),
        },
        hostArgs(o.addr?.(d) ?? `tcp:${host}:0`),
      );
      const command = [
        o.ssh ?? "ssh",
        "-T", // no terminal: stdin is the secret, then the lifeline
        "-o",
        "BatchMode=yes",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=3",
        ...(d.port !== undefined ? ["-p", String(d.port)] : []),
        ...(o.identityFile !== undefined ? ["-i", o.identityFile, "-o", "IdentitiesOnly=yes"] : []),
        ...(o.sshOptions ?? []),
        d.user !== undefined ? `${d.user}@${d.host}` : d.host,
        "--",
        `exec ${remote.map(shellQuote).join(" ")}`,
      ];
      return { name: o.hosts[i], command };
    });
  }
}
