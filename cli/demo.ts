/**
 * `bootstrap.ts demo [--hosts N] [--procs M] [--launcher native|systemd]`:
 * brings up a local host mesh of N host processes, spawns M procs per host
 * with a live progress line, spawns a `Greeter` actor mesh, calls `Greet`
 * and prints every reply, then shuts everything down and reports the
 * teardown. Exits 0 on success, 1 on a failure, 2 on bad arguments (see
 * `./_args.ts`); `--json` prints the final report as JSON on stdout.
 *
 * @module
 */

import {
  type CommandSpec,
  describeError,
  integerFlag,
  parseCommand,
  type ParsedCommand,
  runCommand,
  UsageError,
} from "./_args.ts";
import { context, shutdownContext } from "../actor/context.ts";
import type { Context } from "../actor/types.ts";
import { parseAdminAddr, serveAdmin } from "../mesh/admin/server.ts";
import { stopSignal } from "./_signals.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { StatusMesh } from "../mesh/resource/value_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { type Greeter, GREETER_TYPE } from "./demo_actor.ts";
import { workerCommand } from "./worker.ts";
import { procChildCommand } from "./proc_child_command.ts";

/** What `demo` accepts. */
export const DEMO_SPEC: CommandSpec = {
  name: "demo",
  summary: "Brings up a local host mesh (N host processes, M procs each), spawns a Greeter " +
    "actor on every proc, calls it, prints the replies and shuts everything down.",
  flags: {
    hosts: { kind: "string", value: "N", help: "Host processes, 1..64 (default 2)." },
    procs: { kind: "string", value: "M", help: "Procs per host, 1..64 (default 2)." },
    launcher: { kind: "string", value: "KIND", help: "native (default) or systemd." },
    json: {
      kind: "boolean",
      help: "Print the final report as one JSON object on stdout (progress goes to stderr).",
    },
    admin: {
      kind: "boolean",
      help: "After the calls, serve the admin HTTP API and web page, print their URLs and " +
        "keep the mesh up until Ctrl-C.",
    },
    "admin-addr": {
      kind: "string",
      value: "HOST:PORT",
      help: "Where --admin listens (default $HYPERACTOR_MESH_ADMIN_ADDR, else 127.0.0.1:1729).",
    },
  },
  more: "Prints the host mesh's ref (`host mesh <ref>`); while the mesh is up, " +
    "`bootstrap.ts status <ref>` in another terminal shows its procs.",
};

/** Parsed `demo` arguments. */
export interface DemoArgs {
  /** Host processes. */
  hosts: number;
  /** Procs per host. */
  procs: number;
  /** Launcher kind. */
  launcher: "native" | "systemd";
  /** Final report as JSON on stdout. */
  json?: boolean;
  /** Serve the admin API after the calls, until Ctrl-C. */
  admin?: boolean;
  /** Where the admin listens. */
  adminAddr?: string;
}

/**
 * Parses the `demo` arguments.
 * @param args Arguments after `demo`.
 * @returns The parsed arguments.
 * @throws {UsageError} For unknown flags, stray arguments, counts outside
 * 1..64 or an unknown launcher.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseDemoArgs } from "./demo.ts";
 * assertEquals(parseDemoArgs(["--hosts", "3"]), { hosts: 3, procs: 2, launcher: "native" });
 * ```
 */
export function parseDemoArgs(args: string[]): DemoArgs {
  return demoArgs(parseCommand(args, DEMO_SPEC));
}

function demoArgs(parsed: ParsedCommand): DemoArgs {
  const { flags } = parsed;
  const hosts = integerFlag("hosts", String(flags.hosts ?? "2"), 1, 64);
  const procs = integerFlag("procs", String(flags.procs ?? "2"), 1, 64);
  const launcher = String(flags.launcher ?? "native");
  if (launcher !== "native" && launcher !== "systemd") {
    throw new UsageError(`--launcher must be native or systemd, not "${launcher}"`);
  }
  if (flags["admin-addr"] !== undefined) {
    if (flags.admin !== true) throw new UsageError("--admin-addr needs --admin");
    try {
      parseAdminAddr(String(flags["admin-addr"]));
    } catch (error) {
      throw new UsageError(`--admin-addr: ${(error as Error).message}`);
    }
  }
  return {
    hosts,
    procs,
    launcher,
    ...(flags.json === true ? { json: true } : {}),
    ...(flags.admin === true ? { admin: true } : {}),
    ...(typeof flags["admin-addr"] === "string" ? { adminAddr: flags["admin-addr"] } : {}),
  };
}

/** Proc counts by what they mean for a bring-up. */
function tally(statuses: StatusMesh): { up: number; failed: number; kinds: string } {
  const counts = new Map<string, number>();
  let up = 0;
  let failed = 0;
  for (const s of statuses.values()) {
    counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
    if (s.kind === "Running") up++;
    else if (s.kind !== "NotExist" && s.kind !== "Initializing") failed++;
  }
  return { up, failed, kinds: [...counts].map(([k, n]) => `${k}=${n}`).join(" ") };
}

/** A status line: redrawn in place on a terminal, one line per change when piped. */
class ProgressLine {
  readonly #tty: boolean;
  readonly #out: { writeSync(p: Uint8Array): number };
  #last = "";
  #open = false;
  constructor(out: typeof Deno.stdout | typeof Deno.stderr) {
    this.#out = out;
    this.#tty = out.isTerminal();
  }
  update(line: string): void {
    if (line === this.#last) return;
    this.#last = line;
    this.#write(this.#tty ? `\r\x1b[2K${line}` : `${line}\n`);
    this.#open = this.#tty;
  }
  done(line?: string): void {
    if (line !== undefined) this.update(line);
    if (this.#open) this.#write("\n");
    this.#open = false;
    this.#last = "";
  }
  #write(text: string): void {
    this.#out.writeSync(new TextEncoder().encode(text));
  }
}

/** `--admin`: serves the admin API for the demo's mesh until SIGINT/SIGTERM. */
async function serveUntilStopped(
  cx: Context,
  mesh: HostMesh,
  opts: DemoArgs,
  say: (line: string) => void,
): Promise<void> {
  using stop = stopSignal();
  await using server = await serveAdmin(
    [mesh.ref],
    cx,
    opts.adminAddr === undefined ? {} : { addr: opts.adminAddr },
  );
  say(`admin ${server.url}`);
  say(`page ${server.pageUrl}`);
  say(`(Ctrl-C to stop and shut the mesh down)`);
  await new Promise((resolve) => stop.signal.addEventListener("abort", resolve, { once: true }));
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)}ms`;

/**
 * Runs the demo.
 * @param args Arguments after `demo`.
 * @returns The exit code: 0 ok, 1 failed, 2 usage.
 */
export function run(args: string[]): Promise<number> {
  return runCommand(DEMO_SPEC, args, (parsed) => runDemo(demoArgs(parsed)));
}

async function runDemo(opts: DemoArgs): Promise<number> {
  using _launcher = config.override(
    attrs.MESH_PROC_LAUNCHER_KIND,
    opts.launcher === "native" ? "" : "systemd",
  );
  // With --json, stdout carries only the report.
  const human = opts.json ? Deno.stderr : Deno.stdout;
  const say = (line: string) => human.writeSync(new TextEncoder().encode(`${line}\n`));
  const progress = new ProgressLine(human);
  const cx = await context();
  const t0 = performance.now();
  let mesh: HostMesh | undefined;
  let code = 1;
  const report: Record<string, unknown> = { hosts: opts.hosts, procsPerHost: opts.procs };
  try {
    progress.update(`hosts: starting ${opts.hosts} host process(es)…`);
    // The procs run the bundled proc child: the demo's Greeter needs nothing else, and
    // it costs less memory and starts faster than the worker program (PC-2).
    mesh = await HostMesh.process(Extent.of({ hosts: opts.hosts }), workerCommand(), {
      procCommand: procChildCommand(),
    });
    progress.done(`hosts started ${opts.hosts}/${opts.hosts} ${ms(t0)}`);
    say(`host mesh ${mesh.ref} (host pids ${mesh.pids.join(", ")})`);
    Object.assign(report, { meshRef: mesh.ref.toString(), hostPids: mesh.pids });
    const total = opts.hosts * opts.procs;
    const procs = await mesh.spawn(cx, "demo", Extent.of({ procs: opts.procs }), {
      onProgress: (s) => {
        const { up, failed, kinds } = tally(s);
        progress.update(
          `procs up ${up}/${total}${failed > 0 ? `, ${failed} failed` : ""} (${kinds}) ${ms(t0)}`,
        );
      },
    });
    progress.done();
    say(`proc mesh ${procs.region} ready in ${ms(t0)}`);
    report.procsReadyMs = Math.round(performance.now() - t0);
    progress.update(`actors: spawning ${total} greeter(s)…`);
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    progress.done(`actors up ${total}/${total} ${ms(t0)}`);
    const tc = performance.now();
    const replies = await actors.call(cx, "Greet", { text: "hello" }, { timeoutMs: 10_000 });
    const answers = [];
    for (const [rank, g] of replies.entries()) {
      if (g instanceof CallError) throw g;
      say(`  rank ${rank}: ${g.text} @ ${g.actor} (pid ${g.pid})`);
      answers.push({ rank, text: g.text, actor: g.actor, pid: g.pid });
    }
    say(`call to ${total} actors answered in ${(performance.now() - tc).toFixed(1)}ms`);
    Object.assign(report, { replies: answers, callMs: performance.now() - tc });
    if (opts.admin) await serveUntilStopped(cx, mesh, opts, say);
    code = 0;
  } catch (error) {
    progress.done();
    console.error(`demo: ${describeError(error)}`);
    report.error = describeError(error);
  } finally {
    if (mesh !== undefined) {
      const teardown = await mesh.shutdown(cx);
      say(
        `teardown: drain ${teardown.drainMs.toFixed(0)}ms, shutdown ${
          teardown.shutdownMs.toFixed(0)
        }ms, total ${
          teardown.totalMs.toFixed(0)
        }ms, failed ${teardown.failed.length}, killed ${teardown.killed}`,
      );
      if (teardown.failed.length > 0) code = 1;
      report.teardown = {
        drainMs: teardown.drainMs,
        shutdownMs: teardown.shutdownMs,
        totalMs: teardown.totalMs,
        failed: teardown.failed.length,
        killed: teardown.killed,
      };
    }
    await shutdownContext();
  }
  report.ok = code === 0;
  if (opts.json) console.log(JSON.stringify(report));
  return code;
}
