/**
 * `bootstrap.ts top <meshref | addr…>`: the fleet in the terminal, like
 * `pm2 monit` — hosts → procs → actors with status, pid, uptime, RSS and
 * CPU (the admin tree of `mesh/admin.ts`, AW-1, AW-2), redrawn once a
 * second. `--once` prints one frame and exits (1 when a host did not
 * answer, like `status`).
 *
 * ## Invariants (TV-*)
 * - **TV-1 (redraw on a terminal).** On a TTY each frame starts with
 *   cursor-home + clear-screen, lines are cut to the terminal's width, and
 *   the cursor is hidden while it runs and shown again when it ends.
 * - **TV-2 (plain when piped).** When stdout is not a terminal, every frame
 *   is plain text (no escape sequence) followed by one blank line.
 * - **TV-3 (clean exit).** Ctrl-C (SIGINT) or SIGTERM ends it with exit 0:
 *   the current frame wait is cut short, the cursor is restored, the actor
 *   runtime is shut down.
 *
 * @module
 */

import { context, shutdownContext } from "../actor/context.ts";
import { request } from "../actor/request.ts";
import type { Context } from "../actor/types.ts";
import { delay } from "@std/async/delay";
import { type AdminNode, spawnAdmin } from "../mesh/admin.ts";
import { type CommandSpec, msFlag, runCommand } from "./_args.ts";
import { sleepUnless, stopSignal } from "./_signals.ts";
import {
  formatMetrics,
  HOST_TIMEOUT_FLAG,
  MESHREF_POSITIONALS,
  statusTargets,
  useDaemonSecret,
} from "./status.ts";

/** What `top` accepts. */
export const TOP_SPEC: CommandSpec = {
  name: "top",
  summary: "Shows every host, proc and actor of a mesh with status, pid, uptime, RSS and " +
    "CPU, redrawn once a second until Ctrl-C.",
  flags: {
    once: { kind: "boolean", help: "Print one frame and exit (1 when a host did not answer)." },
    interval: { kind: "string", value: "MS", help: "Time between frames (default 1000)." },
    timeout: HOST_TIMEOUT_FLAG,
  },
  positionals: MESHREF_POSITIONALS,
  more: "Piped (not a terminal), it prints one plain frame per interval.\n" +
    "Example:\n  bootstrap.ts top 'host:tcp:10.0.0.5:26600@hosts=1/1'",
};

const STATUS_COLOURS: [RegExp, string][] = [
  [/^(Running|Attached|Idle|Processing)/, "\x1b[32m"],
  [/^(Failed|Unreachable)/, "\x1b[31m"],
  [/^(Stopped|Stopping|Killed)/, "\x1b[33m"],
];

function cell(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

/**
 * One frame of `top`: a header line, then one line per host, proc and
 * actor, indented by depth (plain text; colours only with `colour`).
 * @param title The first line (the mesh ref, say).
 * @param tree The admin tree.
 * @param options `colour`: ANSI colours for statuses; `now`: the clock text.
 * @returns The lines.
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { formatTopFrame } from "./top.ts";
 * const lines = formatTopFrame("m", {
 *   identity: "root", nodeType: "root", properties: {}, children: [{
 *     identity: "host:h", nodeType: "host", properties: { addr: "tcp:h:1", state: "Attached" },
 *     children: [{
 *       identity: "tcp:h:1,w-0", nodeType: "proc",
 *       properties: { name: "w-0", createRank: 0, status: "Running", pid: 42, uptimeMs: 65_000,
 *         rssBytes: 50_331_648, cpuTimeMs: 1250, cpuPercent: 3.5 },
 *       children: [{ identity: "tcp:h:1,w-0,greeter[0]", nodeType: "actor",
 *         properties: { type: "Greeter", status: "Running", messagesProcessed: 3, mailboxDepth: 0 },
 *         children: [] }],
 *     }],
 *   }, { identity: "host:g", nodeType: "error", properties: { addr: "tcp:g:1", message: "timeout" }, children: [] }],
 * }, { now: "12:00:00" });
 * assertEquals(lines[0], "m — 2 host(s), 1 proc(s): Running=1 — 12:00:00");
 * assertStringIncludes(lines[2], "host tcp:h:1");
 * assertStringIncludes(lines[3], "pid 42 up 1m05s rss 48.0MiB cpu 1.25s 3.5%");
 * assertStringIncludes(lines[4], "greeter[0] Greeter");
 * assertStringIncludes(lines[5], "Unreachable (timeout)");
 * ```
 */
export function formatTopFrame(
  title: string,
  tree: AdminNode,
  options: { colour?: boolean; now?: string } = {},
): string[] {
  const paint = (status: string) => {
    if (!options.colour) return status;
    const colour = STATUS_COLOURS.find(([re]) => re.test(status))?.[1];
    return colour === undefined ? status : `${colour}${status}\x1b[0m`;
  };
  const counts = new Map<string, number>();
  let procs = 0;
  const body: string[] = [];
  for (const host of tree.children) {
    const p = host.properties;
    if (host.nodeType === "error") {
      body.push(
        `${cell(`host ${p.addr ?? host.identity}`, 48)}${paint("Unreachable")} (${p.message})`,
      );
      continue;
    }
    body.push(`${cell(`host ${p.addr}`, 48)}${paint(String(p.state))} ${p.mode ?? ""}`.trimEnd());
    for (const proc of host.children) {
      const q = proc.properties;
      if (proc.nodeType === "error") {
        body.push(`  ${cell(proc.identity, 46)}${paint("Unreachable")} (${q.message})`);
        continue;
      }
      procs++;
      const status = String(q.status);
      const kind = /^[A-Za-z]+/.exec(status)?.[0] ?? status;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      const figures = typeof q.pid === "number"
        ? ` ${
          formatMetrics({
            pid: q.pid,
            uptimeMs: Number(q.uptimeMs ?? 0),
            rssBytes: Number(q.rssBytes ?? 0),
            cpuTimeMs: Number(q.cpuTimeMs ?? 0),
            cpuPercent: Number(q.cpuPercent ?? 0),
          })
        }`
        : "";
      body.push(
        `  ${cell(`rank ${q.createRank} ${q.name ?? proc.identity}`, 46)}${
          paint(status)
        }${figures}`,
      );
      for (const actor of proc.children) {
        const a = actor.properties;
        if (actor.nodeType === "error") {
          body.push(`    ${cell("(actors)", 44)}${paint("Unreachable")} (${a.message})`);
          continue;
        }
        const name = actor.identity.split(",").pop() ?? actor.identity;
        const stats = a.messagesProcessed === undefined
          ? ""
          : ` msgs ${a.messagesProcessed} mailbox ${a.mailboxDepth ?? 0}`;
        body.push(
          `    ${cell(`${name} ${a.type ?? ""}`.trimEnd(), 44)}${paint(String(a.status))}${stats}`,
        );
      }
    }
  }
  const summary = [...counts].map(([k, n]) => `${k}=${n}`).join(" ");
  const now = options.now ?? new Date().toISOString().slice(11, 19);
  return [
    `${title} — ${tree.children.length} host(s), ${procs} proc(s)${
      summary ? `: ${summary}` : ""
    } — ${now}`,
    "",
    ...body,
  ];
}

/** TV-1: a line cut to `width` visible columns (escape sequences kept whole). */
function fit(line: string, width: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\x1b") {
      const end = line.indexOf("m", i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}

/** The terminal's width, or no limit when it does not say (a pty of size 0). */
function terminalWidth(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : Infinity;
  } catch {
    return Infinity;
  }
}

async function getTree(
  cx: Context,
  admin: Awaited<ReturnType<typeof spawnAdmin>>,
  timeoutMs: number,
): Promise<AdminNode> {
  return await request<AdminNode>(cx, "GetTree", (reply) => {
    admin.send(cx, "GetTree", { reply: { port: reply, returnUndeliverable: false } });
  }, { timeoutMs: timeoutMs + 1_000 });
}

/**
 * Runs `top`.
 * @param args `[--once] [--interval MS] [--timeout MS] <meshref | addr…>`.
 * @returns 0 (after Ctrl-C/SIGTERM, or `--once` with every host up), 1
 * (`--once` with a host down, or a failure), 2 for bad arguments.
 */
export function run(args: string[]): Promise<number> {
  return runCommand(TOP_SPEC, args, async (parsed) => {
    const ref = statusTargets(parsed.positionals);
    const intervalMs = msFlag(parsed, "interval", 1_000);
    const timeoutMs = msFlag(parsed, "timeout", 5_000);
    useDaemonSecret(); // AU-6: the daemons' secret
    const tty = Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
    using stop = stopSignal(); // TV-3
    const cx = await context();
    if (tty && parsed.flags.once !== true) write("\x1b[?25l"); // TV-1: hide the cursor
    try {
      const admin = await spawnAdmin([ref], cx, { queryTimeoutMs: timeoutMs });
      while (!stop.signal.aborted) {
        const tree = await getTree(cx, admin, timeoutMs);
        const lines = formatTopFrame(`hypermesh top ${ref}`, tree, { colour: tty });
        if (parsed.flags.once === true) {
          write(`${lines.join("\n")}\n`);
          return tree.children.some((h) => h.nodeType === "error") ? 1 : 0;
        }
        if (tty) {
          const width = terminalWidth();
          write(`\x1b[H\x1b[2J${lines.map((l) => fit(l, width)).join("\n")}\n`); // TV-1
        } else {
          write(`${lines.join("\n")}\n\n`); // TV-2
        }
        await sleepUnless(intervalMs, stop.signal);
      }
      return 0; // TV-3
    } finally {
      if (tty && parsed.flags.once !== true) write("\x1b[?25h"); // TV-1: the cursor back
      await Promise.race([shutdownContext(), delay(1_000)]);
    }
  });
}
