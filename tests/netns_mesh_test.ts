/**
 * Multi-machine integration tests: every "machine" is a Linux network
 * namespace `hm-host<i>` with its own address 10.77.<i>.2, wired to the root
 * namespace by a veth pair (tests/support/netns_hosts.sh). A real
 * `bootstrap.ts host` daemon runs inside each namespace; this process (root
 * namespace) attaches over real TCP, spawns procs and actors, casts, and
 * shuts everything down.
 *
 * The client's own proc must be dialable FROM the hosts (replies, acks and
 * host-agent answers are sent to the address in the client's proc id), so it
 * serves on the root-side address 10.77.1.1, which every namespace routes to.
 * `context()` cannot be used here: it serves `ChannelAddr.any(transport)`,
 * i.e. `tcp:127.0.0.1:0` (the namespace's own loopback when dialed from a
 * host) or an abstract unix socket (per network namespace).
 *
 * Needs root, `ip` (iproute2) and network-namespace support; otherwise the
 * tests are skipped with a message, unless env `CI` is set (then they fail).
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { Proc } from "../actor/proc.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { ConfigPushError } from "../mesh/host_mesh/errors.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS } from "../cli/worker.ts";
import { readFirstLine } from "./_support.ts";

const SCRIPT = new URL("./support/netns_hosts.sh", import.meta.url).pathname;
const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;
const PORT = 26600;

interface Netns {
  hosts: string[];
  addrs: string[];
  gateways: string[];
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (error) {
    return { ok: false, out: String(error) };
  }
}

/** Why these tests cannot run here, or undefined when they can. */
async function unsupported(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux (os is ${Deno.build.os})`;
  let uid: number | null;
  try {
    uid = Deno.uid();
  } catch (error) {
    return `cannot read the uid (${error})`;
  }
  if (uid !== 0) return `network namespaces need root (uid is ${uid})`;
  if (!(await run("ip", ["-V"])).ok) return "the `ip` command (iproute2) is missing";
  const probe = `hm-probe${Deno.pid}`;
  const added = await run("ip", ["netns", "add", probe]);
  if (!added.ok) return `network namespaces unsupported: ${added.out.trim()}`;
  await run("ip", ["netns", "delete", probe]);
  return undefined;
}

const skipReason = await unsupported();
if (skipReason !== undefined) {
  console.log(`netns_mesh_test: skipped: ${skipReason}`);
}

/** Registers `fn`, skipped (or failing under CI) when namespaces are unavailable. */
function netnsTest(name: string, fn: () => Promise<void>): void {
  if (skipReason === undefined) {
    Deno.test(name, fn);
  } else if (Deno.env.get("CI")) {
    Deno.test(name, () => {
      throw new Error(`Cannot run the netns tests under CI: ${skipReason}`);
    });
  } else {
    Deno.test({ name, ignore: true, fn });
  }
}

async function netnsStart(n: number): Promise<Netns> {
  const r = await run("bash", [SCRIPT, "start", String(n)]);
  if (!r.ok) throw new Error(`Cannot start the namespaces: ${r.out}`);
  const get = (key: string) => {
    const m = new RegExp(`^export ${key}="([^"]*)"$`, "m").exec(r.out);
    if (!m) throw new Error(`Cannot start the namespaces: no ${key} in ${r.out}`);
    return m[1].split(" ");
  };
  return {
    hosts: get("HYPERMESH_NETNS_HOSTS"),
    addrs: get("HYPERMESH_NETNS_ADDRS"),
    gateways: get("HYPERMESH_NETNS_GATEWAYS"),
  };
}

async function netnsStop(): Promise<void> {
  const r = await run("bash", [SCRIPT, "stop"]);
  if (!r.ok) throw new Error(`Cannot stop the namespaces: ${r.out}`);
}

/** `pid → [state, net namespace inode]` of every process (Deno gates /proc behind --allow-all). */
async function processTable(): Promise<Map<number, [string, number]>> {
  const { out } = await run("ps", ["-eo", "pid=,stat=,netns="]);
  const table = new Map<number, [string, number]>();
  for (const line of out.split("\n")) {
    const [pid, stat, netns] = line.trim().split(/\s+/);
    if (/^\d+$/.test(pid ?? "")) table.set(Number(pid), [stat, Number(netns)]);
  }
  return table;
}

const live = (stat: string | undefined) => stat !== undefined && !/^[ZX]/.test(stat);

/** Whether `pid` is a live process (PID 1 reaps lazily: a zombie is dead). */
async function alive(pid: number): Promise<boolean> {
  return live((await processTable()).get(pid)?.[0]);
}

/** Live processes inside namespace `ns`. */
async function pidsIn(ns: string): Promise<number[]> {
  const target = Deno.statSync(`/run/netns/${ns}`).ino;
  const pids: number[] = [];
  for (const [pid, [stat, netns]] of await processTable()) {
    if (netns === target && live(stat)) pids.push(pid);
  }
  return pids;
}

/** A host daemon started with `ip netns exec`. */
interface Daemon {
  ns: string;
  child: Deno.ChildProcess;
  /** The address from its `ready` line. */
  addr: string;
  /** Resolves when its stdout closed (drained so it never blocks). */
  drained: Promise<void>;
}

/** `ip netns exec NS deno run … bootstrap.ts host --addr ADDR --command-worker`; waits for `ready`. */
async function startDaemon(ns: string, addr: string): Promise<Daemon> {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      ...WORKER_PERMISSIONS,
      BOOTSTRAP,
      "host",
      "--addr",
      addr,
      "--command-worker",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const buf = await readFirstLine(reader);
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const m = /^ready (\S+)/.exec(buf);
  if (!m) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Promise.all([child.status, drained]);
    throw new Error(`Cannot start the host daemon in ${ns}: output "${buf}"`);
  }
  return { ns, child, addr: m[1], drained };
}

async function reap(daemons: Daemon[]): Promise<void> {
  for (const d of daemons) {
    try {
      d.child.kill("SIGKILL");
    } catch { /* exited */ }
  }
  await Promise.all(daemons.flatMap((d) => [d.child.status, d.drained]));
}

netnsTest(
  "netns: two hosts in their own network namespaces, attached over TCP: procs, a cast, shutdown to zero processes",
  async () => {
    const net = await netnsStart(2);
    const daemons: Daemon[] = [];
    try {
      daemons.push(
        ...await Promise.all(
          net.hosts.map((ns, i) => startDaemon(ns, `tcp:${net.addrs[i]}:${PORT}`)),
        ),
      );
      assertEquals(daemons.map((d) => d.addr), net.addrs.map((a) => `tcp:${a}:${PORT}`));
      // The client serves where every host can dial it back (see the module doc).
      await using client = await Proc.direct(`tcp:${net.gateways[0]}:0`, "root");
      assertEquals(client.procId.addr.host, net.gateways[0], "advertised = bound address");
      using cx = client.instance("client");

      const mesh = await HostMesh.attach(cx, "netns", daemons.map((d) => d.addr));
      const procs = await mesh.spawn(cx, "netns", Extent.of({ procs: 2 }));
      assertEquals(procs.numRanks, 4);
      const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const { ref, receiver } = cx.openPort<Greeting>();
      actors.cast(cx, "Greet", { text: "hello", reply: ref });
      const replies: Greeting[] = [];
      for (let i = 0; i < 4; i++) replies.push(await receiver.recv({ timeoutMs: 10_000 }));
      receiver.close();

      assertEquals(new Set(replies.map((r) => r.actor)).size, 4, "4 distinct actors");
      assertEquals(new Set(replies.map((r) => r.pid)).size, 4, "4 distinct proc processes");
      const hostOf = (r: Greeting) => daemons.find((d) => r.actor.startsWith(`${d.addr},`))?.addr;
      assertEquals(
        replies.map(hostOf).sort(),
        [daemons[0].addr, daemons[0].addr, daemons[1].addr, daemons[1].addr],
        "2 procs on each host address",
      );
      for (const [i, d] of daemons.entries()) {
        const inside = await pidsIn(d.ns);
        assert(inside.includes(d.child.pid), `daemon ${d.child.pid} runs in ${d.ns}`);
        for (const r of replies.filter((r) => hostOf(r) === d.addr)) {
          assert(inside.includes(r.pid), `proc ${r.pid} runs in ${d.ns} (host ${i})`);
        }
      }

      const report = await mesh.shutdown(cx);
      assertEquals([report.failed, report.killed], [[], 0]);
      const codes = await Promise.all(daemons.map((d) => d.child.status));
      assertEquals(codes.map((s) => s.code), [0, 0], "daemons exit 0 after ShutdownHost");
      for (const r of replies) assert(!(await alive(r.pid)), `proc ${r.pid} survived shutdown`);
      for (const d of daemons) assertEquals(await pidsIn(d.ns), [], `${d.ns} is empty`);
    } finally {
      await reap(daemons);
      await netnsStop();
    }
  },
);

netnsTest(
  "netns HM-2 / HM-4: attaching a namespace where nothing listens fails closed and names that host",
  async () => {
    using _t = config.override(attrs.MESH_ATTACH_CONFIG_TIMEOUT, 1_000);
    using _f = config.override(attrs.FORWARDER_FLUSH_TIMEOUT, 200); // the request stays unacked
    const net = await netnsStart(2);
    const daemons: Daemon[] = [];
    try {
      daemons.push(await startDaemon(net.hosts[0], `tcp:${net.addrs[0]}:${PORT}`));
      const silent = `tcp:${net.addrs[1]}:${PORT}`; // hm-host2 exists; nothing listens there
      await using client = await Proc.direct(`tcp:${net.gateways[0]}:0`, "root");
      using cx = client.instance("client");

      const t0 = performance.now();
      const err = (await assertRejects(
        () => HostMesh.attach(cx, "netns", [daemons[0].addr, silent]),
        ConfigPushError,
      )) as ConfigPushError;
      console.log(`attach failed after ${(performance.now() - t0).toFixed(0)}ms: ${err.message}`);
      assertEquals(err.failures.map((f) => f.host), [silent], "HM-4: only the silent host");
      assertEquals(cx.undeliverables.size, 0, "HM-3: no bounce reached the caller");

      // The reachable host is untouched: shut it down explicitly.
      const report = await HostMesh.take(HostMeshRef.fromHosts("netns", [daemons[0].addr]))
        .shutdown(cx);
      assertEquals(report.failed, []);
      assertEquals((await daemons[0].child.status).code, 0);
    } finally {
      await reap(daemons);
      await netnsStop();
    }
  },
);
