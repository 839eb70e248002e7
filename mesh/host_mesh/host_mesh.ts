/**
 * `HostMesh`: an owned mesh of hosts (the seed's `host_mesh.rs`). It brings
 * hosts up (`local`, `localInProcess`, `process`), attaches to running ones
 * (`attach`, HM-1..HM-4), and tears them down: `shutdown` drains every host
 * and then shuts each down; `stop` only drains, so the same addresses can be
 * attached again. `await using` a host mesh shuts it down on scope exit.
 *
 * ## Invariants (HM-*)
 * - **HM-1 (attach-config-complete).** If `attach()` resolves, every
 *   attached host installed the client's propagatable config snapshot.
 * - **HM-2 (attach-config-fails-closed).** If the config push fails on any
 *   host, `attach()` rejects; no partially configured mesh is returned.
 * - **HM-3 (in-band-request-failure-surface).** Push requests are sent with
 *   `returnUndeliverable` off: failures surface through `attach()`, never as
 *   an undeliverable bounced to the caller.
 * - **HM-4 (host-scoped-error-reporting).** `ConfigPushError.failures`
 *   names each failing host.
 * - **HM-5 (reply-address hint).** When the push to a host on another
 *   machine timed out and this client's address is one only this machine
 *   can reach (unix, loopback), the error names that address and says to
 *   set `HYPERMESH_CLIENT_ADDR` (`ConfigPushError.hint`).
 * - **HM-6 (unreachable fails fast).** Each host's address is probed
 *   beside the push (`probeChannel`, CH-11): when nothing listens there, the
 *   peer hangs up in the handshake, speaks another protocol or does not
 *   share the secret, `attach()` rejects as soon as that is known, with an
 *   `Unreachable` failure saying which (not after the push's deadline).
 *
 * ## Invariants (MS-*, OW-*)
 * - **MS-42 (two-phase shutdown).** `shutdown` drains every host before
 *   shutting any down, and resolves after the hosts acknowledged, the
 *   in-process hosts were released and the host processes it started exited.
 * - **OW-4 (hosts die with their owner).** A `HostMesh.process` host is
 *   started with this process's pid ({@linkcode PARENT_PID_ENV}) and arms the
 *   parent-death guard (BS-3) in `Host` mode; its procs carry theirs against
 *   the host. SIGKILL of the owner ends every host and proc process within
 *   the guards' latency (kernel-immediate with FFI); their socket
 *   directories are swept by the next manager that starts (BS-38).
 * - **OW-9 (one spawn path).** `HostMesh.process` starts and stops its host
 *   processes through a `NativeProcLauncher` like any proc: each leads its
 *   own process group (LN-3), is recorded for the exit safety net (LN-6) and
 *   is stopped SIGTERM-first with a bounded grace (LN-1, LN-2); disposal of
 *   the launcher SIGKILLs what is left (LN-5).
 * - **MS-43 (stop keeps hosts).** After `stop`, the hosts still serve and
 *   `attach` to their addresses succeeds; disposal no longer shuts them down.
 *
 * Host death (HW-*, `supervision/`): `attach` and `spawn` start the owner's
 * host watch; the exit of a host process started by `process` that nobody
 * asked for declares that host lost at once; `stop` / `shutdown` unwatch the
 * hosts before ending them on purpose (HW-5), and a lost host fails its
 * drain at once (HW-4), is skipped in phase 2 and listed with `lost: true`.
 *
 * @module
 */

import type { ChannelAddr, Transport } from "../../channel/addr.ts";
import type { Context } from "../../actor/types.ts";
import { Proc } from "../../actor/proc.ts";
import { closeProcMeshes } from "../supervision/registry.ts";
import { clientBindAddr } from "../../actor/context.ts";
import { config } from "../../config/config.ts";
import { MESH_BOOTSTRAP_ENABLE_PDEATHSIG, MESH_DEFAULT_TRANSPORT } from "../../config/attrs.ts";
import { BootstrapCommand } from "../../launcher/command.ts";
import { PARENT_PID_ENV, toEnvSafeString } from "../../bootstrap/mode.ts";
import { NativeProcLauncher } from "../../launcher/native.ts";
import type { LaunchResult } from "../../launcher/types.ts";
import type { Extent } from "../../ndslice/extent.ts";
import { Region } from "../../ndslice/region.ts";
import type { ProcMesh } from "../proc_mesh.ts";
import {
  type HostCallOptions,
  HostMeshRef,
  HostRef,
  type HostSpawnOptions,
} from "./host_mesh_ref.ts";
import { instanceId } from "./id.ts";
import { clearHostLost, HostLostError } from "../supervision/host_lost.ts";
import { reportHostExit, unwatchHosts, watchHosts } from "../supervision/host_watch.ts";
import { bindingAddr, type ServedHost, serveLocalHost, serveProcessHost } from "./_serve.ts";

/** Grace of a host process between SIGTERM and SIGKILL when reaped. */
const REAP_GRACE_MS = 5_000;

/** A host process started by {@linkcode HostMesh.process}, through its launcher. */
interface HostChild {
  /** The launcher key (`host <rank>`). */
  readonly key: string;
  /** The launch (pid and the one exit, LN-4). */
  readonly launched: LaunchResult;
  /** Set once the process exited. */
  exited: boolean;
}

/** The host processes of one `HostMesh.process` and the launcher that started them. */
interface HostChildren {
  readonly launcher: NativeProcLauncher;
  readonly children: HostChild[];
}

/** Drops a piped output stream of a host started with `stdio: "null"`. */
function discard(stream: ReadableStream<Uint8Array>): void {
  stream.pipeTo(new WritableStream()).catch(() => {});
}

/** What `shutdown` / `stop` report. */
export interface TeardownReport {
  /** Phase 1 (drain) duration, ms. */
  drainMs: number;
  /** Phase 2 (shutdown) duration, ms (0 for `stop`). */
  shutdownMs: number;
  /** Total, ms. */
  totalMs: number;
  /**
   * Hosts whose drain or shutdown failed, with the error text; `lost` marks
   * a host that was lost (HW-4: it failed at once, no shutdown was tried).
   */
  failed: { host: string; phase: "drain" | "shutdown"; error: string; lost?: boolean }[];
  /** Host processes started by this mesh that had to be killed. */
  killed: number;
}

/** Options of {@linkcode HostMesh.process}. */
export interface ProcessOptions {
  /** Host transport (default `HYPERACTOR_MESH_DEFAULT_TRANSPORT`). */
  transport?: Transport;
  /** Host stdout/stderr (default `"inherit"`). */
  stdio?: "inherit" | "null";
  /**
   * The program the hosts start their procs with (and keep warm, BS-41),
   * when it is not the hosts' own `command`: e.g. the bundled proc child
   * (`procChildCommand()`, PC-2), which costs less memory and starts faster
   * for procs that need no actor types of your own.
   */
  procCommand?: BootstrapCommand;
}

/**
 * An owned mesh of hosts.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../../channel/addr.ts";
 * import { Proc } from "../../actor/proc.ts";
 * import { Extent } from "../../ndslice/extent.ts";
 * import { HostMesh } from "./host_mesh.ts";
 *
 * await using proc = await Proc.direct(ChannelAddr.any("local"), "doc");
 * using cx = proc.instance("client");
 * const hosts = await HostMesh.localInProcess({ transport: "local" });
 * const procs = await hosts.spawn(cx, "workers", Extent.of({ gpus: 2 }));
 * assertEquals(procs.region.toString(), "hosts=1/2,gpus=2/1");
 * await hosts.shutdown(cx);
 * ```
 */
export class HostMesh implements AsyncDisposable {
  #ref: HostMeshRef;
  #owned: HostRef[];
  readonly #served: ServedHost[];
  readonly #processes: HostChildren | undefined;
  #teardown: Promise<TeardownReport> | undefined;
  /** Set once the owner shuts its hosts down on purpose (HW-5). */
  #ending = false;

  private constructor(
    ref: HostMeshRef,
    served: ServedHost[] = [],
    processes?: HostChildren,
  ) {
    this.#ref = ref;
    this.#owned = [...ref.hosts];
    this.#served = served;
    this.#processes = processes;
    processes?.children.forEach((child, i) => {
      const host = this.#owned[i];
      // A host process this mesh started that exits unasked is lost (HW-3).
      child.launched.exit.then((result) => {
        child.exited = true;
        if (!this.#ending && host !== undefined) reportHostExit(host, result);
      });
    });
  }

  /**
   * Takes ownership of the hosts of `ref` (they are shut down by
   * {@linkcode HostMesh.shutdown} or disposal).
   * @param ref The hosts.
   * @returns The owned mesh.
   */
  static take(ref: HostMeshRef): HostMesh {
    return new HostMesh(ref);
  }

  /**
   * A single Process-mode host served by this process (its procs are child
   * processes started with `command`, default this program). A bootstrap
   * child should call `bootstrapOrDie` before reaching this.
   * @param options `command` for the procs; `transport` of the host.
   * @returns The mesh (`hosts=1`).
   * @tags allow-run, allow-net, allow-read, allow-write, allow-env
   */
  static async local(
    options: { command?: BootstrapCommand; transport?: Transport } = {},
  ): Promise<HostMesh> {
    const transport = options.transport ?? config.get(MESH_DEFAULT_TRANSPORT) as Transport;
    const served = await serveProcessHost(
      bindingAddr(transport),
      options.command ?? BootstrapCommand.current(),
    );
    return new HostMesh(HostMeshRef.fromHosts(instanceId("local"), [served.ref.addr]), [served]);
  }

  /**
   * `n` Local-mode hosts in this process: every proc is in-process with a v1
   * proc agent (tests, debugging, admin trees).
   * @param options Host count (default 1) and transport (default the config's).
   * @returns The mesh (`hosts=n`).
   */
  static async localInProcess(
    options: { hosts?: number; transport?: Transport } = {},
  ): Promise<HostMesh> {
    const transport = options.transport ?? config.get(MESH_DEFAULT_TRANSPORT) as Transport;
    const served: ServedHost[] = [];
    try {
      for (let i = 0; i < (options.hosts ?? 1); i++) {
        served.push(await serveLocalHost(bindingAddr(transport)));
      }
    } catch (error) {
      await Promise.all(served.map((s) => s.release()));
      throw error;
    }
    const ref = HostMeshRef.fromHosts(instanceId("local"), served.map((s) => s.ref.addr));
    return new HostMesh(ref, served);
  }

  /**
   * One host process per rank of `extent`, each running `command` in Host
   * bootstrap mode (exit on shutdown); their procs use `command` too, or
   * `options.procCommand`.
   * Returns once the processes were started (messages to a host not yet
   * listening are retried by the channel layer).
   * @param extent The hosts' extent.
   * @param command A program that bootstraps (e.g. `bootstrap.ts`).
   * @param options Transport, stdio and the procs' program.
   * @returns The mesh.
   * @tags allow-run
   */
  static async process(
    extent: Extent,
    command: BootstrapCommand,
    options: ProcessOptions = {},
  ): Promise<HostMesh> {
    const transport = options.transport ?? config.get(MESH_DEFAULT_TRANSPORT) as Transport;
    const addrs: ChannelAddr[] = [];
    const children: HostChild[] = [];
    const snapshot = config.snapshot();
    const quiet = options.stdio === "null";
    // OW-4: every host arms its parent-death guard against this process.
    const hostCommand = command.withEnv({ [PARENT_PID_ENV]: String(Deno.pid) });
    // One spawn path: the launcher starts each host in its own process group
    // (LN-3), records it for the exit safety net (LN-6) and stops it (LN-1).
    const launcher = new NativeProcLauncher();
    try {
      for (let i = 0; i < extent.numRanks; i++) {
        const addr = bindingAddr(transport);
        const mode = toEnvSafeString({
          kind: "Host",
          addr,
          command: (options.procCommand ?? command).toJSON(),
          config: snapshot,
          exitOnShutdown: true,
        });
        const key = `host ${i}`;
        const launched = await launcher.launch(key, {
          bootstrapPayload: mode,
          processName: `host ${i} of ${extent}`,
          command: hostCommand,
          wantStdio: quiet,
          tailLines: 0,
          // OW-4 through the kernel, armed at exec: the host's guard loads no FFI (LN-24, BS-51).
          ...(config.get(MESH_BOOTSTRAP_ENABLE_PDEATHSIG)
            ? { parentDeathSignal: "SIGKILL" as const }
            : {}),
        });
        if (launched.stdio.kind === "Captured") {
          discard(launched.stdio.stdout);
          discard(launched.stdio.stderr);
        }
        children.push({ key, launched, exited: false });
        addrs.push(addr);
      }
    } catch (error) {
      await launcher[Symbol.asyncDispose](); // LN-5: SIGKILL every group started so far
      throw error;
    }
    const ref = new HostMeshRef(instanceId("process"), {
      region: Region.fromExtent(extent),
      hosts: addrs.map((a) => new HostRef(a)),
    });
    return new HostMesh(ref, [], { launcher, children });
  }

  /**
   * Attaches to running hosts and installs this process's propagatable
   * config on each (HM-1..HM-4).
   * @param cx The caller.
   * @param id The mesh id.
   * @param addrs Host front-end addresses.
   * @returns The owned mesh.
   * @throws {import("./errors.ts").ConfigPushError} When any host
   * did not acknowledge within `HYPERACTOR_MESH_ATTACH_CONFIG_TIMEOUT`, or
   * at once for a host that cannot be reached (nothing listens, it hangs up,
   * speaks another protocol or has another secret: an `Unreachable`
   * failure, HM-6).
   */
  static async attach(
    cx: Context,
    id: string,
    addrs: readonly (ChannelAddr | string)[],
  ): Promise<HostMesh> {
    const ref = HostMeshRef.fromHosts(id, addrs);
    for (const h of ref.hosts) clearHostLost(h); // a new attach: a new incarnation (HW-1)
    await ref.pushConfig(cx, config.propagatableSnapshot()); // HM-1, HM-2
    watchHosts(cx, ref.hosts); // HW-2, HW-3
    return HostMesh.take(ref);
  }

  /** The current reference (non-owning). */
  get ref(): HostMeshRef {
    return this.#ref;
  }

  /** The mesh id. */
  get id(): string {
    return this.#ref.id;
  }

  /** The hosts' region. */
  get region(): Region {
    return this.#ref.region;
  }

  /** The hosts' extent. */
  get extent(): Extent {
    return this.#ref.extent;
  }

  /** The hosts, in rank order. */
  get hosts(): readonly HostRef[] {
    return this.#ref.hosts;
  }

  /** PIDs of the host processes this mesh started. */
  get pids(): number[] {
    return (this.#processes?.children ?? []).flatMap((c) => c.launched.pid ?? []);
  }

  /**
   * Uses `cmd` for future spawns (in place; ownership is kept).
   * @param cmd The bootstrap command.
   */
  setBootstrap(cmd: BootstrapCommand): void {
    this.#ref = this.#ref.withBootstrap(cmd);
  }

  /**
   * Spawns a proc mesh (see `HostMeshRef.spawn`).
   * @param cx The caller.
   * @param name The proc mesh name.
   * @param perHost Per-host extent.
   * @param options Binding, per-rank bootstrap, idle bound, progress.
   * @returns The proc mesh.
   */
  spawn(cx: Context, name: string, perHost: Extent, options?: HostSpawnOptions): Promise<ProcMesh> {
    if (!this.#ending) watchHosts(cx, this.#owned); // HW-2, HW-3
    return this.#ref.spawn(cx, name, perHost, options);
  }

  /**
   * Two-phase teardown (MS-42): drain every host concurrently (user procs
   * terminated, hosts still serving so cross-host flushes complete), then
   * shut every host down concurrently. Idempotent.
   * @param cx The caller.
   * @param options Grace and concurrency of the terminations.
   * @returns Timings and failures.
   */
  shutdown(cx: Context, options: HostCallOptions = {}): Promise<TeardownReport> {
    this.#teardown ??= this.#shutdown(cx, options);
    return this.#teardown;
  }

  async #shutdown(cx: Context, options: HostCallOptions): Promise<TeardownReport> {
    const hosts = this.#owned;
    this.#owned = [];
    const failed: TeardownReport["failed"] = [];
    const t0 = performance.now();
    await Promise.all(hosts.map((h) =>
      h.drain(cx, options).catch((e) => {
        const lost = e instanceof HostLostError; // HW-4: fails fast, skips phase 2
        failed.push({
          host: h.toString(),
          phase: "drain",
          error: String(e),
          ...(lost && { lost }),
        });
      })
    ));
    const t1 = performance.now();
    this.#ending = true;
    unwatchHosts(hosts); // HW-5: a host shut down on purpose is not lost
    const lost = new Set(failed.filter((f) => f.lost).map((f) => f.host));
    await Promise.all(
      hosts.filter((h) => !lost.has(h.toString())).map((h) =>
        h.shutdown(cx, options).catch((e) => {
          failed.push({ host: h.toString(), phase: "shutdown", error: String(e) });
        })
      ),
    );
    closeProcMeshes({ hosts: hosts.map((h) => h.addr.toString()) }); // SV-14
    const killed = await this.#reap();
    const t2 = performance.now();
    return { drainMs: t1 - t0, shutdownMs: t2 - t1, totalMs: t2 - t0, failed, killed };
  }

  /**
   * Releases in-process hosts and stops the host processes through their
   * launcher: a shut-down host exits by itself; else SIGTERM to its group (it
   * releases and exits 0), SIGKILL after a grace (LN-1, LN-2).
   * @returns How many host processes had to be killed.
   */
  async #reap(): Promise<number> {
    await Promise.all(this.#served.map((s) => s.release()));
    const processes = this.#processes;
    if (processes === undefined) return 0;
    let killed = 0;
    await Promise.all(processes.children.map(async (child) => {
      const running = !child.exited;
      await processes.launcher.terminate(child.key, { graceMs: REAP_GRACE_MS });
      const { kind } = await child.launched.exit;
      if (running && kind.kind === "Signaled" && kind.signal === 9) killed++;
    }));
    await processes.launcher[Symbol.asyncDispose]();
    return killed;
  }

  /**
   * Drains the user procs this mesh created on every host and keeps the
   * hosts serving (MS-43): their addresses can be attached again, and
   * disposal no longer shuts them down.
   * @param cx The caller.
   * @param options Grace and concurrency.
   * @returns Timings and failures.
   */
  async stop(cx: Context, options: HostCallOptions = {}): Promise<TeardownReport> {
    const hosts = this.#owned;
    this.#owned = [];
    const failed: TeardownReport["failed"] = [];
    const t0 = performance.now();
    await Promise.all(
      hosts.map((h) =>
        h.drain(cx, { ...options, hostMeshId: this.id }).catch((e) => {
          const lost = e instanceof HostLostError; // HW-4
          failed.push({
            host: h.toString(),
            phase: "drain",
            error: String(e),
            ...(lost && { lost }),
          });
        })
      ),
    );
    closeProcMeshes({ hostMeshId: this.id }); // SV-14
    this.#ending = true;
    unwatchHosts(hosts); // HW-5
    const totalMs = performance.now() - t0;
    return { drainMs: totalMs, shutdownMs: 0, totalMs, failed, killed: 0 };
  }

  /**
   * The shutdown guard: shuts the owned hosts down from an ephemeral proc
   * (no-op after `shutdown` or `stop`), then releases what this process
   * started.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#teardown !== undefined) {
      await this.#teardown;
      return;
    }
    if (this.#owned.length === 0) {
      await this.#reap();
      return;
    }
    // Serve where the hosts can reach us (HYPERMESH_CLIENT_ADDR for remote hosts).
    const proc = await Proc.direct(clientBindAddr(), "hostmesh-drop");
    try {
      using cx = proc.instance("drop");
      await this.shutdown(cx);
    } finally {
      await proc[Symbol.asyncDispose]();
    }
  }
}
