/**
 * Fleets die with their owner (issue 12 item 3): real owner processes,
 * SIGKILLed; host and proc processes, leases and socket directories.
 * OW-1..OW-4, BS-38 (see `mesh/supervision/keepalive.ts`, `mesh/host_mesh/host_mesh.ts`,
 * `mesh/host_agent/_keepalive.ts`, `bootstrap/_socket_dirs.ts`).
 */
import { assert, assertEquals } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { Proc } from "../actor/proc.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { bootstrap } from "../bootstrap/bootstrap.ts";
import { BOOTSTRAP_MODE_ENV, toEnvSafeString } from "../bootstrap/mode.ts";
import { attrs, config } from "../config/mod.ts";
import { ownerPidOf, sweepSocketDirs } from "../bootstrap/_socket_dirs.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { ProcMesh } from "../mesh/proc_mesh.ts";
import { Region } from "../ndslice/region.ts";
import { getState } from "../mesh/host_mesh/_query.ts";
import { isTerminated } from "../mesh/resource/status.ts";
import { WORKER_PERMISSIONS, workerCommand } from "../cli/worker.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { OwnerKeepalive } from "../mesh/supervision/keepalive.ts";
import { bootstrapCommand, PERMISSIONS, readFirstLine, ROOT, survivors } from "./_support.ts";

const ORPHAN_TIMEOUT_MS = 2_000;

/** Pids whose parent is one of `parents` (running ones only). */
async function childrenOf(parents: readonly number[]): Promise<number[]> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,stat="] }).output();
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n");
  return rows.map((r) => r.trim().split(/\s+/))
    .filter(([, ppid, stat]) => parents.includes(Number(ppid)) && !stat.startsWith("Z"))
    .map(([pid]) => Number(pid));
}

/** Starts a fixture owner; resolves with its child and its JSON report line. */
async function startOwner(
  fixture: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; report: Record<string, unknown> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${ROOT}deno.json`,
      ...PERMISSIONS,
      `${ROOT}tests/fixtures/${fixture}`,
      ...args,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = await readFirstLine(reader);
  reader.cancel();
  return { child, report: JSON.parse(line) };
}

async function killed(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* exited */ }
  await child.status;
}

Deno.test("OW-4 / BS-38: SIGKILL of a HostMesh.process owner ends every host and proc process within 2 s; the next manager sweeps their socket dirs", async () => {
  const runtimeDir = await Deno.makeTempDir({ prefix: "ow4-" });
  try {
    const { child, report } = await startOwner("process_mesh_owner.ts", [], {
      XDG_RUNTIME_DIR: runtimeDir,
    });
    const hosts = report.hosts as number[];
    assertEquals(hosts.length, 2);
    const procs = await childrenOf(hosts);
    // Two procs per host, plus each host's warm children (BS-41): all must die.
    assert(procs.length >= 4, `two procs per host: ${procs}`);
    const dirs = [...Deno.readDirSync(runtimeDir)].map((e) => e.name);
    // Each host has its manager's socket dir and its own channel dir (AU-8), both `hypermesh-<pid>-*`.
    const owners = new Set(
      dirs.map(ownerPidOf).filter((pid) => pid !== undefined && hosts.includes(pid)),
    );
    assertEquals(owners.size, 2, `every host owns a socket dir: ${dirs}`);
    await killed(child);
    assertEquals(
      await survivors([...hosts, ...procs], 2_000),
      [],
      "OW-4: nothing outlives the owner",
    );
    // BS-38: a new manager on the same runtime dir removes the dead hosts' directories.
    const manager = new BootstrapProcManager(bootstrapCommand(), { runtimeDir });
    await manager[Symbol.asyncDispose]();
    assertEquals([...Deno.readDirSync(runtimeDir)].map((e) => e.name), [], "BS-38: no dir left");
  } finally {
    await Deno.remove(runtimeDir, { recursive: true });
  }
});

Deno.test("BS-38: sweepSocketDirs removes only directories of dead owner pids", async () => {
  const runtimeDir = await Deno.makeTempDir({ prefix: "ow5-" });
  try {
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      for (
        const name of [
          `hypermesh-${dead.pid}-a`,
          `hypermesh-${sleeper.pid}-b`,
          "hypermesh-c",
          "other",
        ]
      ) {
        await Deno.mkdir(`${runtimeDir}/${name}`);
      }
      await Deno.writeTextFile(`${runtimeDir}/hypermesh-${dead.pid}-a/sock`, "");
      const removed = await sweepSocketDirs(runtimeDir);
      assertEquals(removed, [`${runtimeDir}/hypermesh-${dead.pid}-a`]);
      const left = [...Deno.readDirSync(runtimeDir)].map((e) => e.name).sort();
      assertEquals(left, [`hypermesh-${sleeper.pid}-b`, "hypermesh-c", "other"].sort());
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  } finally {
    await Deno.remove(runtimeDir, { recursive: true });
  }
});

/** Starts `bootstrap.ts host --addr tcp:127.0.0.1:0` with `env`; resolves on "ready". */
async function startDaemon(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...WORKER_PERMISSIONS,
      `${ROOT}bootstrap.ts`,
      "host",
      "--addr",
      "tcp:127.0.0.1:0",
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = await readFirstLine(reader);
  reader.cancel();
  const m = /^ready (\S+)/.exec(line);
  if (!m) throw new Error(`daemon did not start: ${line}`);
  return { child, addr: m[1] };
}

Deno.test("OW-1 / OW-3: a daemon stops a SIGKILLed owner's procs within orphan timeout + 1 s, keeps the other owner's, and serves a new one at once", async () => {
  const env = { HYPERACTOR_MESH_ORPHAN_TIMEOUT: `${ORPHAN_TIMEOUT_MS}ms` };
  const daemon = await startDaemon(env);
  const owners: Deno.ChildProcess[] = [];
  await using proc = await Proc.direct(ChannelAddr.any("tcp"), "observer");
  using cx = proc.instance("observer");
  const host = new HostRef(daemon.addr);
  const state = async (name: string) => (await getState(cx, host, name, 5_000))!.status;
  try {
    const a = await startOwner("keepalive_owner.ts", [daemon.addr], env);
    owners.push(a.child);
    const b = await startOwner("keepalive_owner.ts", [daemon.addr], env);
    owners.push(b.child);
    const aProcs = a.report.procs as string[];
    const bProcs = b.report.procs as string[];
    await killed(a.child);
    const t0 = performance.now();
    for (const name of aProcs) {
      while (!isTerminated(await state(name))) await new Promise((r) => setTimeout(r, 50));
    }
    const elapsed = performance.now() - t0;
    assert(elapsed <= ORPHAN_TIMEOUT_MS + 1_000, `OW-3: orphans stopped after ${elapsed} ms`);
    // The other owner's procs outlive two more timeouts (its renewals continue).
    await new Promise((r) => setTimeout(r, ORPHAN_TIMEOUT_MS * 2));
    for (const name of bProcs) assertEquals((await state(name)).kind, "Running", name);
    // A new owner attaches and spawns at once.
    const late = await HostMesh.attach(cx, "late", [daemon.addr]);
    const procs = await late.spawn(cx, "late", Extent.of({ procs: 1 }));
    assertEquals(procs.numRanks, 1);
    await late.ref.stopProcMesh(cx, procs);
  } finally {
    for (const o of owners) await killed(o);
    daemon.child.kill("SIGTERM");
    await daemon.child.status;
  }
});

Deno.test("OW-1 / OW-2: spawn starts the owner keepalive; ProcMesh#stop stops every proc and ends it", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("local"), "owner");
  using cx = proc.instance("owner");
  const hosts = await HostMesh.localInProcess({ transport: "local", hosts: 2 });
  try {
    const procs = await hosts.spawn(cx, "workers", Extent.of({ gpus: 2 }));
    const keepalive = OwnerKeepalive.of(procs)!;
    assert(keepalive.active, "OW-1: started by spawn");
    assertEquals(keepalive.rounds, 1, "OW-1: the first lease is sent at once");
    assertEquals(keepalive.procs.length, 4);
    const statuses = await procs.stop(cx, { reason: "done" });
    assert(statuses.values().every(isTerminated), "every rank terminated");
    assert(!keepalive.active, "OW-2: ProcMesh#stop ends the keepalive");
    assertEquals(OwnerKeepalive.of(procs), undefined);
  } finally {
    await hosts.shutdown(cx);
  }
});

Deno.test("OW-2: disposing the owner's proc ends its keepalives; a zero timeout starts none", async () => {
  const hosts = await HostMesh.localInProcess({ transport: "local" });
  const proc = await Proc.direct(ChannelAddr.any("local"), "owner");
  const cx = proc.instance("owner");
  try {
    const procs = await hosts.spawn(cx, "workers", Extent.of({ gpus: 1 }));
    const keepalive = OwnerKeepalive.of(procs)!;
    assert(keepalive.active);
    assertEquals(OwnerKeepalive.start(cx, procs, { leaseMs: 0 }), undefined);
    assert(!keepalive.active, "a restart replaces the running keepalive");
    const again = OwnerKeepalive.start(cx, procs, { leaseMs: 60_000 })!;
    await hosts.shutdown(cx);
    cx[Symbol.dispose]();
    await proc[Symbol.asyncDispose]();
    assert(!again.active, "OW-2: the owner's proc disposal stops it");
  } finally {
    await hosts.shutdown(cx);
    await proc[Symbol.asyncDispose]();
  }
});

Deno.test("HostMesh.local serves a Process-mode host in this process: spawn, states, stop, shutdown", async () => {
  await using proc = await Proc.direct(ChannelAddr.any("unix"), "owner");
  using cx = proc.instance("owner");
  const hosts = await HostMesh.local({ command: bootstrapCommand(), transport: "unix" });
  try {
    assertEquals(hosts.region.toString(), "hosts=1/1");
    assertEquals(hosts.pids, [], "no host process: the host is served here");
    const procs = await hosts.spawn(cx, "local", Extent.of({ gpus: 2 }));
    const states = await hosts.ref.procStates(cx, procs);
    assertEquals(states.values().map((s) => s.status.kind), ["Running", "Running"]);
    const stopped = await procs.stop(cx);
    assert(stopped.values().every(isTerminated));
  } finally {
    const report = await hosts.shutdown(cx);
    assertEquals(report.failed, []);
  }
});

Deno.test("OW-7: GetLocalProc on a Process-mode host answers the agent of its local proc (seed test_host_bootstrap)", async () => {
  await using temp = await Proc.direct(ChannelAddr.any("unix"), "temp");
  using cx = temp.instance("temp");
  const hosts = await HostMesh.local({ command: bootstrapCommand(), transport: "unix" });
  try {
    const agentOf = async () => {
      const { ref, receiver } = cx.openOncePort<string | null>();
      using _r = receiver;
      hosts.hosts[0].agent.send(cx, "GetLocalProc", { reply: ref.port });
      return await receiver.recv({ timeoutMs: 10_000 });
    };
    const agent = await agentOf();
    assertEquals(agent, `${hosts.hosts[0].addr},local,proc_agent[0]`);
    assertEquals(await agentOf(), agent, "booted once");
    const local = ProcMesh.fromRanks(Region.parse("procs=1/1"), [
      { procId: `${hosts.hosts[0].addr},local`, agent: agent! },
    ]);
    const [state] = await local.states(cx, { maxIdleMs: 10_000 });
    assertEquals(state.status.kind, "Running", "the local proc's agent answers");
  } finally {
    await hosts.shutdown(cx);
  }
});

Deno.test("BS-39: a Host-mode child installs its boot config as the Runtime layer; a client push does not replace it", async () => {
  const key = attrs.MESH_TERMINATE_TIMEOUT.key;
  const mode = toEnvSafeString({
    kind: "Host",
    addr: ChannelAddr.any("local"),
    config: { [key]: 1_234 },
    exitOnShutdown: true,
  });
  const env = new Map([[BOOTSTRAP_MODE_ENV, mode]]);
  try {
    const outcome = await bootstrap({
      env: { get: (k) => env.get(k) },
      runHost: () => {
        assertEquals(config.get(attrs.MESH_TERMINATE_TIMEOUT), 1_234);
        config.setLayer("ClientOverride", { [key]: 99 }); // what SetClientConfig does
        assertEquals(config.get(attrs.MESH_TERMINATE_TIMEOUT), 1_234, "BS-39: boot config kept");
        return Promise.resolve(0);
      },
    });
    assertEquals(outcome, { kind: "Exited", code: 0 });
  } finally {
    config.clearLayer("Runtime");
    config.clearLayer("ClientOverride");
  }
});

/** The process group id of `pid` (`ps`). */
async function pgidOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "pgid=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("OW-9: HostMesh.process starts each host through the launcher, leading its own process group; shutdown stops every one of them", async () => {
  const cx = await context();
  try {
    const hosts = await HostMesh.process(Extent.of({ hosts: 2 }), workerCommand(), {
      stdio: "null",
    });
    try {
      assertEquals(hosts.pids.length, 2);
      for (const pid of hosts.pids) assertEquals(await pgidOf(pid), pid, "OW-9: LN-3 group");
      await hosts.spawn(cx, "ow9", Extent.unity());
      const report = await hosts.shutdown(cx);
      assertEquals([report.failed, report.killed], [[], 0]);
    } finally {
      await hosts[Symbol.asyncDispose]();
    }
    assertEquals(await survivors(hosts.pids), [], "OW-9: no host process survives");
  } finally {
    await shutdownContext();
  }
});
