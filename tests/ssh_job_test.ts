/**
 * The `ssh` job against a real OpenSSH server (`tests/_sshd_support.ts`: a
 * test-private `sshd` on a loopback port, keys made by the test), with the
 * system's `ssh` client: daemons started over ssh, attached, running actors;
 * shutdown; a killed ssh client takes its daemon and procs down (JB-3); an
 * unreachable host fails the job naming it (JB-1). Skipped with a message when
 * `sshd` is missing, except under `CI`.
 * @module
 */

import { assert, assertEquals, assertRejects } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { allocate, JobStartError } from "../mesh/job/job.ts";
import { SshJob, type SshJobOptions } from "../mesh/job/ssh.ts";
import { Extent } from "../ndslice/extent.ts";
import { haveSshd, startSshd, type TestSshd } from "./_sshd_support.ts";
import { survivors } from "./_support.ts";

const CI = (Deno.env.get("CI") ?? "") !== "";
const skip = !haveSshd() && !CI;
if (skip) {
  console.log("ssh job tests skipped (no /usr/sbin/sshd): apt-get install openssh-server");
}

function options(sshd: TestSshd, hosts: string[]): SshJobOptions {
  return {
    hosts,
    deno: Deno.execPath(),
    hostArgs: ["--command-worker"],
    identityFile: sshd.identityFile,
    sshOptions: sshd.sshOptions,
  };
}

/** The parent pid of `pid` (`ps`: other processes' /proc needs --allow-all). */
async function parentOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "ppid=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name:
    "JB-2, JB-4: an ssh job of two daemons over a real sshd is attached, runs actors, and shutdown ends the sessions",
  ignore: skip,
  fn: async () => {
    await using sshd = await startSshd();
    const cx = await context();
    try {
      const hosts = [`${sshd.user}@127.0.0.1:${sshd.port}`, `${sshd.user}@127.0.0.1:${sshd.port}`];
      const job = await allocate(cx, "ssh-job", new SshJob(options(sshd, hosts)), {
        timeoutMs: 60_000,
      });
      const sessions = job.pids;
      const procs = await job.ref.spawn(cx, "workers", Extent.unity());
      const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const replies = await greeters.call(cx, "Greet", { text: "ssh" }, { timeoutMs: 20_000 });
      const greetings = [...replies.values()] as Greeting[];
      assertEquals(greetings.length, 2, "JB-4: the remote daemons took the secret from stdin");
      for (const g of greetings) assert(g.actor.startsWith("tcp:127.0.0.1:"), g.actor);
      const daemons = await Promise.all(greetings.map((g) => parentOf(g.pid)));
      const report = await job.shutdown(cx);
      assertEquals(report.failed, []);
      assertEquals(
        await survivors([...sessions, ...daemons, ...greetings.map((g) => g.pid)]),
        [],
        "JB-2: no ssh client, daemon or proc survives the job's shutdown",
      );
    } finally {
      await shutdownContext();
    }
  },
});

Deno.test({
  name: "JB-3: killing the ssh client ends the session, and the daemon and its procs with it",
  ignore: skip,
  fn: async () => {
    await using sshd = await startSshd();
    const cx = await context();
    try {
      const job = await allocate(
        cx,
        "ssh-lifeline",
        new SshJob(options(sshd, [`${sshd.user}@127.0.0.1:${sshd.port}`])),
        { timeoutMs: 60_000, graceMs: 2_000 },
      );
      const procs = await job.ref.spawn(cx, "workers", Extent.unity());
      const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const replies = await greeters.call(cx, "Greet", { text: "x" }, { timeoutMs: 20_000 });
      const [greeting] = [...replies.values()] as Greeting[];
      const daemon = await parentOf(greeting.pid);
      const [session] = job.pids;
      Deno.kill(session, "SIGKILL"); // the client's end of the session is gone
      assertEquals(
        await survivors([daemon, greeting.pid], 20_000),
        [],
        "JB-3: the daemon and its proc exit when the ssh session ends",
      );
      await job.mesh.stop(cx).catch(() => {}); // the host is gone; just unwatch it
      await job[Symbol.asyncDispose]();
    } finally {
      await shutdownContext();
    }
  },
});

Deno.test({
  name: "JB-1: a machine whose ssh login fails fails the job, naming it and the ssh exit",
  ignore: skip,
  fn: async () => {
    await using sshd = await startSshd();
    const cx = await context();
    try {
      const good = `${sshd.user}@127.0.0.1:${sshd.port}`;
      const bad = `nobody-here@127.0.0.1:${sshd.port}`;
      const err = (await assertRejects(
        () =>
          allocate(cx, "ssh-bad", new SshJob(options(sshd, [good, bad])), { timeoutMs: 60_000 }),
        JobStartError,
      )) as JobStartError;
      assertEquals(err.failures.map((f) => f.host), [bad], `JB-1: ${err.message}`);
      assert(err.failures[0].reason.includes("code 255"), err.failures[0].reason);
    } finally {
      await shutdownContext();
    }
  },
});
