/**
 * Jobs: host meshes obtained from an engine users already run — daemons on
 * this machine ({@linkcode LocalJob}) or started over `ssh` ({@linkcode SshJob})
 * — instead of daemons started and kept alive by hand. {@linkcode allocate}
 * starts one host daemon (`bootstrap.ts host`) per host of the job, waits
 * until every one printed `ready <addr>`, attaches to them
 * (`HostMesh.attach`, HM-1..HM-4) and returns a {@linkcode JobMesh}; its
 * `shutdown()` (or `await using`) shuts the hosts down and ends what the
 * engine started. Switching engines is one line:
 *
 * ```ts ignore
 * await using job = await allocate(cx, "work", new LocalJob({ hosts: 2 }));
 * await using job = await allocate(cx, "work", new SshJob({ hosts: ["node1", "node2"] }));
 * ```
 *
 * A job's daemons run `host --addr ADDR --secret-stdin --stdin-lifeline`:
 * the channel secret travels on the daemon's stdin and stdin is its
 * lifeline.
 *
 * ## Invariants (JB-*)
 * - **JB-1 (all or nothing).** `allocate` resolves only once every host of
 *   the job printed `ready` within `timeoutMs` and the attach succeeded;
 *   otherwise it rejects with a {@linkcode JobStartError} naming each host
 *   that did not come up and why (timed out, or exited with its stderr
 *   tail), after ending every process it started.
 * - **JB-2 (release).** `JobMesh.shutdown` and disposal shut the hosts down
 *   (MS-42) and then end every process the engine started (the daemons, the
 *   ssh clients): when they resolve, none of them runs.
 * - **JB-3 (lifeline).** A daemon started by a job exits, with its procs,
 *   when its stdin closes: the client process dying or the ssh session
 *   ending takes the host down.
 * - **JB-4 (secret on stdin).** The client's channel secret reaches a
 *   daemon as the first line of its stdin, never on a command line or in an
 *   environment ssh forwards.
 *
 * @module
 */

import type { Context } from "../../actor/types.ts";
import type { ChannelAddr } from "../../channel/addr.ts";
import { channelSecrets } from "../../channel/secret.ts";
import { HostMesh, type TeardownReport } from "../host_mesh/host_mesh.ts";
import type { HostCallOptions, HostMeshRef } from "../host_mesh/host_mesh_ref.ts";
import { StartedDaemon } from "./_daemon.ts";

/** The command starting one host daemon. */
export interface HostDaemonSpec {
  /** The host's name in messages (`local#0`, `user@node1:22`). */
  name: string;
  /** The program and its arguments (`deno run … host …`, or `ssh … -- …`). */
  command: string[];
}

/**
 * An engine's job: which host daemons to start, and how.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import type { HostJob } from "./job.ts";
 * const job: HostJob = {
 *   engine: "echo",
 *   daemons: (hostArgs) => [{ name: "a", command: ["echo", ...hostArgs("tcp:localhost:0")] }],
 * };
 * assertEquals(job.daemons((addr) => ["host", "--addr", addr])[0].command.at(-1), "tcp:localhost:0");
 * ```
 */
export interface HostJob {
  /** The engine's name (`local`, `ssh`), for messages. */
  readonly engine: string;
  /**
   * The commands, one per host.
   * @param hostArgs The `host` subcommand and its arguments for a host advertised at `addr`.
   * @returns One spec per host.
   */
  daemons(hostArgs: (addr: string) => string[]): HostDaemonSpec[];
}

/** A host that did not come up. */
export interface JobHostFailure {
  /** The host's name. */
  host: string;
  /** Why (`did not print ready within 30000 ms`, `exited with code 127: …`). */
  reason: string;
}

/**
 * Hosts of a job did not come up (JB-1); every process the job started has
 * been ended.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { JobStartError } from "./job.ts";
 * const err = new JobStartError("ssh", [{ host: "node2", reason: "exited with code 255" }]);
 * assertEquals(err.message, "Cannot start ssh job: node2 did not come up (exited with code 255)");
 * ```
 */
export class JobStartError extends Error {
  /** The engine. */
  readonly engine: string;
  /** Each host that did not come up, with the reason. */
  readonly failures: readonly JobHostFailure[];
  /**
   * Creates the error.
   * @param engine The engine.
   * @param failures The hosts that did not come up.
   * @param options `cause`.
   */
  constructor(engine: string, failures: readonly JobHostFailure[], options?: ErrorOptions) {
    const list = failures.map((f) => `${f.host} did not come up (${f.reason})`).join("; ");
    super(`Cannot start ${engine} job: ${list}`, options);
    this.name = "JobStartError";
    this.engine = engine;
    this.failures = failures;
  }
}

/** Options of {@linkcode allocate}. */
export interface AllocateOptions {
  /** How long every host has to print `ready` (default 60 000 ms). */
  timeoutMs?: number;
  /** Grace of each step when ending a daemon or ssh session (default 5 000 ms). */
  graceMs?: number;
  /** Cancels the allocation (the started processes are ended). */
  signal?: AbortSignal;
}

/** What an engine started for a job, and how to end it. */
export interface JobProcesses {
  /** The engine (`local`, `ssh`). */
  readonly engine: string;
  /** The hosts' names, in rank order. */
  readonly hostNames: readonly string[];
  /** The pids of the processes the engine started (daemons or ssh clients). */
  readonly pids: readonly number[];
  /**
   * Ends them all (JB-2). Idempotent.
   * @returns How many needed a signal.
   */
  end(): Promise<number>;
}

/**
 * A host mesh obtained from a job: the attached {@linkcode HostMesh} plus
 * what the engine started. `shutdown()` or disposal releases both (JB-2).
 */
export class JobMesh implements AsyncDisposable {
  /** The engine. */
  readonly engine: string;
  readonly #mesh: HostMesh;
  readonly #processes: JobProcesses;

  /**
   * Wraps an attached mesh and the engine's processes (made by {@linkcode allocate}).
   * @param mesh The attached hosts.
   * @param processes What the engine started.
   */
  constructor(mesh: HostMesh, processes: JobProcesses) {
    this.engine = processes.engine;
    this.#mesh = mesh;
    this.#processes = processes;
  }

  /** The hosts' names, in rank order. */
  get hostNames(): readonly string[] {
    return this.#processes.hostNames;
  }

  /** The attached host mesh (spawn procs with `mesh.spawn` or `ref.spawn`). */
  get mesh(): HostMesh {
    return this.#mesh;
  }

  /** The hosts' reference. */
  get ref(): HostMeshRef {
    return this.#mesh.ref;
  }

  /** The pids of the processes this job started (daemons or ssh clients). */
  get pids(): number[] {
    return [...this.#processes.pids];
  }

  /**
   * Shuts the hosts down (drain, then `ShutdownHost`, MS-42) and ends every
   * process the job started (JB-2). Idempotent.
   * @param cx The caller.
   * @param options Grace and concurrency of the hosts' teardown.
   * @returns The hosts' teardown report; `killed` also counts job processes
   * that had to be signalled.
   */
  async shutdown(cx: Context, options: HostCallOptions = {}): Promise<TeardownReport> {
    const report = await this.#mesh.shutdown(cx, options);
    const killed = await this.#processes.end();
    return { ...report, killed: report.killed + killed };
  }

  /** Shuts the hosts down from an ephemeral proc, then ends the job's processes (JB-2). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#mesh[Symbol.asyncDispose]();
    } finally {
      await this.#processes.end();
    }
  }
}

/** The engine's processes of `daemons` as {@linkcode JobProcesses}. */
function processesOf(
  engine: string,
  daemons: readonly StartedDaemon[],
  graceMs: number,
): JobProcesses {
  let ended: Promise<number> | undefined;
  return {
    engine,
    hostNames: daemons.map((d) => d.name),
    pids: daemons.map((d) => d.pid),
    end: () => (ended ??= stopAll(daemons, graceMs)),
  };
}

/** Ends every daemon (lifeline first, JB-3); how many needed a signal. */
async function stopAll(daemons: readonly StartedDaemon[], graceMs: number): Promise<number> {
  const forced = await Promise.all(daemons.map(async (d) => {
    const status = await d.stop(graceMs);
    return status.signal !== null;
  }));
  return forced.filter((f) => f).length;
}

/**
 * Starts the job's host daemons, waits until all are ready, attaches (JB-1).
 * @param cx The caller (the client the hosts reply to: with remote hosts it
 * must serve an address they can dial, `HYPERMESH_CLIENT_ADDR`).
 * @param name The mesh id.
 * @param job The engine's job.
 * @param options Start timeout, stop grace, cancellation.
 * @returns The job's mesh; shut it down (or `await using` it).
 * @throws {JobStartError} Naming each host that did not come up in time.
 * @throws {import("../host_mesh/errors.ts").ConfigPushError} When the attach
 * failed (the daemons are ended first).
 * @tags allow-run, allow-net, allow-read, allow-env
 * @example
 * ```ts ignore
 * const cx = await context();
 * await using job = await allocate(cx, "work", new LocalJob({ hosts: 2 }), { timeoutMs: 30_000 });
 * const procs = await job.ref.spawn(cx, "procs", Extent.unity());
 * ```
 */
export async function allocate(
  cx: Context,
  name: string,
  job: HostJob,
  options: AllocateOptions = {},
): Promise<JobMesh> {
  const { timeoutMs = 60_000, graceMs = 5_000, signal } = options;
  signal?.throwIfAborted();
  const secret = channelSecrets()?.[0];
  const hostArgs = (addr: string) => [
    "host",
    "--addr",
    addr,
    ...(secret !== undefined ? ["--secret-stdin"] : ["--insecure"]),
    "--stdin-lifeline", // JB-3
  ];
  const specs = job.daemons(hostArgs);
  const daemons: StartedDaemon[] = [];
  try {
    for (const spec of specs) {
      // JB-4: the secret goes to stdin, not into the command line.
      daemons.push(StartedDaemon.start({ ...spec, stdinLine: secret?.toEnv() }));
    }
  } catch (error) {
    await stopAll(daemons, graceMs);
    throw new JobStartError(job.engine, [
      { host: specs[daemons.length].name, reason: `cannot start: ${error}` },
    ], { cause: error });
  }
  const addrs = await readyAll(daemons, timeoutMs, signal);
  if (!Array.isArray(addrs)) {
    await stopAll(daemons, graceMs);
    signal?.throwIfAborted();
    throw new JobStartError(job.engine, addrs.failures); // JB-1
  }
  try {
    const mesh = await HostMesh.attach(cx, name, addrs);
    return new JobMesh(mesh, processesOf(job.engine, daemons, graceMs));
  } catch (error) {
    await stopAll(daemons, graceMs);
    throw error;
  }
}

/** Every daemon's ready address, or the failures once all settled or the time is up. */
async function readyAll(
  daemons: readonly StartedDaemon[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ChannelAddr[] | { failures: JobHostFailure[] }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
    onAbort = () => resolve("late");
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const outcomes = await Promise.all(daemons.map((d) =>
      Promise.race([
        d.ready.then((addr) => ({ addr }), (error: Error) => ({ reason: error.message })),
        late.then(() => ({ reason: `did not print ready within ${timeoutMs} ms` })),
      ])
    ));
    const failures = outcomes.flatMap((o, i) =>
      "reason" in o ? [{ host: daemons[i].name, reason: o.reason }] : []
    );
    if (failures.length > 0) return { failures };
    return outcomes.map((o) => (o as { addr: ChannelAddr }).addr);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
