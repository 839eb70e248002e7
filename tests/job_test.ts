/**
 * The job layer (`mesh/job/`) with the `local` engine: real host daemons
 * (`bootstrap.ts host --secret-stdin --stdin-lifeline`), real procs.
 */
import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { allocate, type HostJob, JobStartError } from "../mesh/job/job.ts";
import { LocalJob } from "../mesh/job/local.ts";
import { Extent } from "../ndslice/extent.ts";
import { survivors } from "./_support.ts";

Deno.test("JB-2, JB-4: a local job of two daemons is attached, runs actors, and shutdown leaves no process", async () => {
  const cx = await context();
  try {
    const job = await allocate(
      cx,
      "local-job",
      new LocalJob({ hosts: 2, hostArgs: ["--command-worker"] }),
      {
        timeoutMs: 60_000,
      },
    );
    const daemons = job.pids;
    assertEquals(job.hostNames, ["local#0", "local#1"]);
    const procs = await job.ref.spawn(cx, "workers", Extent.unity());
    const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
    const replies = await greeters.call(cx, "Greet", { text: "job" }, { timeoutMs: 20_000 });
    const greetings = [...replies.values()] as Greeting[];
    assertEquals(greetings.length, 2, "JB-4: the daemons took the client's secret from stdin");
    for (const g of greetings) assert(g.actor.startsWith("tcp:localhost:"), g.actor);
    const report = await job.shutdown(cx);
    assertEquals(report.failed, []);
    assertEquals(report.killed, 0, "JB-2: the daemons exit by themselves after ShutdownHost");
    assertEquals(
      await survivors([...daemons, ...greetings.map((g) => g.pid)]),
      [],
      "JB-2: no daemon or proc survives the job's shutdown",
    );
  } finally {
    await shutdownContext();
  }
});

Deno.test("JB-1: a host that exits before ready fails the job naming it; the others are ended", async () => {
  const cx = await context();
  try {
    const good = new LocalJob({ hosts: 1 });
    const pidFile = await Deno.makeTempFile({ prefix: "hm_job_pid_" });
    const job: HostJob = {
      engine: "test",
      daemons: (hostArgs) => [
        // The good host records its pid, then becomes the daemon (exec keeps the pid).
        ...good.daemons(hostArgs).map((spec) => ({
          ...spec,
          command: ["sh", "-c", `echo $$ > ${pidFile}; exec "$@"`, "sh", ...spec.command],
        })),
        { name: "broken-host", command: ["sh", "-c", "echo no deno here >&2; exit 127"] },
      ],
    };
    const err = (await assertRejects(
      () => allocate(cx, "bad", job, { timeoutMs: 60_000 }),
      JobStartError,
    )) as JobStartError;
    assertEquals(err.failures.map((f) => f.host), ["broken-host"], `JB-1: ${err.message}`);
    assert(err.failures[0].reason.includes("code 127"), err.failures[0].reason);
    assert(
      err.failures[0].reason.includes("no deno here"),
      "JB-1: the stderr tail is in the reason",
    );
    const goodPid = Number((await Deno.readTextFile(pidFile)).trim());
    assert(goodPid > 0);
    assertEquals(await survivors([goodPid]), [], "JB-1: the host that came up was ended");
    await Deno.remove(pidFile);
  } finally {
    await shutdownContext();
  }
});

Deno.test("JB-1: a host that never prints ready fails the job within the timeout, naming it", async () => {
  const cx = await context();
  try {
    const job: HostJob = {
      engine: "test",
      daemons: () => [{ name: "silent-host", command: ["sleep", "60"] }],
    };
    const started = performance.now();
    const err = (await assertRejects(
      () => allocate(cx, "silent", job, { timeoutMs: 500, graceMs: 500 }),
      JobStartError,
    )) as JobStartError;
    assertInstanceOf(err, JobStartError);
    assertEquals(err.failures, [{
      host: "silent-host",
      reason: "did not print ready within 500 ms",
    }]);
    assert(performance.now() - started < 30_000, "JB-1: bounded by the timeout and the grace");
  } finally {
    await shutdownContext();
  }
});
