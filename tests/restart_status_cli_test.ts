/**
 * Restarts made visible (RS-6) through the command line: a rank of a real
 * process host is SIGKILLed twice and restarted in place; then `hypermesh
 * status` (run as a child process, with the owner's secret in a 0600 file)
 * shows the rank's restart count and last failure, and marks its former
 * incarnations superseded.
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { channelSecrets } from "../channel/secret.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import type { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import type { ProcMesh } from "../mesh/proc_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { Extent } from "../ndslice/extent.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { PERMISSIONS, ROOT, until, workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

const WAIT_MS = 20_000;

async function pid(cx: ClientInstance, mesh: ActorMesh, rank: number): Promise<number> {
  const replies = await mesh.call(cx, "Ping" as never, {} as never, { timeoutMs: WAIT_MS });
  const value = replies.values()[rank] as { pid: number } | CallError;
  if (value instanceof CallError) throw new Error(`rank ${rank}: ${value.message}`);
  return value.pid;
}

/** Proc names of rank 1, oldest first: the two former incarnations and the live one. */
interface Incarnations {
  former: string[];
  live: string;
  liveKey: string;
  rank0: string;
}

/**
 * A local process host with 2 procs under an on-failure policy; rank 1 is
 * SIGKILLed twice and restarted in place before `fn` runs.
 */
async function withTwiceRestarted(
  fn: (cx: ClientInstance, ref: HostMeshRef, names: Incarnations) => Promise<void>,
): Promise<void> {
  const previous = setUnhandledMeshFailureHook(() => {});
  const cx = await context();
  try {
    await using hosts = await HostMesh.local({ command: WORKER });
    const procs: ProcMesh = await hosts.ref.spawn(cx, "rs", Extent.of({ procs: 2 }), {
      restartPolicy: { restart: "on-failure", backoff: { initialMs: 10 } },
    });
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const former: string[] = [];
    for (const attempt of [1, 2]) {
      former.push(procs.rank(1).procId.name);
      Deno.kill(await pid(cx, crashers, 1), "SIGKILL");
      await until(
        () => procs.restarts()[1].restarts === attempt && !procs.restarts()[1].restarting,
        `restart ${attempt}`,
      );
    }
    await pid(cx, crashers, 1); // the live incarnation answers
    await fn(cx, hosts.ref, {
      former,
      live: procs.rank(1).procId.name,
      liveKey: procs.rank(1).procId.key,
      rank0: procs.rank(0).procId.name,
    });
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
    setUnhandledMeshFailureHook(previous);
  }
}

Deno.test("RS-6: hypermesh status shows a restarted rank's count and last failure and marks its former incarnations superseded", async () => {
  await withTwiceRestarted(async (_cx, ref, names) => {
    const dir = await Deno.makeTempDir({ prefix: "hypermesh-rs6-" });
    try {
      const secretFile = `${dir}/secret`;
      await Deno.writeTextFile(secretFile, channelSecrets()![0].toEnv(), { mode: 0o600 });
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          `${ROOT}deno.json`,
          ...PERMISSIONS,
          `${ROOT}bootstrap.ts`,
          "status",
          ref.toString(),
        ],
        env: { HYPERMESH_SECRET_FILE: secretFile },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const lines = stdout.split("\n");
      const line = (name: string) => {
        const found = lines.find((l) => l.endsWith(`,${name}`) || l.includes(`,${name}:`));
        if (found === undefined) throw new Error(`no line for ${name} in:\n${stdout}`);
        return found;
      };
      assertStringIncludes(
        line(names.live),
        ": Running (restarted 2×, last failure: Killed(sig=9))",
        "RS-6: the live incarnation shows the count and the last failure",
      );
      assertStringIncludes(
        line(names.former[0]),
        `(superseded by ${names.liveKey})`,
      );
      assertStringIncludes(
        line(names.former[1]),
        `(superseded by ${names.liveKey}) (restarted 1×, last failure: Killed(sig=9))`,
      );
      assert(line(names.former[0]).startsWith("  rank 1 "), "a former incarnation keeps its rank");
      const rank0 = line(names.rank0);
      // AW-1 appends the process's figures in brackets.
      assert(
        /: Running( \[pid \d+ [^\]]*\])?$/.test(rank0),
        `rank 0 was never restarted: ${rank0}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
