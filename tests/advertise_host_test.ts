/**
 * Addresses that travel (AD-1..AD-3) through the real host daemon:
 * `bootstrap.ts host --addr tcp:localhost:0` keeps the name in the host's
 * identity, is reachable by it, and `0.0.0.0` is refused with a hint.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { UnadvertisableAddrError } from "../channel/advertise.ts";
import { Host } from "../host/host.ts";
import { HostError } from "../host/errors.ts";
import { LocalProcManager } from "../host/local_proc_manager.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { GREETER_TYPE } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS } from "../cli/worker.ts";
import { readFirstLine } from "./_support.ts";

const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;

function daemon(args: string[], stdout: "piped" | "null" = "piped"): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...WORKER_PERMISSIONS, BOOTSTRAP, "host", ...args],
    stdin: "null",
    stdout,
    stderr: "piped",
  }).spawn();
}

/** Starts a daemon; resolves with its `ready` address once it serves. */
async function startDaemon(args: string[]) {
  const child = daemon([...args, "--command-worker"]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await readFirstLine(reader);
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const stderr = new Response(child.stderr).text();
  const m = /^ready (\S+)/.exec(first);
  if (!m) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`daemon did not start: ${first} ${await stderr}`);
  }
  return { child, addr: m[1], drained, stderr };
}

Deno.test("AD-2, AD-3: a daemon advertised as tcp:localhost:PORT is attached by that name and its procs carry it", async () => {
  const readyDir = await Deno.makeTempDir({ prefix: "hm_ready_" });
  const readyFile = `${readyDir}/ready`;
  const named = await startDaemon(["--addr", "tcp:localhost:0", "--ready-file", readyFile]);
  const bound = await startDaemon(["--addr", "tcp:localhost:0", "--bind", "tcp:127.0.0.1:0"]);
  try {
    for (const d of [named, bound]) {
      assert(/^tcp:localhost:\d+$/.test(d.addr), `AD-2: ready line names the host: ${d.addr}`);
    }
    assertEquals(
      await Deno.readTextFile(readyFile),
      `${named.addr}\n`,
      "--ready-file once serving",
    );
    const cx = await context();
    const mesh = await HostMesh.attach(cx, "named", [named.addr, bound.addr]);
    const procs = await mesh.ref.spawn(cx, "workers", Extent.unity());
    const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
    const replies = await greeters.call(cx, "Greet", { text: "hi" }, { timeoutMs: 20_000 });
    const actors = [...replies.values()].map((r) => (r as { actor: string }).actor).sort();
    assertEquals(actors.length, 2);
    for (const [i, d] of [named, bound].entries()) {
      assert(
        actors.some((a) => a.startsWith(`${d.addr},`)),
        `AD-2: host ${i}'s actor ids start with its advertised name ${d.addr}: ${actors}`,
      );
    }
    const report = await mesh.shutdown(cx);
    assertEquals(report.failed, []);
    const codes = await Promise.all([named, bound].map((d) => d.child.status));
    assertEquals(codes.map((s) => s.code), [0, 0], "daemons exit 0 after the mesh's shutdown");
    await assertRejects(() => Deno.stat(readyFile), Deno.errors.NotFound, undefined, "removed");
  } finally {
    for (const d of [named, bound]) {
      try {
        d.child.kill("SIGKILL");
      } catch { /* exited */ }
      await d.child.status;
      await d.drained;
      await d.stderr;
    }
    await shutdownContext();
    await Deno.remove(readyDir, { recursive: true });
  }
});

Deno.test("AD-1: `bootstrap.ts host --addr tcp:0.0.0.0:PORT` exits 2 saying what to use instead", async () => {
  for (const addr of ["tcp:0.0.0.0:0", "tcp:[::]:26600"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...WORKER_PERMISSIONS, BOOTSTRAP, "host", "--addr", addr],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, stderr);
    assertStringIncludes(stderr, `Cannot advertise "${addr}"`, "AD-1: names the address");
    assertStringIncludes(stderr, "--bind", "AD-1: says to bind separately");
  }
});

Deno.test("AD-1: Host.serve refuses an unspecified front-end address before binding anything", async () => {
  const manager = new LocalProcManager((proc) => proc.spawn("agent", { handlers: {} }));
  try {
    const err = await assertRejects(() => Host.serve(manager, "tcp:0.0.0.0:0"), HostError);
    assertInstanceOf(err.cause, UnadvertisableAddrError, "AD-1: the cause is typed");
  } finally {
    await manager[Symbol.asyncDispose]();
  }
});
