/**
 * `ProcessProcManager`: one OS process per proc (the seed's toy manager).
 *
 * Each child runs `program args…` with
 * - `HYPERACTOR_HOST_PROC_ID`: the proc id to assume,
 * - `HYPERACTOR_HOST_BACKEND_ADDR`: the host back-end to forward to,
 * - `HYPERACTOR_HOST_CALLBACK_ADDR`: where to report `{addr, agent}`
 *
 * and is expected to call {@linkcode bootProc}. Each child gets its own
 * process group; disposing the manager SIGKILLs every group it started and
 * reaps the children (HO-7). There is no shutdown control plane and no exit
 * monitor: `terminate()`/`kill()` reject with `Unsupported` and
 * `ready()`/`wait()` resolve immediately (the handle exists only after the
 * child called back).
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { serve } from "../channel/mod.ts";
import type { ChannelServer } from "../channel/types.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/actor.ts";
import { ActorRef } from "../actor/port.ts";
import type { Context } from "../actor/instance.ts";
import type { StopOptions } from "../internal/stop_options.ts";
import { HostError } from "./errors.ts";
import { type ProcHandle, type ProcManager, TerminateError } from "./proc_handle.ts";
import {
  HOST_BACKEND_ADDR_ENV,
  HOST_CALLBACK_ADDR_ENV,
  HOST_PROC_ID_ENV,
  type ProcCallback,
} from "./boot_proc.ts";

/** Options of {@linkcode ProcessProcManager}. */
export interface ProcessProcManagerOptions {
  /** Arguments before nothing else (e.g. `["run", "-A", "child.ts"]` for `deno`). */
  args?: string[];
  /** Extra environment for every child. */
  env?: Record<string, string>;
  /** Where the children's stdout/stderr go (default `"inherit"`). */
  output?: "inherit" | "null";
}

/**
 * The handle of a proc running in a child process. Terminal status:
 * `undefined`.
 *
 * @typeParam A The agent actor type.
 */
export class ProcessHandle<A extends Actor = Actor> implements ProcHandle<void, A> {
  /** The proc's id. */
  readonly procId: ProcId;
  /** The child's OS pid. */
  readonly pid: number;
  readonly #addr: ChannelAddr;
  readonly #agentRef: ActorRef<A>;

  /**
   * Normally created by {@linkcode ProcessProcManager.spawn}.
   * @param procId The proc's id.
   * @param pid The child's pid.
   * @param addr The proc's own address.
   * @param agentRef Its agent.
   */
  constructor(procId: ProcId, pid: number, addr: ChannelAddr, agentRef: ActorRef<A>) {
    this.procId = procId;
    this.pid = pid;
    this.#addr = addr;
    this.#agentRef = agentRef;
  }

  /**
   * The proc's address.
   * @returns The proc's own address.
   */
  addr(): ChannelAddr {
    return this.#addr;
  }

  /**
   * The proc's agent.
   * @returns The agent.
   */
  agentRef(): ActorRef<A> {
    return this.#agentRef;
  }

  /**
   * Waits until the proc is Ready.
   * @returns Resolves at once: the handle exists only after the child called back.
   */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Waits for the proc's terminal status.
   * @returns Resolves at once: this toy manager does not monitor exits.
   */
  wait(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Always rejects: this toy manager cannot signal procs.
   * @param _cx Unused.
   * @param _options Unused.
   * @returns Never resolves.
   * @throws {TerminateError} Always `Unsupported`.
   */
  terminate(_cx: Context, _options?: StopOptions): Promise<void> {
    return Promise.reject(TerminateError.unsupported());
  }

  /**
   * Always rejects: this toy manager cannot signal procs.
   * @param _reason Unused.
   * @returns Never resolves.
   * @throws {TerminateError} Always `Unsupported`.
   */
  kill(_reason?: string): Promise<void> {
    return Promise.reject(TerminateError.unsupported());
  }
}

function killGroup(child: Deno.ChildProcess): void {
  try {
    Deno.kill(-child.pid, "SIGKILL"); // the child leads its own group (detached)
  } catch {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }
}

function parseCallback(value: unknown): { addr: ChannelAddr; agent: ActorRef } {
  const v = value as Partial<ProcCallback> | null;
  if (typeof v?.addr !== "string" || typeof v.agent !== "string") {
    throw new TypeError(`Invalid proc callback: ${JSON.stringify(value)}`);
  }
  return { addr: ChannelAddr.parse(v.addr), agent: ActorRef.attest(v.agent) };
}

/**
 * A manager that runs every proc in its own child process.
 *
 * @typeParam A The agent actor type the children install.
 * @example
 * ```ts ignore
 * const manager = new ProcessProcManager<EchoActor>(Deno.execPath(), {
 *   args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "child.ts"],
 * });
 * const { host } = await Host.serve(manager, ChannelAddr.any("unix"));
 * await using _ = host; // disposes the manager: kills the children
 * const { agentRef } = await host.spawn("proc1");
 * ```
 */
export class ProcessProcManager<A extends Actor = Actor>
  implements ProcManager<ProcessHandle<A>, void>, AsyncDisposable {
  readonly #program: string;
  readonly #args: string[];
  readonly #env: Record<string, string>;
  readonly #output: "inherit" | "null";
  readonly #children = new Map<string, Deno.ChildProcess>();
  #disposed = false;

  /**
   * Creates the instance.
   * @param program The executable (path or name on `PATH`).
   * @param options Arguments, environment, output.
   * @throws {TypeError} For an empty program.
   */
  constructor(program: string, options: ProcessProcManagerOptions = {}) {
    if (typeof program !== "string" || program === "") {
      throw new TypeError(`Invalid program: "${program}"`);
    }
    this.#program = program;
    this.#args = options.args ?? [];
    this.#env = options.env ?? {};
    this.#output = options.output ?? "inherit";
  }

  /** Pids of the children started and not yet reaped, by proc key. */
  get pids(): ReadonlyMap<string, number> {
    return new Map([...this.#children].map(([key, child]) => [key, child.pid]));
  }

  /**
   * The preferred transport.
   * @returns `"unix"`.
   */
  transport(): "unix" {
    return "unix";
  }

  /**
   * Starts a child for `procId` and waits for its `{addr, agent}` callback.
   * @param procId The proc's id.
   * @param forwarderAddr The host back-end.
   * @returns Its handle.
   * @throws {HostError} `ChannelError` (callback channel), `ProcessSpawnFailure`
   * (the OS refused), `ProcessConfigurationFailure` (the child exited before
   * calling back, or sent garbage).
   * @tags allow-run, allow-net, allow-read, allow-write
   */
  async spawn(procId: ProcId, forwarderAddr: ChannelAddr): Promise<ProcessHandle<A>> {
    if (this.#disposed) throw HostError.processSpawnFailure(procId, "manager disposed");
    if (this.#children.has(procId.key)) throw HostError.procExists(procId.name);
    let callback: ChannelServer<ProcCallback>;
    try {
      callback = await serve<ProcCallback>(ChannelAddr.any("unix"));
    } catch (error) {
      throw HostError.channelError(error);
    }
    try {
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(this.#program, {
          args: this.#args,
          env: {
            ...this.#env,
            [HOST_PROC_ID_ENV]: procId.toString(),
            [HOST_BACKEND_ADDR_ENV]: forwarderAddr.toString(),
            [HOST_CALLBACK_ADDR_ENV]: callback.addr.toString(),
          },
          stdin: "null",
          stdout: this.#output,
          stderr: this.#output,
          detached: true, // own process group: the group is killed on dispose (HO-7)
        }).spawn();
      } catch (error) {
        throw HostError.processSpawnFailure(procId, error);
      }
      this.#children.set(procId.key, child); // retained for the manager's lifetime (HO-7)
      try {
        return await this.#awaitCallback(procId, child, callback);
      } catch (error) {
        // A child that never became a usable proc is not left running.
        this.#children.delete(procId.key);
        killGroup(child);
        await child.status;
        throw error;
      }
    } finally {
      await callback.close();
    }
  }

  async #awaitCallback(
    procId: ProcId,
    child: Deno.ChildProcess,
    callback: ChannelServer<ProcCallback>,
  ): Promise<ProcessHandle<A>> {
    const exited = child.status.then((status) => ({ exited: status }));
    const message = await Promise.race([callback.recv().then((value) => ({ value })), exited]);
    if ("exited" in message) {
      throw HostError.processConfigurationFailure(
        procId,
        `process exited with code ${message.exited.code} before calling back`,
      );
    }
    if (message.value === undefined) {
      throw HostError.processConfigurationFailure(procId, "callback channel closed");
    }
    let parsed;
    try {
      parsed = parseCallback(message.value);
    } catch (error) {
      throw HostError.processConfigurationFailure(procId, error);
    }
    return new ProcessHandle<A>(procId, child.pid, parsed.addr, parsed.agent as ActorRef<A>);
  }

  /** SIGKILLs every child's process group and reaps them (HO-7). Idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    const children = [...this.#children.values()];
    this.#children.clear();
    for (const child of children) killGroup(child);
    await Promise.all(children.map((child) => child.status));
  }
}
