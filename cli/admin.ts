/**
 * `bootstrap.ts admin <meshref | addr…>`: serves the admin HTTP API and
 * web page (`mesh/admin/server.ts`) for a mesh someone else owns — it
 * attaches with the user's secret (`HYPERMESH_SECRET_FILE` or the default
 * one, AU-6), only reads, and serves until Ctrl-C or SIGTERM (exit 0).
 *
 * It prints `admin <url>` and `page <url>/#token=<token>` on stdout; the
 * token (the secret as hex, `adminToken`) is also written to
 * `--token-file` (mode 0600) when given.
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { delay } from "@std/async/delay";
import { parseAdminAddr, serveAdmin, writeTokenFile } from "../mesh/admin/server.ts";
import { type CommandSpec, msFlag, runCommand, UsageError } from "./_args.ts";
import { stopSignal } from "./_signals.ts";
import {
  HOST_TIMEOUT_FLAG,
  MESHREF_POSITIONALS,
  statusTargets,
  useDaemonSecret,
} from "./status.ts";

/** What `admin` accepts. */
export const ADMIN_SPEC: CommandSpec = {
  name: "admin",
  summary: "Serves the admin HTTP API and web page for a running mesh (read-only) " +
    "until Ctrl-C.",
  flags: {
    addr: {
      kind: "string",
      value: "HOST:PORT",
      help: "Where to listen (default $HYPERACTOR_MESH_ADMIN_ADDR, else 127.0.0.1:1729; " +
        "port 0 picks one). Loopback unless you say otherwise.",
    },
    "token-file": {
      kind: "string",
      value: "PATH",
      help: "Also write the bearer token there (mode 0600).",
    },
    poll: { kind: "string", value: "MS", help: "Tree poll period for /v1/events (default 1000)." },
    timeout: HOST_TIMEOUT_FLAG,
  },
  positionals: MESHREF_POSITIONALS,
  more:
    "Example:\n  bootstrap.ts admin --addr 127.0.0.1:8080 'host:tcp:10.0.0.5:26600@hosts=1/1'\n" +
    '  curl -H "Authorization: Bearer $(cat token)" http://127.0.0.1:8080/v1/tree',
};

/**
 * Runs `admin`.
 * @param args `[--addr HOST:PORT] [--token-file PATH] [--poll MS] [--timeout MS] <meshref | addr…>`.
 * @returns 0 after Ctrl-C/SIGTERM, 1 when it cannot serve, 2 for bad arguments.
 */
export function run(args: string[]): Promise<number> {
  return runCommand(ADMIN_SPEC, args, async (parsed) => {
    const ref = statusTargets(parsed.positionals);
    const pollMs = msFlag(parsed, "poll", 1_000);
    const queryTimeoutMs = msFlag(parsed, "timeout", 5_000);
    if (parsed.flags.addr !== undefined) {
      try {
        parseAdminAddr(String(parsed.flags.addr));
      } catch (error) {
        throw new UsageError(`--addr: ${(error as Error).message}`);
      }
    }
    useDaemonSecret(); // AU-6: the daemons' secret
    using stop = stopSignal();
    const cx = await context();
    try {
      const addr = parsed.flags.addr === undefined ? {} : { addr: String(parsed.flags.addr) };
      await using server = await serveAdmin([ref], cx, { ...addr, pollMs, queryTimeoutMs });
      if (typeof parsed.flags["token-file"] === "string") {
        writeTokenFile(parsed.flags["token-file"], server.token);
      }
      console.log(`admin ${server.url}`);
      console.log(`page ${server.pageUrl}`);
      await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
      return 0;
    } finally {
      await Promise.race([shutdownContext(), delay(1_000)]);
    }
  });
}
