/**
 * The command line as a user meets it: the real `bootstrap.ts` run as a
 * child process, checked by exit code, stream and message (`cli/_args.ts`:
 * 0 ok, 1 runtime failure, 2 usage; errors are one human line unless
 * `HYPERMESH_DEBUG=1`).
 * @module
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { PERMISSIONS, ROOT } from "./_support.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", `${ROOT}deno.json`, ...PERMISSIONS, `${ROOT}bootstrap.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  // The insecure-mode warning is not what these tests look at.
  const stderr = text(out.stderr).split("\n").filter((l) => !l.includes("WARNING")).join("\n");
  return { code: out.code, stdout: text(out.stdout), stderr };
}

function noStack(run: Run): void {
  assert(!/^\s+at /m.test(run.stderr), `no stack trace:\n${run.stderr}`);
  assert(!/\b[A-Z][A-Za-z]*Error:/.test(run.stderr), `no class names:\n${run.stderr}`);
}

Deno.test("CLI: help for the program and for every subcommand goes to stdout, exit 0", async () => {
  const top = await cli(["--help"]);
  assertEquals(top.code, 0);
  assertStringIncludes(top.stdout, "Subcommands (each takes --help):");
  assertStringIncludes(top.stdout, "Exit codes: 0 ok, 1 runtime failure, 2 usage.");
  for (const sub of ["demo", "host", "status", "top", "admin"]) {
    const help = await cli([sub, "--help"]);
    assertEquals([help.code, help.stderr.trim()], [0, ""], sub);
    assertStringIncludes(help.stdout, `Usage: bootstrap.ts ${sub} [flags]`);
    assertStringIncludes(help.stdout, "--help");
  }
});

Deno.test("CLI: an unknown subcommand, flag or stray argument is one line on stderr, the usage, exit 2", async () => {
  const cases: [string[], string][] = [
    [["nope"], 'unknown subcommand "nope"'],
    [["demo", "--host", "3"], "demo: unknown flag --host (did you mean --hosts?)"],
    [["demo", "--procs", "abc"], 'demo: --procs must be an integer from 1 to 64, not "abc"'],
    [["demo", "--hosts", "0"], 'demo: --hosts must be an integer from 1 to 64, not "0"'],
    [["demo", "extra"], 'demo: unexpected argument "extra"'],
    [["demo", "--launcher", "docker"], 'demo: --launcher must be native or systemd, not "docker"'],
    [["host"], "host: --addr is required"],
    [["host", "--addr", "bogus"], "host: --addr: Cannot parse channel address"],
    [["status"], "status: missing <meshref>"],
    [["status", "nonsense"], 'status: "nonsense" is neither a mesh ref'],
    [["top"], "top: missing <meshref>"],
    [["top", "--interval", "0", "tcp:127.0.0.1:1"], "top: --interval must be an integer"],
    [["admin", "--addr", "bogus", "tcp:127.0.0.1:1"], "admin: --addr: Invalid admin address"],
    [["demo", "--admin-addr", "127.0.0.1:0"], "demo: --admin-addr needs --admin"],
  ];
  for (const [args, first] of cases) {
    const run = await cli(args);
    assertEquals(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assertEquals(run.stdout, "", `${args.join(" ")}: nothing on stdout`);
    assert(run.stderr.startsWith(first), `${args.join(" ")}: ${run.stderr.split("\n")[0]}`);
    assertStringIncludes(run.stderr, "Usage: ", "the usage follows");
    noStack(run);
  }
});

Deno.test("CLI: a runtime failure is one human line and exit 1; HYPERMESH_DEBUG=1 adds the stack", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const args = ["host", "--addr", `tcp:127.0.0.1:${busy.addr.port}`, "--insecure"];
  const run = await cli(args);
  assertEquals(run.code, 1);
  assertEquals(
    run.stderr.trim(),
    `host: Cannot serve "tcp:127.0.0.1:${busy.addr.port}": address in use`,
  );
  noStack(run);
  const debug = await cli(args, { HYPERMESH_DEBUG: "1" });
  assertEquals(debug.code, 1);
  assertMatch(debug.stderr, /HostError: Cannot serve/);
  assertMatch(debug.stderr, /^\s+at /m);
});

Deno.test("CLI: admin on a busy address is one human line and exit 1", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const run = await cli(["admin", "--addr", `127.0.0.1:${busy.addr.port}`, "tcp:127.0.0.1:1"]);
  assertEquals(run.code, 1, run.stderr);
  assert(
    run.stderr.startsWith(`admin: Cannot serve the mesh admin at 127.0.0.1:${busy.addr.port}`),
    run.stderr,
  );
  noStack(run);
});

Deno.test("CLI: status exits 1 and names the host that did not answer; --json for scripts", async () => {
  using closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `tcp:127.0.0.1:${closed.addr.port}`;
  closed.close();
  const run = await cli(["status", "--json", "--timeout", "300", addr]);
  assertEquals(run.code, 1);
  assertStringIncludes(run.stderr, `status: host 0 ${addr} did not answer`);
  const report = JSON.parse(run.stdout);
  assertEquals(
    report.hosts.map((h: { addr: string; reachable: boolean }) => [h.addr, h.reachable]),
    [
      [addr, false],
    ],
  );
});

Deno.test("CLI: demo --json prints the mesh ref and the replies as one JSON object; progress on stderr", async () => {
  const run = await cli(["demo", "--hosts", "1", "--procs", "2", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assertEquals(report.ok, true);
  assertEquals(report.replies.length, 2);
  assertEquals(HostMeshRef.parse(report.meshRef).hosts.length, 1, "a pasteable mesh ref");
  assertEquals(report.teardown.failed, 0);
  assertStringIncludes(run.stderr, "procs up 2/2");
  assertStringIncludes(run.stderr, "actors up 2/2");
  assertStringIncludes(run.stderr, `host mesh ${report.meshRef}`);
});
