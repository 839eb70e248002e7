/**
 * `bootstrap.ts demo [--hosts N] [--procs M] [--launcher native|systemd]`:
 * brings up a local host mesh of N host processes, spawns M procs per host
 * with a live progress line, spawns a `Greeter` actor mesh, calls `Greet`
 * and prints every reply, then shuts everything down and reports the
 * teardown. Exits 0 on success.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { StatusMesh } from "../mesh/resource/value_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { type Greeter, GREETER_TYPE } from "./demo_actor.ts";
import { workerCommand } from "./worker.ts";

/** Parsed `demo` arguments. */
export interface DemoArgs {
  /** Host processes. */
  hosts: number;
  /** Procs per host. */
  procs: number;
  /** Launcher kind. */
  launcher: "native" | "systemd";
}

/**
 * Parses the `demo` arguments.
 * @param args Arguments after `demo`.
 * @returns The parsed arguments.
 * @throws {RangeError} For non-positive counts or an unknown launcher.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseDemoArgs } from "./demo.ts";
 * assertEquals(parseDemoArgs(["--hosts", "3"]), { hosts: 3, procs: 2, launcher: "native" });
 * ```
 */
export function parseDemoArgs(args: string[]): DemoArgs {
  const flags = parseArgs(args, {
    string: ["hosts", "procs", "launcher"],
    default: { hosts: "2", procs: "2", launcher: "native" },
  });
  const hosts = Number(flags.hosts);
  const procs = Number(flags.procs);
  for (const [name, v] of [["hosts", hosts], ["procs", procs]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 64) {
      throw new RangeError(`Invalid --${name}: ${v} (expected 1..64)`);
    }
  }
  const launcher = String(flags.launcher);
  if (launcher !== "native" && launcher !== "systemd") {
    throw new RangeError(`Invalid --launcher: "${launcher}" (expected native or systemd)`);
  }
  return { hosts, procs, launcher };
}

function progress(statuses: StatusMesh, total: number, t0: number): string {
  const counts = new Map<string, number>();
  for (const s of statuses.values()) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const up = total - (counts.get("NotExist") ?? 0);
  const parts = [...counts].map(([k, n]) => `${k}=${n}`).join(" ");
  return `procs up ${up}/${total} (${parts}) ${(performance.now() - t0).toFixed(0)}ms`;
}

/**
 * Runs the demo.
 * @param args Arguments after `demo`.
 * @returns The exit code.
 */
export async function run(args: string[]): Promise<number> {
  let opts: DemoArgs;
  try {
    opts = parseDemoArgs(args);
  } catch (error) {
    console.error(String(error));
    return 2;
  }
  using _launcher = config.override(
    attrs.MESH_PROC_LAUNCHER_KIND,
    opts.launcher === "native" ? "" : "systemd",
  );
  const tty = Deno.stdout.isTerminal();
  const write = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s));
  const cx = await context();
  const t0 = performance.now();
  let mesh: HostMesh | undefined;
  let code = 1;
  try {
    mesh = await HostMesh.process(Extent.of({ hosts: opts.hosts }), workerCommand());
    console.log(`host mesh ${mesh.ref} (host pids ${mesh.pids.join(", ")})`);
    const total = opts.hosts * opts.procs;
    let last = "";
    const procs = await mesh.spawn(cx, "demo", Extent.of({ procs: opts.procs }), {
      onProgress: (s) => {
        const line = progress(s, total, t0);
        if (line === last) return;
        last = line;
        write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      },
    });
    write(tty ? "\n" : "");
    console.log(`proc mesh ${procs.region} ready in ${(performance.now() - t0).toFixed(0)}ms`);
    const actors = await procs.spawn<Greeter>(cx, "greeter", GREETER_TYPE);
    const tc = performance.now();
    const replies = await actors.call(cx, "Greet", { text: "hello" }, { timeoutMs: 10_000 });
    for (const [rank, g] of replies.entries()) {
      if (g instanceof CallError) throw g;
      console.log(`  rank ${rank}: ${g.text} @ ${g.actor} (pid ${g.pid})`);
    }
    console.log(`call to ${total} actors answered in ${(performance.now() - tc).toFixed(1)}ms`);
    code = 0;
  } catch (error) {
    console.error(`demo failed: ${error instanceof Error ? error.stack : error}`);
  } finally {
    if (mesh !== undefined) {
      const report = await mesh.shutdown(cx);
      console.log(
        `teardown: drain ${report.drainMs.toFixed(0)}ms, shutdown ${
          report.shutdownMs.toFixed(0)
        }ms, total ${
          report.totalMs.toFixed(0)
        }ms, failed ${report.failed.length}, killed ${report.killed}`,
      );
      if (report.failed.length > 0) code = 1;
    }
    await shutdownContext();
  }
  return code;
}
