/**
 * The systemd launcher next to the native one, in the same run:
 *
 * - **spawn → Ready** of a bootstrap proc through a `BootstrapProcManager` (callback
 *   channel, payload, launch, `deno run bootstrap.ts`, proc agent, callback), with the
 *   native launcher and with the systemd launcher (a transient unit over D-Bus);
 * - **terminate** of that proc (`handle.terminate`: StopAll → exit 0 → exit observed; for
 *   systemd this includes the unit's cleanup);
 * - **launch → exit** of `/bin/true`: `Deno.Command` (the floor) vs a transient unit.
 *
 * `deno run --allow-all bench/systemd_spawn_bench.ts [iterations]` prints medians and
 * p10–p90 spreads, and the systemd/native ratios; under `deno bench` the same scenarios
 * are registered as benches. Needs a user manager
 * (`eval "$(bash tests/support/systemd_user.sh start)"`); without one only the native
 * cases run.
 * @module
 */

import { fmtStats, stats } from "./_floor.ts";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { Proc } from "../actor/proc.ts";
import type { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import type { LaunchOptions } from "../launcher/types.ts";
import { SystemdProcLauncher, SystemdUnavailableError } from "../launcher/systemd.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import type { BootstrapProcHandle } from "../bootstrap/proc_handle.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FLAGS = [
  "--config",
  `${ROOT}deno.json`,
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];
const PROGRAM = "/bin/true";

type Kind = "native" | "systemd";

async function systemdAvailable(): Promise<boolean> {
  try {
    await using _l = await SystemdProcLauncher.connect();
    return true;
  } catch (error) {
    if (!(error instanceof SystemdUnavailableError)) throw error;
    console.log(`systemd cases skipped: ${error.message}`);
    return false;
  }
}

/** A root proc and a manager with the given launcher (absolute paths, explicit flags). */
class Rig implements AsyncDisposable {
  #n = 0;
  private constructor(readonly root: Proc, readonly manager: BootstrapProcManager) {}
  static async create(kind: Kind): Promise<Rig> {
    const root = await Proc.direct(ChannelAddr.any("unix"), "root");
    const manager = new BootstrapProcManager(
      BootstrapCommand.fromPath(Deno.execPath(), ["run", ...FLAGS, `${ROOT}bootstrap.ts`]),
    );
    try {
      if (kind === "systemd") manager.setLauncher(await SystemdProcLauncher.connect());
    } catch (error) {
      await manager[Symbol.asyncDispose]();
      await root[Symbol.asyncDispose]();
      throw error;
    }
    return new Rig(root, manager);
  }
  async spawn(): Promise<BootstrapProcHandle> {
    const handle = await this.manager.spawn(
      new ProcId(ChannelAddr.any("unix"), `bench-${this.#n++}`),
      this.root.procId.addr,
      { createRank: 0, clientConfigOverride: {} },
    );
    await handle.ready();
    (this.root.forwarder as DialMailboxRouter).bind(handle.procId, handle.addr()!);
    return handle;
  }
  async stop(handle: BootstrapProcHandle): Promise<void> {
    using cx = this.root.instance(`stopper-${this.#n++}`);
    await handle.terminate(cx, { graceMs: 5_000, reason: "bench" });
    (this.root.forwarder as DialMailboxRouter).unbind(handle.procId);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.manager[Symbol.asyncDispose]();
    await this.root[Symbol.asyncDispose]();
  }
}

const trueOptions: LaunchOptions = {
  bootstrapPayload: "",
  processName: "bench @ localhost",
  command: new BootstrapCommand({ program: PROGRAM }),
  wantStdio: false,
  tailLines: 0,
};

let unitSeq = 0;
async function trueViaUnit(launcher: SystemdProcLauncher): Promise<void> {
  const { exit } = await launcher.launch(`bench-true-${Deno.pid}-${unitSeq++}`, trueOptions);
  await exit;
}

async function trueViaCommand(): Promise<void> {
  await new Deno.Command(PROGRAM, { stdout: "null", stderr: "null" }).output();
}

async function report(iterations: number): Promise<void> {
  const kinds: Kind[] = (await systemdAvailable()) ? ["native", "systemd"] : ["native"];
  const results: Record<string, number[]> = {};
  const add = (k: string, v: number) => (results[k] ??= []).push(v);
  const rigs = new Map<Kind, Rig>();
  await using stack = new AsyncDisposableStack();
  for (const kind of kinds) rigs.set(kind, stack.use(await Rig.create(kind)));
  const launcher = kinds.includes("systemd")
    ? stack.use(await SystemdProcLauncher.connect())
    : undefined;
  // Warm the module cache, the JIT and both launchers.
  for (const rig of rigs.values()) await rig.stop(await rig.spawn());
  await trueViaCommand();
  if (launcher !== undefined) await trueViaUnit(launcher);
  for (let i = 0; i < iterations; i++) {
    for (const [kind, rig] of rigs) { // interleaved, so both see the same machine load
      let t = performance.now();
      const handle = await rig.spawn();
      add(`${kind} spawn→Ready`, performance.now() - t);
      t = performance.now();
      await rig.stop(handle);
      add(`${kind} terminate`, performance.now() - t);
    }
    let t = performance.now();
    await trueViaCommand();
    add("native /bin/true launch→exit", performance.now() - t);
    if (launcher !== undefined) {
      t = performance.now();
      await trueViaUnit(launcher);
      add("systemd /bin/true launch→exit", performance.now() - t);
    }
  }
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(30)} ${fmtStats(v)}`);
  if (launcher === undefined) return;
  for (const what of ["spawn→Ready", "terminate", "/bin/true launch→exit"]) {
    const s = stats(results[`systemd ${what}`]).median;
    const n = stats(results[`native ${what}`]).median;
    console.log(`ratio ${what}: ${(s / n).toFixed(2)} (systemd/native medians)`);
  }
}

if (import.meta.main) {
  await report(Number(Deno.args[0] ?? 10));
} else {
  const ignoreSystemd = !(await systemdAvailable());
  for (const kind of ["native", "systemd"] as const) {
    Deno.bench({
      name: `${kind}: bootstrap proc spawn → Ready (manager)`,
      group: "spawn-ready",
      baseline: kind === "native",
      ignore: kind === "systemd" && ignoreSystemd,
      async fn(b) {
        await using rig = await Rig.create(kind);
        b.start();
        const handle = await rig.spawn();
        b.end();
        await rig.stop(handle);
      },
    });
  }
  Deno.bench({
    name: "native: Deno.Command /bin/true spawn→exit",
    group: "true",
    baseline: true,
    fn: trueViaCommand,
  });
  Deno.bench({
    name: "systemd: transient unit /bin/true launch→exit",
    group: "true",
    ignore: ignoreSystemd,
    async fn(b) {
      await using launcher = await SystemdProcLauncher.connect();
      b.start();
      await trueViaUnit(launcher);
      b.end();
    },
  });
}
