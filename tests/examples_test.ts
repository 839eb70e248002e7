/**
 * The README's example runs as written: two host processes, four procs, a
 * call answered by every greeter, and a teardown that leaves no process.
 */
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;
const PERMISSIONS = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

async function descendantsOf(pid: number): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,stat=,args="] }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((line) => line.includes("greeter_worker.ts") && !/^\s*\d+\s+\d+\s+Z/.test(line))
    .filter((line) => line.trim().length > 0 && pid > 0);
}

Deno.test("MC-1: examples/greeter.ts: every greeter answers the call and nothing is left running", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, `${ROOT}examples/greeter.ts`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `exit code; stderr:\n${stderr}`);
  const lines = stdout.split("\n").filter((l) => l.startsWith("rank "));
  assertEquals(lines.map((l) => l.split(":")[0]), ["rank 0", "rank 1", "rank 2", "rank 3"], stdout);
  const replies = lines.map((l) => l.slice(l.indexOf(": ") + 2));
  assert(replies.every((r) => r.startsWith("hello mesh from ")), stdout);
  assertEquals(new Set(replies).size, 4, "one reply per greeter");
  const hosts = new Set(replies.map((r) => r.slice("hello mesh from ".length).split(",")[0]));
  assertEquals(hosts.size, 2, "replies come from both hosts");
  assert((await descendantsOf(Deno.pid)).length === 0, "no worker process left running");
});

Deno.test("JB-2: examples/job.ts local 2: every greeter answers and the job leaves no process", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, `${ROOT}examples/job.ts`, "local", "2"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `exit code; stderr:\n${stderr}`);
  const lines = stdout.split("\n").filter((l) => l.startsWith("rank "));
  assertEquals(lines.length, 4, stdout);
  assert(lines.every((l) => l.includes("hello local from tcp:localhost:")), stdout);
  assert((await descendantsOf(Deno.pid)).length === 0, "JB-2: no daemon or worker left running");
});
