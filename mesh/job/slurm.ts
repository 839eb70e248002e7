/**
 * {@linkcode SlurmJob}: host daemons on the nodes of a Slurm allocation.
 * `acquire` submits a keeper batch script with `sbatch --parsable` (N nodes,
 * partition, time limit, extra `sbatch` arguments), polls `scontrol show job`
 * until the job is `RUNNING` and reads its nodes (`scontrol show hostnames`);
 * then the job layer starts one daemon per node as a job step of the
 * allocation, from the client:
 *
 * ```sh
 * srun --jobid=ID --overlap --nodes=1 --ntasks=1 --nodelist=NODE --unbuffered \
 *   deno run … bootstrap.ts host --addr tcp:NODEADDR:0 --secret-stdin --stdin-lifeline
 * ```
 *
 * `srun` carries the daemon's stdin and stdout between the client and the
 * node, so a step is exactly an ssh session of {@linkcode SshJob}: the secret
 * is the first line of its stdin, `ready <addr>` comes back on its stdout,
 * and stdin is the daemon's lifeline. `release` (`JobMesh.shutdown`,
 * disposal, or a failed start) runs `scancel ID` and waits until the job left
 * the queue.
 *
 * The keeper script only holds the allocation: it sleeps, asking `squeue`
 * every `keeperPollSeconds` for the job's steps, and exits — ending the
 * allocation — once the steps have all ended, or when none started within
 * `keeperStartSeconds`. Each daemon step first sets the job's Comment to
 * `hypermesh:steps-started` (`scontrol update`, then `exec`s the daemon), so
 * a step that ended between two polls still counts as started (the job's
 * Comment is this layer's; do not pass `--comment`).
 *
 * Requirements: the Slurm client commands on this machine (`SLURM_CONF` or
 * the cluster's configuration), deno and the program on the nodes (by
 * default this package's `bootstrap.ts` at the same path: a shared file
 * system), and nodes the client can dial: a daemon is advertised as
 * `tcp:NODEADDR:0`, NODEADDR being the node's `NodeAddr` in Slurm — the
 * address slurmctld itself dials, which is the node's name unless the
 * cluster configures otherwise — and any free port (pass `addr` to change
 * it). The client must serve an address the nodes can dial
 * (`HYPERMESH_CLIENT_ADDR`).
 *
 * ## Invariants (JB-*)
 * - **JB-5 (running before steps).** No daemon starts before the job is
 *   `RUNNING` with its node list known; a job that ends instead (`CANCELLED`,
 *   `FAILED`, `TIMEOUT`, …), that pends with a reason that cannot clear by
 *   itself (`PartitionConfig`, `PartitionNodeLimit`, …), that `sbatch`
 *   refuses, or that still pends after `pendingTimeoutMs`, fails `allocate`
 *   with a {@linkcode SlurmJobError} naming the job id, its state and
 *   reason — and the job is cancelled first.
 * - **JB-6 (scancel on release).** Shutdown, disposal and every failed start
 *   after `sbatch` run `scancel` and wait until the job is no longer pending,
 *   running or completing: no allocation outlives its {@linkcode JobMesh}.
 * - **JB-7 (the keeper follows the steps).** The batch script ends the
 *   allocation by itself once steps started (marked in the job's Comment,
 *   or seen running) and none runs any more — or none started within
 *   `keeperStartSeconds` — so a client killed with SIGKILL leaves no
 *   allocation behind: its `srun`s see their stdin close, forward the EOF,
 *   the daemons exit (JB-3), the steps end, and the keeper exits within a
 *   poll.
 * - **JB-8 (secret not in the step's environment).** `srun` propagates the
 *   caller's environment to the step; the job runs it without
 *   `HYPERMESH_CHANNEL_SECRET`, so the secret reaches a daemon only on its
 *   stdin (JB-4). (It crosses the network inside Slurm's I/O stream, like any
 *   job's stdin.)
 * - **JB-9 (one allocation per job object).** A `SlurmJob` acquires once;
 *   `jobId` and `nodes` describe that allocation.
 *
 * An `srun` killed by SIGKILL (the pid in `JobMesh.pids`) ends its step
 * too: srun's shepherd child sees it die and cancels the step, taking the
 * daemon down (JB-3). Not covered: the shepherd killed as well — Slurm does
 * not close a task's stdin when its `srun` vanishes, so the step runs on
 * until `scancel` (shutdown) or the job's time limit.
 * @module
 */

import { CHANNEL_SECRET_ENV } from "../../channel/secret.ts";
import { denoCommand, packageProgram } from "./_command.ts";
import type { HostDaemonSpec, HostJob } from "./job.ts";

/** The job Comment a daemon step sets as it starts (JB-7). */
const STEP_MARK = "hypermesh:steps-started";

/** States of a job that has ended (it will not run, or no longer runs). */
const ENDED_STATES: ReadonlySet<string> = new Set([
  "BOOT_FAIL",
  "CANCELLED",
  "COMPLETED",
  "DEADLINE",
  "FAILED",
  "NODE_FAIL",
  "OUT_OF_MEMORY",
  "PREEMPTED",
  "REVOKED",
  "SPECIAL_EXIT",
  "TIMEOUT",
]);

/** States of a job still in the queue (pending, running or winding down). */
const QUEUED_STATES: ReadonlySet<string> = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_HOLD",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "STOPPED",
]);

/**
 * Pending reasons that do not clear by themselves (the request exceeds the
 * partition or the account's limits, or names what does not exist): the job
 * fails at once instead of waiting `pendingTimeoutMs` (JB-5).
 */
const HOPELESS_REASONS: ReadonlySet<string> = new Set([
  "BadConstraints",
  "InvalidAccount",
  "InvalidQOS",
  "PartitionConfig",
  "PartitionNodeLimit",
  "PartitionTimeLimit",
]);

/**
 * The Slurm job did not give hosts (JB-5): `sbatch` refused it, it ended, it
 * pends for a reason that cannot clear, or it pended too long. The job has
 * been cancelled.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SlurmJobError } from "./slurm.ts";
 * const err = new SlurmJobError("12", { state: "PENDING", reason: "PartitionConfig" });
 * assertEquals(err.message, "Cannot start slurm job 12: it is PENDING (PartitionConfig)");
 * ```
 */
export class SlurmJobError extends Error {
  /** The job id (`""` when `sbatch` refused the job). */
  readonly jobId: string;
  /** The job's state (`PENDING`, `CANCELLED`, …; `REJECTED` when `sbatch` failed). */
  readonly state: string;
  /** Slurm's reason, or what went wrong. */
  readonly reason: string;

  /**
   * Creates the error.
   * @param jobId The job id.
   * @param status The job's state and Slurm's reason.
   * @param options `cause`.
   */
  constructor(
    jobId: string,
    status: { state: string; reason: string },
    options?: ErrorOptions,
  ) {
    const { state, reason } = status;
    super(
      jobId === ""
        ? `Cannot submit slurm job: sbatch refused it (${reason})`
        : `Cannot start slurm job ${jobId}: it is ${state} (${reason})`,
      options,
    );
    this.name = "SlurmJobError";
    this.jobId = jobId;
    this.state = state;
    this.reason = reason;
  }
}

/** Options of {@linkcode SlurmJob}. */
export interface SlurmJobOptions {
  /** How many nodes, one daemon each (default 1). */
  nodes?: number;
  /** `sbatch --partition`. */
  partition?: string;
  /** `sbatch --time` (`MM`, `HH:MM:SS`, `D-HH`, …). */
  time?: string;
  /** `sbatch --job-name` (default `hypermesh`). */
  jobName?: string;
  /** More `sbatch` arguments (e.g. `["--account=proj", "--exclusive"]`). */
  sbatchArgs?: readonly string[];
  /** More `srun` arguments of each daemon step (e.g. `["--cpus-per-task=8"]`). */
  srunArgs?: readonly string[];
  /** The program on the nodes (default this package's `bootstrap.ts`, same path). */
  program?: string;
  /** deno on the nodes (default this deno's path). */
  deno?: string;
  /** A `deno.json` on the nodes for `--config` (default this package's, same path). */
  config?: string;
  /** Extra `host` arguments, e.g. `["--command-worker"]`. */
  hostArgs?: readonly string[];
  /** The advertised address of a node (default `tcp:NODEADDR:0`, its `NodeAddr` in Slurm). */
  addr?: (node: string, nodeAddr: string) => string;
  /** How long the job may pend before it fails (default 600 000 ms). */
  pendingTimeoutMs?: number;
  /** How often the job's state is read while it pends (default 500 ms). */
  pollMs?: number;
  /** How often the keeper script looks at the steps (default 10 s, JB-7). */
  keeperPollSeconds?: number;
  /** How long the keeper waits for the first step (default 300 s, JB-7; more than `allocate`'s `timeoutMs`). */
  keeperStartSeconds?: number;
  /** Where the Slurm commands are (default from `PATH`). */
  slurmBin?: string;
}

/**
 * The keeper batch script of a job (JB-7): `#SBATCH` lines, then a loop that
 * holds the allocation until its steps have ended.
 * @param options The job's options.
 * @returns The script, for `sbatch` on stdin.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { batchScript } from "./slurm.ts";
 * const script = batchScript({ nodes: 2, partition: "gpu", time: "1:00:00" });
 * assert(script.includes("#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n"));
 * assert(script.includes("#SBATCH --partition=gpu\n#SBATCH --time=1:00:00\n"));
 * ```
 */
export function batchScript(options: SlurmJobOptions = {}): string {
  const poll = options.keeperPollSeconds ?? 10;
  const start = options.keeperStartSeconds ?? 300;
  const lines = [
    "#!/bin/sh",
    `#SBATCH --job-name=${options.jobName ?? "hypermesh"}`,
    `#SBATCH --nodes=${options.nodes ?? 1}`,
    "#SBATCH --ntasks-per-node=1",
    "#SBATCH --output=/dev/null",
    ...(options.partition !== undefined ? [`#SBATCH --partition=${options.partition}`] : []),
    ...(options.time !== undefined ? [`#SBATCH --time=${options.time}`] : []),
    "# hypermesh SlurmJob keeper (JB-7): holds the allocation while the client's",
    "# host daemons run as steps of it (srun from the client); exits once the",
    "# steps have all ended, or when none started in time. A step marks the job's",
    `# Comment ${STEP_MARK} as it starts, so a step shorter than a poll counts.`,
    "trap 'exit 0' TERM",
    "seen=0",
    "waited=0",
    "while :; do",
    `  sleep ${poll}`,
    `  waited=$((waited + ${poll}))`,
    "  # The mark first: a step that set it was in the queue before the steps are read.",
    `  [ "$(squeue -h -j "$SLURM_JOB_ID" -o %k 2>/dev/null)" = ${STEP_MARK} ] && seen=1`,
    "  # A failed squeue (controller busy) counts as nothing seen, not as no steps.",
    '  out=$(squeue -h -s -j "$SLURM_JOB_ID" -o %i 2>/dev/null) || continue',
    `  steps=$(printf '%s\\n' "$out" | grep -cv -e '\\.batch$' -e '\\.extern$' -e '^$')`,
    '  if [ "$steps" -gt 0 ]; then seen=1',
    `  elif [ "$seen" = 1 ] || [ "$waited" -ge ${start} ]; then exit 0`,
    "  fi",
    "done",
    "",
  ];
  return lines.join("\n");
}

/**
 * Host daemons on the nodes of a Slurm allocation (JB-5..JB-9).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SlurmJob } from "./slurm.ts";
 * const job = new SlurmJob({ nodes: 2, partition: "debug", time: "10" });
 * assertEquals(job.engine, "slurm");
 * assertEquals(job.jobId, undefined); // acquired by `allocate`
 * ```
 */
export class SlurmJob implements HostJob {
  /** `slurm`. */
  readonly engine = "slurm";
  readonly #options: SlurmJobOptions;
  #jobId: string | undefined;
  #nodes: string[] = [];
  #nodeAddrs = new Map<string, string>();
  #acquired = false;
  #released: Promise<void> | undefined;

  /**
   * A job of `options.nodes` nodes.
   * @param options Nodes, partition, time, extra `sbatch`/`srun` arguments, program.
   * @throws {RangeError} For a node count below 1.
   */
  constructor(options: SlurmJobOptions = {}) {
    const nodes = options.nodes ?? 1;
    if (!Number.isInteger(nodes) || nodes < 1) {
      throw new RangeError(`Invalid node count: ${options.nodes}`);
    }
    this.#options = { ...options, nodes };
  }

  /** The job id, once submitted. */
  get jobId(): string | undefined {
    return this.#jobId;
  }

  /** The allocated nodes, in order, once running. */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  /**
   * Submits the keeper script and waits until the job runs (JB-5).
   * @param options Cancellation.
   * @throws {SlurmJobError} When the job did not start (it has been cancelled).
   * @throws {Error} When acquired before (JB-9).
   */
  async acquire(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#acquired) throw new Error("Cannot acquire slurm job: it was acquired before");
    this.#acquired = true;
    const o = this.#options;
    const submitted = await this.#run("sbatch", [
      "--parsable",
      ...(o.sbatchArgs ?? []),
    ], batchScript(o));
    if (submitted.code !== 0) {
      throw new SlurmJobError("", {
        state: "REJECTED",
        reason: lastLine(submitted.stderr) || `exit ${submitted.code}`,
      });
    }
    this.#jobId = submitted.stdout.trim().split(";")[0];
    try {
      this.#nodes = await this.#waitRunning(options.signal);
    } catch (error) {
      await this.release();
      throw error;
    }
  }

  /**
   * The `srun` command of each node.
   * @param hostArgs The `host` arguments for an address.
   * @returns One spec per node (named by the node).
   */
  daemons(hostArgs: (addr: string) => string[]): HostDaemonSpec[] {
    if (this.#jobId === undefined) throw new Error("Cannot start slurm daemons: not acquired");
    const o = this.#options;
    const pkg = packageProgram();
    const program = o.program ?? pkg.program;
    const config = o.config ?? (o.program === undefined ? pkg.config : undefined);
    return this.#nodes.map((node) => {
      const nodeAddr = this.#nodeAddrs.get(node) ?? node;
      const host = nodeAddr.includes(":") ? `[${nodeAddr}]` : nodeAddr;
      return {
        name: node,
        command: [
          "env",
          "-u",
          CHANNEL_SECRET_ENV, // JB-8
          this.#bin("srun"),
          `--jobid=${this.#jobId}`,
          "--overlap", // shares the keeper's CPUs
          "--nodes=1",
          "--ntasks=1",
          `--nodelist=${node}`,
          "--job-name=hypermesh-host",
          "--unbuffered",
          "--quiet",
          ...(o.srunArgs ?? []),
          // JB-7: the step marks the job as it starts, then becomes the daemon.
          "sh",
          "-c",
          `scontrol update JobId="$SLURM_JOB_ID" Comment=${STEP_MARK} >/dev/null 2>&1; exec "$@"`,
          "sh",
          ...denoCommand(
            {
              deno: o.deno ?? Deno.execPath(),
              program,
              ...(config !== undefined ? { config } : {}),
              ...(o.hostArgs ? { hostArgs: o.hostArgs } : {}),
            },
            hostArgs(o.addr?.(node, nodeAddr) ?? `tcp:${host}:0`),
          ),
        ],
      };
    });
  }

  /**
   * Cancels the job and waits until it left the queue (JB-6). Idempotent.
   */
  release(): Promise<void> {
    return (this.#released ??= this.#cancel());
  }

  async #cancel(): Promise<void> {
    const id = this.#jobId;
    if (id === undefined) return;
    await this.#run("scancel", [id]);
    for (let i = 0; i < 600; i++) {
      const { state } = await this.#state();
      if (!QUEUED_STATES.has(state)) return;
      await sleep(100);
    }
  }

  async #waitRunning(signal: AbortSignal | undefined): Promise<string[]> {
    const id = this.#jobId!;
    const timeoutMs = this.#options.pendingTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    let last = { state: "UNKNOWN", reason: "", nodeList: "" };
    while (true) {
      signal?.throwIfAborted();
      last = await this.#state();
      if (last.state === "RUNNING") break;
      if (ENDED_STATES.has(last.state) || HOPELESS_REASONS.has(last.reason)) {
        throw new SlurmJobError(id, { state: last.state, reason: last.reason || "None" });
      }
      if (Date.now() >= deadline) {
        throw new SlurmJobError(id, {
          state: last.state,
          reason: `${last.reason || "None"}; still not running after ${timeoutMs} ms`,
        });
      }
      await sleep(this.#options.pollMs ?? 500, signal);
    }
    const names = await this.#run("scontrol", ["show", "hostnames", last.nodeList]);
    const nodes = names.stdout.split("\n").map((n) => n.trim()).filter((n) => n !== "");
    if (names.code !== 0 || nodes.length === 0) {
      throw new SlurmJobError(id, {
        state: "RUNNING",
        reason: `cannot read its nodes "${last.nodeList}"`,
      });
    }
    const shown = await this.#run("scontrol", ["show", "-o", "node", last.nodeList]);
    for (const line of shown.stdout.split("\n")) {
      const name = field(line, "NodeName");
      const addr = field(line, "NodeAddr");
      if (name !== undefined && addr !== undefined && addr !== "") this.#nodeAddrs.set(name, addr);
    }
    return nodes;
  }

  /** The job's state, reason and node list (`scontrol show -o job`). */
  async #state(): Promise<{ state: string; reason: string; nodeList: string }> {
    const out = await this.#run("scontrol", ["show", "-o", "job", this.#jobId!]);
    if (out.code !== 0) return { state: "UNKNOWN", reason: lastLine(out.stderr), nodeList: "" };
    return {
      state: field(out.stdout, "JobState") ?? "UNKNOWN",
      reason: field(out.stdout, "Reason") ?? "",
      nodeList: field(out.stdout, "NodeList") ?? "",
    };
  }

  #bin(name: string): string {
    return this.#options.slurmBin !== undefined ? `${this.#options.slurmBin}/${name}` : name;
  }

  async #run(
    name: string,
    args: string[],
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const child = new Deno.Command(this.#bin(name), {
        args,
        stdin: stdin !== undefined ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
        await writer.close().catch(() => {});
      }
      const out = await child.output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    } catch (error) {
      return { code: 127, stdout: "", stderr: `cannot run ${name}: ${error}` };
    }
  }
}

/** The value of `KEY=value` in `scontrol show -o` output (a reason may hold spaces). */
function field(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}=(.*?)(?=\\s[A-Za-z:/]+=|$)`).exec(line.trim());
  return m?.[1];
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
