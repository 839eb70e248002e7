/**
 * `HostMesh`: an owned mesh of hosts (the seed's `host_mesh.rs`). It brings
 * hosts up (`local`, `localInProcess`, `process`), attaches to running ones
 * (`attach`, HM-1..HM-4), and tears them down: `shutdown` drains every host
 * and then shuts each down; `stop` only drains, so the same addresses can be
 * attached again. `await using` a host mesh shuts it down on scope exit.
 *
 * ## Host-mesh invariants (HM-*)
 * - **HM-1 (attach-config-complete).** If `attach()` resolves, every
 *   attached host installed the client's propagatable config snapshot.
 * - **HM-2 (attach-config-fails-closed).** If the config push fails on any
 *   host, `attach()` rejects; no partially configured mesh is returned.
 * - **HM-3 (in-band-request-failure-surface).** Push requests are sent with
 *   `returnUndeliverable` off: failures surface through `attach()`, never as
 *   an undeliverable bounced to the caller.
 * - **HM-4 (host-scoped-error-reporting).** `ConfigPushError.failures`
 *   names each failing host.
 *
 * ## Invariants (MS-*)
 * - **MS-42 (two-phase shutdown).** `shutdown` drains every host before
 *   shutting any down, and resolves after the hosts acknowledged, the
 *   in-process hosts were released and the host processes it started exited.
 * - **OW-4 (hosts die with their owner).** A `HostMesh.process` host is
 *   started with this process's pid ({@linkcode PARENT_PID_ENV}) and arms the
 *   parent-death guard (BS-3) in `Host` mode; its procs carry theirs against
 *   the host. SIGKILL of the owner ends every host and proc process within
 *   the guards' latency (kernel-immediate with FFI); their socket
 *   directories are swept by the next manager that starts (OW-5).
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
import type { Context } from "../../actor/instance.ts";
import { Proc } from "../../actor/proc.ts";
import { closeProcMeshes } from "../supervision/registry.ts";
import { clientBindAddr } from "../../actor/context.ts";
import { config } from "../../config/config.ts";
import { MESH_DEFAULT_TRANSPORT } from "../../config/attrs.ts";
import { BootstrapCommand } from "../../launcher/command.ts";
import { toEnvSafeString } from "../../bootstrap/mode.ts";
import { PARENT_PID_ENV } from "../../bootstrap/pdeathsig.ts";
import { launchEnv } from "../../launcher/types.ts";
import { stopChild } from "../../launcher/stop.ts";
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
import {
  bindingAddr,
  runHost,
  type ServedHost,
  serveLocalHost,
  serveProcessHost,
} from "./_serve.ts";

export { runHost, serveLocalHost, serveProcessHost };

/** Grace of a host process between SIGTERM and SIGKILL when reaped. */
const REAP_GRACE_MS = 5_000;
export type { ServedHost };

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
  readonly #children: Deno.ChildProcess[];
  #teardown: Promise<TeardownReport> | undefined;
  /** Set once the owner shuts its hosts down on purpose (HW-5). */
  #ending = false;

  private constructor(
    ref: HostMeshRef,
    served: ServedHost[] = [],
    children: Deno.ChildProcess[] = [],
  ) {
    this.#ref = ref;
    this.#owned = [...ref.hosts];
    this.#served = served;
    this.#children = children;
    children.forEach((child, i) => {
      const host = this.#owned[i];
      // A host process this mesh started that exits unasked is lost (HW-3).
      child.status.then((status) => {
        if (!this.#ending && host !== undefined) reportHostExit(host, status);
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
   * bootstrap mode (exit on shutdown); their procs use `command` too.
   * Returns once the processes were started (messages to a host not yet
   * listening are retried by the channel layer).
   * @param extent The hosts' extent.
   * @param command A program that bootstraps (e.g. `bootstrap.ts`).
   * @param options Transport and stdio.
   * @returns The mesh.
   * @tags allow-run
   */
  static process(
    extent: Extent,
    command: BootstrapCommand,
    options: ProcessOptions = {},
  ): Promise<HostMesh> {
    const transport = options.transport ?? config.get(MESH_DEFAULT_TRANSPORT) as Transport;
    const addrs: ChannelAddr[] = [];
    const children: Deno.ChildProcess[] = [];
    const snapshot = config.snapshot();
    try {
      for (let i = 0; i < extent.numRanks; i++) {
        const addr = bindingAddr(transport);
        const mode = toEnvSafeString({
          kind: "Host",
          addr,
          command: command.toJSON(),
          config: snapshot,
          exitOnShutdown: true,
        });
        const env = launchEnv({
          bootstrapPayload: mode,
          processName: `host ${i} of ${extent}`,
          // OW-4: the host arms its parent-death guard against this process.
          command: command.withEnv({ [PARENT_PID_ENV]: String(Deno.pid) }),
          wantStdio: false,
          tailLines: 0,
        });
        children.push(
          new Deno.Command(command.program, {
            args: [...command.args],
            env,
            stdin: "null",
            stdout: options.stdio ?? "inherit",
            stderr: options.stdio ?? "inherit",
          }).spawn(),
        );
        addrs.push(addr);
      }
    } catch (error) {
      for (const c of children) {
        try {
          c.kill("SIGKILL");
        } catch { /* exited */ }
      }
      return Promise.all(children.map((c) => c.status)).then(() => {
        throw error;
      });
    }
    const ref = new HostMeshRef(instanceId("process"), {
      region: Region.fromExtent(extent),
      hosts: addrs.map((a) => new HostRef(a)),
    });
    return Promise.resolve(new HostMesh(ref, [], children));
  }

  /**
   * Attaches to running hosts and installs this process's propagatable
   * config on each (HM-1..HM-4).
   * @param cx The caller.
   * @param id The mesh id.
   * @param addrs Host front-end addresses.
   * @returns The owned mesh.
   * @throws {import("./errors.ts").ConfigPushError} When any host
   * did not acknowledge within `HYPERACTOR_MESH_ATTACH_CONFIG_TIMEOUT`.
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
    return this.#children.map((c) => c.pid);
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

  /** Releases in-process hosts and reaps the host processes (kill after a grace). */
  async #reap(): Promise<number> {
    await Promise.all(this.#served.map((s) => s.release()));
    let killed = 0;
    await Promise.all(this.#children.map(async (child) => {
      // A shut-down host exits by itself; SIGTERM (it releases and exits 0), then SIGKILL.
      const { forced } = await stopChild(child, { graceMs: REAP_GRACE_MS });
      if (forced) killed++;
    }));
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
