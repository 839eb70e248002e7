/**
 * The Slurm job against a real single-machine Slurm cluster (munged,
 * slurmctld and two slurmd daemons — nodes n1 and n2 — from Debian's
 * `slurm-wlm`/`munge`, configured by `tests/support/slurm.sh`): `sbatch`, `scontrol`, `srun`, `scancel` for real.
 * The cluster named by `SLURM_CONF` is used when it is that script's (`.ci/run`
 * starts one); otherwise each test starts the private cluster and stops it
 * (a real cluster of `SLURM_CONF` is never submitted to). Skipped only when
 * the Slurm commands are not installed (`apt-get install slurm-wlm munge`).
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { CHANNEL_SECRET_ENV } from "../channel/secret.ts";
import { allocate, JobStartError } from "../mesh/job/job.ts";
import { SlurmJob, SlurmJobError } from "../mesh/job/slurm.ts";
import { Extent } from "../ndslice/extent.ts";
import { PERMISSIONS, ROOT, survivors } from "./_support.ts";

function installed(): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", "command -v sbatch && command -v slurmctld"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

const skip = !installed();
if (skip) {
  console.log("slurm job tests skipped (no sbatch/slurmctld): apt-get install slurm-wlm munge");
}

async function sh(script: string): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command("sh", { args: ["-c", script] }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** Whether `SLURM_CONF` names a cluster of `tests/support/slurm.sh` (never a real one). */
function ownCluster(): boolean {
  const conf = Deno.env.get("SLURM_CONF");
  try {
    return conf !== undefined && Deno.readTextFileSync(conf).includes("\nClusterName=hypermesh\n");
  } catch {
    return false;
  }
}

/** Runs `fn` with the test cluster: the running one (`.ci/run`), else one started for it. */
async function withCluster(fn: () => Promise<void>): Promise<void> {
  if (ownCluster()) return await fn();
  const outer = Deno.env.get("SLURM_CONF");
  const started = await sh(`bash ${ROOT}tests/support/slurm.sh start`);
  assertEquals(started.code, 0, `cannot start the test cluster: ${started.err}`);
  Deno.env.set("SLURM_CONF", started.out.trim().replace(/^export SLURM_CONF=/, ""));
  try {
    await fn();
  } finally {
    if (outer !== undefined) Deno.env.set("SLURM_CONF", outer);
    else Deno.env.delete("SLURM_CONF");
    // Stop only a cluster this test started (not one it found running).
    if (!started.err.includes("reusing")) await sh(`bash ${ROOT}tests/support/slurm.sh stop`);
  }
}

/** The job ids in the queue (pending, running, completing). */
async function queued(): Promise<string[]> {
  const { out } = await sh("squeue -h -o %i");
  return out.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Waits until `id` left the queue. */
async function leftQueue(id: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!(await queued()).includes(id)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The parent pid of `pid` (`ps`). */
async function parentOf(pid: number): Promise<number> {
  return Number((await sh(`ps -o ppid= -p ${pid}`)).out.trim());
}

Deno.test({
  name:
    "JB-5, JB-6, JB-8: a two-node Slurm job runs a daemon step per node, runs actors; shutdown cancels the job and leaves no process",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const cx = await context();
      try {
        const slurm = new SlurmJob({ nodes: 2, hostArgs: ["--command-worker"], time: "10" });
        const job = await allocate(cx, "slurm-job", slurm, { timeoutMs: 60_000 });
        const id = slurm.jobId!;
        assertEquals((await sh(`squeue -h -j ${id} -o "%T %D"`)).out.trim(), "RUNNING 2");
        assertEquals(slurm.nodes, ["n1", "n2"]);
        assertEquals(job.hostNames, ["n1", "n2"]);
        const sruns = job.pids;
        const comment = (await sh(`squeue -h -j ${id} -o %k`)).out.trim();
        assertEquals(comment, "hypermesh:steps-started", "JB-7: the steps marked the job");
        const procs = await job.ref.spawn(cx, "workers", Extent.unity());
        const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
        const replies = await greeters.call(cx, "Greet", { text: "slurm" }, { timeoutMs: 20_000 });
        const greetings = [...replies.values()] as Greeting[];
        assertEquals(greetings.length, 2, "JB-4: both steps took the secret from stdin");
        const daemons = await Promise.all(greetings.map((g) => parentOf(g.pid)));
        const nodes = new Set<string>();
        for (const [i, g] of greetings.entries()) {
          assert(g.actor.startsWith("tcp:127.0.0.1:"), `advertised at NodeAddr: ${g.actor}`);
          const env = (await sh(`tr '\\0' '\\n' < /proc/${daemons[i]}/environ`)).out;
          assert(env.includes(`SLURM_JOB_ID=${id}\n`), "the daemon runs as a step of the job");
          assert(!env.includes(`${CHANNEL_SECRET_ENV}=`), "JB-8: no secret in the step's env");
          nodes.add(/^SLURMD_NODENAME=(.*)$/m.exec(env)?.[1] ?? "?");
        }
        assertEquals([...nodes].sort(), ["n1", "n2"], "one daemon per node");
        const report = await job.shutdown(cx);
        assertEquals(report.failed, []);
        assertEquals(
          await survivors([...sruns, ...daemons, ...greetings.map((g) => g.pid)]),
          [],
          "JB-2: no srun, daemon or proc survives the job's shutdown",
        );
        assert(!(await queued()).includes(id), "JB-6: the job left the queue");
      } finally {
        await shutdownContext();
      }
    }),
});

Deno.test({
  name:
    "JB-5: a job asking more nodes than the partition has, or a partition that does not exist, fails with SlurmJobError",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const cx = await context();
      try {
        const big = new SlurmJob({ nodes: 64 });
        const err = await assertRejects(
          () => allocate(cx, "slurm-big", big, { timeoutMs: 60_000 }),
          SlurmJobError,
        );
        assertEquals(err.jobId, big.jobId);
        assertEquals(err.state, "PENDING");
        assertEquals(err.reason, "PartitionConfig");
        assert(err.message.startsWith(`Cannot start slurm job ${big.jobId}: `), err.message);
        assert(!(await queued()).includes(big.jobId!), "JB-6: the hopeless job was cancelled");

        const nowhere = new SlurmJob({ partition: "no-such-partition" });
        const refused = await assertRejects(
          () => allocate(cx, "slurm-nowhere", nowhere, { timeoutMs: 60_000 }),
          SlurmJobError,
        );
        assertEquals(refused.state, "REJECTED");
        assert(refused.reason.includes("partition"), refused.reason);
        assertEquals(nowhere.jobId, undefined);
      } finally {
        await shutdownContext();
      }
    }),
});

Deno.test({
  name:
    "JB-1, JB-6: a daemon that cannot start on its node fails the job naming the node; the job is cancelled",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const cx = await context();
      try {
        const slurm = new SlurmJob({ deno: "/nonexistent/deno" });
        const err = (await assertRejects(
          () => allocate(cx, "slurm-broken", slurm, { timeoutMs: 60_000 }),
          JobStartError,
        )) as JobStartError;
        assertEquals(err.failures.map((f) => f.host), slurm.nodes, `JB-1: ${err.message}`);
        assert(!(await queued()).includes(slurm.jobId!), "JB-6: the job was cancelled");
      } finally {
        await shutdownContext();
      }
    }),
});

Deno.test({
  name:
    "JB-3, JB-7: a client killed with SIGKILL takes its daemon and procs down (srun forwards stdin's EOF) and the keeper ends the job",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const client = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          `${ROOT}deno.json`,
          ...PERMISSIONS,
          `${ROOT}tests/fixtures/slurm_job_client.ts`,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = client.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const { jobId, sruns, proc } = JSON.parse(text) as {
        jobId: string;
        sruns: number[];
        proc: number;
      };
      const daemon = await parentOf(proc);
      client.kill("SIGKILL");
      await client.status;
      await reader.cancel();
      try {
        const left = await survivors([...sruns, daemon, proc], 30_000);
        const ps = left.length > 0
          ? (await sh(`ps -o pid,ppid,stat,args -p ${left.join(",")}`)).out
          : "";
        assertEquals(
          left,
          [],
          `JB-3: the srun steps, the daemon and its proc exit once the client is gone\n${ps}`,
        );
        const gone = await leftQueue(jobId, 30_000);
        const steps = gone ? "" : (await sh(`squeue -s -j ${jobId} -o "%i %j %T"`)).out;
        assert(gone, `JB-7: the keeper ended the allocation\n${steps}`);
      } finally {
        await sh(`scancel ${jobId}`); // after a failure: do not hold the nodes for the next test
        await leftQueue(jobId, 30_000);
      }
    }),
});

Deno.test({
  name:
    "JB-3: an srun killed with SIGKILL ends its step (srun's shepherd cancels it): the daemon and its procs exit",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const cx = await context();
      try {
        const slurm = new SlurmJob({ hostArgs: ["--command-worker"] });
        const job = await allocate(cx, "slurm-srun-killed", slurm, { timeoutMs: 60_000 });
        const procs = await job.ref.spawn(cx, "workers", Extent.unity());
        const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
        const replies = await greeters.call(cx, "Greet", { text: "x" }, { timeoutMs: 20_000 });
        const [greeting] = [...replies.values()] as Greeting[];
        const daemon = await parentOf(greeting.pid);
        const [srun] = job.pids;
        Deno.kill(srun, "SIGKILL");
        assertEquals(
          await survivors([daemon, greeting.pid], 30_000),
          [],
          "JB-3: the daemon and its proc exit when their srun is killed",
        );
        await job.mesh.stop(cx).catch(() => {}); // the host is gone; just unwatch it
        await job[Symbol.asyncDispose]();
        assert(!(await queued()).includes(slurm.jobId!), "JB-6: disposal cancelled the job");
      } finally {
        await shutdownContext();
      }
    }),
});

Deno.test({
  name:
    "JB-6: the README's Slurm recipe (examples/job.ts slurm 2 debug) greets from both nodes and leaves no job",
  ignore: skip,
  fn: () =>
    withCluster(async () => {
      const before = await queued();
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...PERMISSIONS, `${ROOT}examples/job.ts`, "slurm", "2", "debug"],
        cwd: ROOT,
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(text.match(/^rank \d: hello slurm from tcp:127\.0\.0\.1:/gm)?.length, 4, text);
      assertEquals(await queued(), before, "JB-6: the example's job left the queue");
    }),
});

Deno.test("JB-9: a SlurmJob acquires once; daemons need the allocation; sbatch missing is a SlurmJobError", async () => {
  const slurm = new SlurmJob({ slurmBin: "/nonexistent/slurm/bin" });
  assertEquals(slurm.jobId, undefined);
  const err = await assertRejects(() => slurm.acquire(), SlurmJobError);
  assertEquals(err.state, "REJECTED");
  assert(err.message.startsWith("Cannot submit slurm job: sbatch refused it ("), err.message);
  await assertRejects(() => slurm.acquire(), Error, "acquired before");
  let thrown: unknown;
  try {
    slurm.daemons((addr) => ["host", "--addr", addr]);
  } catch (error) {
    thrown = error;
  }
  assert(thrown instanceof Error && thrown.message.includes("not acquired"), String(thrown));
  await slurm.release(); // nothing was submitted: a no-op
});
