/**
 * The fleet from the command line, against a real 2×2 process mesh owned by
 * this test: `bootstrap.ts top` (TV-1..TV-3) — `--once` prints one plain
 * frame with every host, proc and actor; piped, it prints plain frames once
 * per interval and exits 0 on SIGTERM and on SIGINT — and `bootstrap.ts
 * admin` (AW-5, AW-6) serves the admin API of a mesh it does not own on
 * loopback, prints its address and token, writes the token file 0600, and
 * exits 0 on SIGTERM.
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { channelSecrets } from "../channel/secret.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { PERMISSIONS, ROOT, workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

/** The part of an admin tree node the demo test reads. */
interface AdminNodeLike {
  properties: Record<string, unknown>;
}
// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b/;

async function pids(cx: ClientInstance, mesh: ActorMesh): Promise<number[]> {
  const replies = await mesh.call(cx, "Ping" as never, {} as never, { timeoutMs: 20_000 });
  return replies.values().map((v) => {
    if (v instanceof CallError) throw v;
    return (v as { pid: number }).pid;
  });
}

/** A CLI child whose stdout is read as it comes. */
class Cli {
  readonly child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  out = "";
  constructor(args: string[], secretFile: string) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", `${ROOT}deno.json`, ...PERMISSIONS, `${ROOT}bootstrap.ts`, ...args],
      env: { HYPERMESH_SECRET_FILE: secretFile },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reader = this.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.child.stderr).text();
  }
  /** Reads stdout until `pred` holds (30 s at most). */
  async until(pred: (out: string) => boolean, what: string): Promise<string> {
    const end = Date.now() + 30_000;
    while (!pred(this.out)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: not within 30 s; stdout:\n${this.out}`)),
          Math.max(1, end - Date.now()),
        );
      });
      try {
        const { value, done } = await Promise.race([this.#reader.read(), timeout]);
        if (done) throw new Error(`${what}: stdout ended:\n${this.out}\n${await this.#stderr}`);
        this.out += value;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.out;
  }
  /** Reads the rest and the exit status. */
  async finish(): Promise<{ code: number; out: string; err: string }> {
    while (true) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      this.out += value;
    }
    const { code } = await this.child.status;
    return { code, out: this.out, err: await this.#stderr };
  }
}

Deno.test("TV-1, TV-2, TV-3, AW-5, AW-6: top prints plain frames of every host, proc and actor and exits 0 on SIGTERM/SIGINT; admin serves a mesh it does not own", async () => {
  const cx = await context();
  const dir = await Deno.makeTempDir({ prefix: "hypermesh-tv-" });
  try {
    await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), WORKER);
    const procs = await hosts.spawn(cx, "tv", Extent.of({ procs: 2 }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const procPids = await pids(cx, crashers);
    const secretFile = `${dir}/secret`;
    await Deno.writeTextFile(secretFile, channelSecrets()![0].toEnv(), { mode: 0o600 });
    const ref = hosts.ref.toString();

    // --once: one plain frame, every host, proc (with its pid) and actor.
    const once = await new Cli(["top", "--once", ref], secretFile).finish();
    assertEquals(once.code, 0, once.err);
    assert(!ESCAPE.test(once.out), "TV-2: no escapes when piped");
    const lines = once.out.trimEnd().split("\n");
    assertMatch(lines[0], /2 host\(s\), 4 proc\(s\): Running=4/);
    assertEquals(lines.filter((l) => l.startsWith("host ")).length, 2);
    for (const pid of procPids) assertStringIncludes(once.out, `pid ${pid} up `);
    assertEquals(
      lines.filter((l) => /^ {4}crasher\[0\] test::sv::Crasher +(Idle|Processing) msgs \d+/.test(l))
        .length,
      4,
    );

    // Piped without --once: a frame per interval, exit 0 on SIGTERM and on SIGINT.
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const top = new Cli(["top", "--interval", "100", ref], secretFile);
      await top.until((out) => out.split("hypermesh top ").length > 2, "two frames");
      top.child.kill(signal);
      const { code, out, err } = await top.finish();
      assertEquals(code, 0, `TV-3 (${signal}): ${err}`);
      assert(!ESCAPE.test(out), "TV-2");
      assert(out.split("\n\n").length >= 3, "TV-2: frames end with a blank line");
    }

    // TV-1, TV-3 on a real terminal (a pty from util-linux `script`): clear + redraw,
    // the cursor hidden then shown again, exit 0 on SIGINT.
    const command = [Deno.execPath(), "run", "--config", `${ROOT}deno.json`, ...PERMISSIONS]
      .concat([`${ROOT}bootstrap.ts`, "top", "--interval", "100", ref])
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const pty = new Deno.Command("script", {
      args: ["-qfec", `exec ${command}`, "/dev/null"],
      env: { HYPERMESH_SECRET_FILE: secretFile, COLUMNS: "200", LINES: "50" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const ptyOut = pty.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const ptyErr = new Response(pty.stderr).text();
    let screen = "";
    while (screen.split("\x1b[H\x1b[2J").length <= 2) {
      const { value, done } = await ptyOut.read();
      if (done) throw new Error(`top on a pty ended early:\n${screen}\n${await ptyErr}`);
      screen += value;
    }
    assertStringIncludes(screen, "\x1b[?25l", "TV-1: the cursor is hidden");
    assertStringIncludes(screen, "\x1b[32mRunning\x1b[0m", "TV-1: statuses in colour");
    const ps = await new Deno.Command("ps", { args: ["-o", "pid=", "--ppid", String(pty.pid)] })
      .output();
    const topPid = Number(new TextDecoder().decode(ps.stdout).trim());
    assert(topPid > 0, "top's pid under script");
    Deno.kill(topPid, "SIGINT");
    while (true) {
      const { value, done } = await ptyOut.read();
      if (done) break;
      screen += value;
    }
    await pty.stdin.close();
    const ptyStatus = await pty.status;
    assertEquals(ptyStatus.code, 0, `TV-3 on a pty: ${await ptyErr}`);
    assert(screen.trimEnd().endsWith("\x1b[?25h"), "TV-1: the cursor is shown again");
    await ptyErr;

    // admin: serves the mesh on loopback, token printed and written 0600.
    const tokenFile = `${dir}/token`;
    const admin = new Cli(
      ["admin", "--addr", "127.0.0.1:0", "--token-file", tokenFile, ref],
      secretFile,
    );
    const shown = await admin.until((out) => /^page .*\n/m.test(out), "admin urls");
    const url = /^admin (\S+)$/m.exec(shown)![1];
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+$/, "AW-6");
    const token = /#token=([0-9a-f]+)$/m.exec(shown)![1];
    assertEquals((await Deno.readTextFile(tokenFile)).trim(), token);
    assertEquals((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);
    const denied = await fetch(`${url}/v1/tree`);
    assertEquals([denied.status, await denied.json()], [401, { error: "unauthorized" }], "AW-5");
    const res = await fetch(`${url}/v1/tree`, { headers: { authorization: `Bearer ${token}` } });
    assertEquals(res.status, 200);
    const tree = await res.json();
    assertEquals(tree.children.flatMap((h: { children: unknown[] }) => h.children).length, 4);
    admin.child.kill("SIGTERM");
    const ended = await admin.finish();
    assertEquals(ended.code, 0, ended.err);
    await hosts.shutdown(cx);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await shutdownContext();
  }
});

Deno.test("AW-5, AW-6: demo --admin serves its mesh on loopback, prints the page with the token, and shuts the mesh down with exit 0 on SIGINT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypermesh-demo-admin-" });
  try {
    const secretFile = `${dir}/secret`;
    await Deno.writeTextFile(secretFile, "0123456789abcdef0123456789abcdef\n", { mode: 0o600 });
    const demo = new Cli(
      ["demo", "--hosts", "1", "--procs", "2", "--admin", "--admin-addr", "127.0.0.1:0"],
      secretFile,
    );
    const shown = await demo.until((out) => /^page .*\n/m.test(out), "demo admin urls");
    const url = /^admin (\S+)$/m.exec(shown)![1];
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+$/, "AW-6");
    const token = /#token=([0-9a-f]+)$/m.exec(shown)![1];
    const denied = await fetch(`${url}/v1/hosts`);
    assertEquals(denied.status, 401, "AW-5");
    await denied.body?.cancel();
    const res = await fetch(`${url}/v1/tree`, { headers: { authorization: `Bearer ${token}` } });
    const tree = await res.json();
    assertEquals(tree.children[0].children.map((p: AdminNodeLike) => p.properties.status), [
      "Running",
      "Running",
    ]);
    demo.child.kill("SIGINT");
    const { code, out, err } = await demo.finish();
    assertEquals(code, 0, err);
    assertMatch(out, /^teardown: .*failed 0/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
