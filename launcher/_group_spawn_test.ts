import { assert, assertEquals, assertThrows } from "@std/assert";
import { groupLeaderCommand, setsidProgram } from "./_group_spawn.ts";

async function psFields(pid: number): Promise<{ pgid: number; sid: number; comm: string }> {
  const out = await new Deno.Command("ps", { args: ["-o", "pgid=,sid=,comm=", "-p", String(pid)] })
    .output();
  const [pgid, sid, comm] = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  return { pgid: Number(pgid), sid: Number(sid), comm };
}

Deno.test("LN-3: a group leader's pid is the program's own pid, its group and its session", async () => {
  const leader = groupLeaderCommand("sleep", ["30"], { stdin: "null" });
  const child = new Deno.Command(leader.program, leader.options).spawn();
  try {
    // setsid() runs in the child after the spawn returned: wait until it has.
    let fields = await psFields(child.pid);
    for (let i = 0; i < 100 && (fields.comm !== "sleep" || fields.pgid !== child.pid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      fields = await psFields(child.pid);
    }
    assertEquals(fields, { pgid: child.pid, sid: child.pid, comm: "sleep" });
    Deno.kill(-child.pid, "SIGKILL");
    const status = await child.status;
    assertEquals(status.signal, "SIGKILL", "the exit status is the program's");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  }
});

Deno.test("setsid is used when installed; a missing program falls back to detached and fails the spawn", () => {
  const leader = groupLeaderCommand("sleep", ["1"], {});
  if (setsidProgram() !== null) {
    assertEquals(leader.program, setsidProgram());
    const args = leader.options.args as string[];
    assertEquals(args.length, 3);
    assertEquals([args[0], args[2]], ["--", "1"]);
    assert(args[1].endsWith("/sleep"), `sleep resolved through PATH: ${args[1]}`);
    assert(!leader.options.detached);
  } else {
    assertEquals(leader.options.detached, true);
  }
  const missing = groupLeaderCommand("/nonexistent/hypermesh-no-such-program", [], {});
  assertEquals(missing.program, "/nonexistent/hypermesh-no-such-program");
  assertEquals(missing.options.detached, true);
  assertThrows(
    () => new Deno.Command(missing.program, missing.options).spawn(),
    Deno.errors.NotFound,
  );
});
