/**
 * The child side of bootstrapping: `bootstrap()` / `bootstrapOrDie()` read
 * the mode from `HYPERACTOR_MESH_BOOTSTRAP_MODE` and run it (port of the
 * seed's `bootstrap()` and `Bootstrap::bootstrap`).
 *
 * - **No mode.** When `HYPERACTOR_MESH_BOOTSTRAP_ADDR` is set, the default
 *   mode (`V0ProcMesh` without config, as the seed's `Bootstrap::default()`)
 *   runs: this is how a v0 `ProcessAllocator` starts its children. Otherwise
 *   the process is not a bootstrap child and `bootstrap()` returns
 *   `{kind: "NotBootstrapChild"}` (the seed would try V0 and fail on the
 *   missing variable; a plain process is better told apart).
 * - **`Proc`.** Install the parent's config snapshot as the `ClientOverride`
 *   layer; arm the parent-death guard (config
 *   `HYPERACTOR_MESH_BOOTSTRAP_ENABLE_PDEATHSIG`); build the proc with a
 *   `LocalProcDialer` forwarder (siblings dialed in the socket dir, the rest
 *   through a `MailboxClient` on the back-end address) and the `"exit"`
 *   supervision policy (an unhandled root failure exits with code 1); boot the
 *   proc agent; serve `unix:<socketDir>/<name>`; send `{addr, agent}` to the
 *   callback address (awaiting the ack); wait for the agent's stop-all; stop
 *   the mailbox server (draining), close the forwarder, and return the code.
 * - **`Host`.** Install the mode's config snapshot as the `Runtime` layer
 *   (the seed's `host()`), arm the parent-death guard when the spawner set
 *   `HYPERACTOR_MESH_PARENT_PID` (`HostMesh.process` does; a daemon started
 *   by hand is not tied to its shell), then delegate to the `runHost` hook
 *   (the host agent lives in `mesh/`, above this layer).
 * - **`V0ProcMesh`.** The allocator protocol, see `v0_proc_mesh.ts`.
 * - **Warm (`HYPERMESH_BOOTSTRAP_WARM=1`, any inherited mode ignored).** A child pre-spawned by
 *   a warm pool (`launcher/warm_child.ts`, `warm_pool.ts`): it does what
 *   does not depend on the mode — its static module graph is already loaded
 *   (and, with no mode in its env, its first timer is warmed at load), it
 *   arms the parent-death guard — then reads one JSON line
 *   `{mode, env}` from stdin, applies the env as a cold launch would have set
 *   it, and continues exactly as `Proc` mode. EOF before a line exits 0.
 *
 * Layering: the proc agent lives in `mesh/`, which `bootstrap/` must not
 * import. The entry point (`bootstrap.ts`, above `mesh/`) injects it as the
 * `bootProcAgent` hook (and `bootV0Proc`, `runHost`).
 *
 * ## Invariants (BS-*)
 * - **BS-12 (callback after serving).** The callback is sent only once the
 *   proc serves its socket and its agent is spawned, so `Ready` implies
 *   reachable.
 * - **BS-13 (drain before exit).** After the agent's stop-all, the mailbox
 *   server is stopped and drained (every envelope it received delivered, its
 *   final acks and `Closed` written) and the forwarder closed before the exit
 *   code is returned. The server closes with `beforeExit` (CH-15): its
 *   accept loop's and connection handlers' unwinding is not awaited, and its
 *   socket file is left to the host, which removes it before it publishes
 *   the proc's exit (BS-11).
 * - **BS-53 (an exiting proc builds no stack traces).** Once the agent's
 *   stop-all has handed over the exit code, `Error.stackTraceLimit` is 0 for
 *   the rest of the process: the drain's closed listener and connections end
 *   their pending accept and reads in exceptions, and capturing their stacks
 *   cost 0.2–0.3 ms of each proc's stop (measured). Errors logged during the
 *   drain keep their message, not their stack.
 * - **BS-30 (warm is cold).** A warm child bootstraps its proc with the same
 *   payload, env (LN-7 variables, `HYPERACTOR_MESH_BOOTSTRAP_MODE` included,
 *   the warm marker removed) and config as a cold launch; its parent-death
 *   guard, armed while waiting, is kept or disarmed as the proc's config says.
 * - **BS-31 (quiet drain).** A warm child whose stdin ends before a start
 *   line exits 0 without bootstrapping.
 * - **BS-37 (no node timers).** A cold `Proc`-mode child's whole life —
 *   config, guard, serve, callback, stop-all, drain, exit — never calls
 *   `setTimeout`/`setInterval`/`clearTimeout`/`clearInterval`, whose first
 *   use loads Deno 2.9's node-compatible timers (7–14 ms of CPU); its bounds
 *   are light timers (`internal/light_timer.ts`). A warm child does not load
 *   them while it waits either (BS-49: 3 MB of RSS per child, and a slower
 *   exit); a user actor's first timer loads them, as in a cold child.
 * - **BS-39 (host boot config is Runtime).** A `Host`-mode child installs
 *   its boot config as the `Runtime` layer, so a client's config push
 *   (`SetClientConfig`, the `ClientOverride` layer) adds to it and replaces
 *   only earlier pushes, never the boot config.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import { attrs, config } from "../config/mod.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import type { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/types.ts";
import type { ActorHandle } from "../actor/types.ts";
import { ActorRef } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";
import { MailboxClient } from "../actor/transport/mailbox_client.ts";
import { LocalProcDialer } from "../actor/transport/local_proc_dialer.ts";
import { type MailboxServerHandle, serveMailbox } from "../actor/transport/mailbox_server.ts";
import { HostError } from "../host/errors.ts";
import {
  type Bootstrap,
  BOOTSTRAP_ADDR_ENV,
  defaultBootstrap,
  type EnvReader,
  type HostBootstrap,
  isBootstrapChild,
  PARENT_PID_ENV,
  type ProcBootstrap,
  processEnv,
  readBootstrapMode,
  WARM_ENV,
} from "./mode.ts";

export type { EnvReader };
import { installParentDeathGuard, releaseParentDeathClaim } from "./pdeathsig.ts";
import { bootMark, bootTraceFlush } from "./_boot_trace.ts";
import {
  applyWarmStart,
  parseWarmStart,
  readStdinLine,
  type WarmInput,
  warmUpChannels,
} from "./_warm_start.ts";
import type { BootstrapCallback } from "./manager.ts";
import { runV0ProcMesh, type V0ProcBooter } from "./v0_proc_mesh.ts";

/** What an agent boot hook may return. */
export type AgentBootResult<A extends Actor = Actor> =
  | ActorHandle<A>
  | ActorRef<A>
  | Promise<ActorHandle<A> | ActorRef<A>>;

/**
 * Boots the proc agent of a `Proc`-mode child (e.g.
 * `(proc, onStopAll) => ProcAgent.bootV1(proc, { onStopAll })`).
 * `onStopAll(code)` must be called when the agent handled a stop-all.
 */
export type ProcAgentBooter = (proc: Proc, onStopAll: (code: number) => void) => AgentBootResult;

/** Runs a `Host`-mode child; resolves with the exit code (may never resolve). */
export type HostRunner = (mode: HostBootstrap) => Promise<number>;

/** Options of {@linkcode bootstrap}. */
export interface BootstrapOptions {
  /** Where to read the mode (default `Deno.env`). */
  env?: EnvReader;
  /** Boots the v1 proc agent (required for `Proc` mode). */
  bootProcAgent?: ProcAgentBooter;
  /** Runs `Host` mode (required for it). */
  runHost?: HostRunner;
  /** Boots a v0 proc and its agent (required for `V0ProcMesh` mode). */
  bootV0Proc?: V0ProcBooter;
  /** Arm the parent-death guard in `Proc` mode (default: config `MESH_BOOTSTRAP_ENABLE_PDEATHSIG`). */
  parentDeathGuard?: boolean;
  /** Where a warm child reads its start line (default: stdin up to the first newline). */
  warmInput?: () => Promise<string | undefined>;
}

/** What {@linkcode bootstrap} did. */
export type BootstrapOutcome =
  | { kind: "NotBootstrapChild" }
  | { kind: "Exited"; code: number };

/** A required hook for the requested mode is missing. */
export class BootstrapHookMissingError extends Error {
  /** The mode. */
  readonly mode: Bootstrap["kind"];
  /**
   * Creates the error.
   * @param mode The mode that needs the hook.
   * @param hook The hook's option name.
   */
  constructor(mode: Bootstrap["kind"], hook: string) {
    super(`Cannot bootstrap ${mode} mode: no "${hook}" hook was given`);
    this.name = "BootstrapHookMissingError";
    this.mode = mode;
  }
}

function envOf(options: BootstrapOptions): EnvReader {
  return options.env ?? processEnv();
}

/**
 * The mode this process should run, if any (see the module doc).
 * @param env Where to read (default `Deno.env`).
 * @returns The mode, or `undefined` for a process that is not a bootstrap child.
 * @throws {import("./mode.ts").BootstrapModeError} For a malformed mode.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { bootstrapModeOf } from "./bootstrap.ts";
 * assertEquals(bootstrapModeOf({ get: () => undefined }), undefined);
 * const env = new Map([["HYPERACTOR_MESH_BOOTSTRAP_ADDR", "unix:@x"]]);
 * assertEquals(bootstrapModeOf({ get: (k) => env.get(k) }), { kind: "V0ProcMesh" });
 * ```
 */
export function bootstrapModeOf(env: EnvReader = envOf({})): Bootstrap | undefined {
  const mode = readBootstrapMode(env);
  if (mode !== undefined) return mode;
  return env.get(BOOTSTRAP_ADDR_ENV) === undefined ? undefined : defaultBootstrap();
}

/**
 * Runs this process's bootstrap mode (see the module doc).
 * @param options Hooks and environment.
 * @returns `NotBootstrapChild`, or `Exited` with the exit code to use.
 * @throws {import("./mode.ts").BootstrapModeError} For a malformed mode.
 * @throws {BootstrapHookMissingError} When the mode's hook is missing.
 * @throws {HostError} `AgentSpawnFailure` / `ChannelError` from `Proc` mode.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { bootstrap } from "./bootstrap.ts";
 * assertEquals(await bootstrap({ env: { get: () => undefined } }), { kind: "NotBootstrapChild" });
 * ```
 */
export async function bootstrap(options: BootstrapOptions = {}): Promise<BootstrapOutcome> {
  const env = envOf(options);
  if (!isBootstrapChild(env)) return { kind: "NotBootstrapChild" };
  // The warm marker wins over an inherited mode (a host's own `Host` mode).
  if (env.get(WARM_ENV) === "1") return await bootstrapWarm(options);
  const mode = bootstrapModeOf(env);
  if (mode === undefined) return { kind: "NotBootstrapChild" };
  switch (mode.kind) {
    case "Proc": {
      if (options.bootProcAgent === undefined) {
        throw new BootstrapHookMissingError("Proc", "bootProcAgent");
      }
      return { kind: "Exited", code: await bootstrapProc(mode, options.bootProcAgent, options) };
    }
    case "Host": {
      if (options.runHost === undefined) throw new BootstrapHookMissingError("Host", "runHost");
      // BS-39: the boot config is the Runtime layer; a client's push replaces only ClientOverride.
      if (mode.config !== undefined) config.setLayer("Runtime", mode.config);
      // OW-4: a host started by an owner (HostMesh.process) dies with it.
      const owned = env.get(PARENT_PID_ENV) !== undefined;
      const guard = owned && (options.parentDeathGuard ??
          config.get(attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG))
        ? installParentDeathGuard()
        : void releaseParentDeathClaim(); // BS-51
      try {
        return { kind: "Exited", code: await options.runHost(mode) };
      } finally {
        guard?.uninstall();
      }
    }
    case "V0ProcMesh": {
      if (options.bootV0Proc === undefined) {
        throw new BootstrapHookMissingError("V0ProcMesh", "bootV0Proc");
      }
      if (mode.config !== undefined) config.setLayer("ClientOverride", mode.config);
      return { kind: "Exited", code: await runV0ProcMesh(options.bootV0Proc, { env }) };
    }
  }
}

/**
 * {@linkcode bootstrap}, then exit the process with its code; any failure is
 * logged and exits with code 1. A process that is not a bootstrap child
 * exits with code 1 too.
 * @param options As {@linkcode bootstrap}.
 * @returns Never.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi
 */
export async function bootstrapOrDie(options: BootstrapOptions = {}): Promise<never> {
  let code = 1;
  try {
    const outcome = await bootstrap(options);
    if (outcome.kind === "Exited") code = outcome.code;
    else console.error("hypermesh: cannot bootstrap: no bootstrap mode in the environment");
  } catch (error) {
    console.error("hypermesh: failed to bootstrap mesh process:", error);
  }
  Deno.exit(code);
}

/** The warm path (see the module doc): prepare, wait for the start line, run `Proc`. */
async function bootstrapWarm(options: BootstrapOptions): Promise<BootstrapOutcome> {
  const bootProcAgent = options.bootProcAgent;
  if (bootProcAgent === undefined) throw new BootstrapHookMissingError("Proc", "bootProcAgent");
  const armGuard = () =>
    options.parentDeathGuard ?? config.get(attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG);
  let guard = armGuard() ? installParentDeathGuard() : void releaseParentDeathClaim(); // BS-51
  await warmUpChannels();
  bootMark("warm");
  bootTraceFlush();
  const input: WarmInput = options.warmInput ?? readStdinLine;
  const line = await input();
  if (line === undefined) {
    guard?.uninstall();
    return { kind: "Exited", code: 0 }; // BS-31
  }
  const mode = applyWarmStart(parseWarmStart(line)); // BS-30
  bootMark("start");
  if (mode.config !== undefined) config.setLayer("ClientOverride", mode.config);
  if (!armGuard()) guard?.uninstall(); // BS-30: the proc's config decides
  else guard ??= installParentDeathGuard();
  const code = await bootstrapProc(mode, bootProcAgent, { parentDeathGuard: false });
  return { kind: "Exited", code };
}

async function normalizeAgent(result: AgentBootResult): Promise<ActorRef> {
  const value = await result;
  if (value instanceof ActorRef) return value;
  if (value !== null && typeof value === "object" && typeof value.bind === "function") {
    return value.bind();
  }
  throw new TypeError(`Invalid agent boot result: ${String(value)}`);
}

/**
 * Runs `Proc` mode (see the module doc) and resolves with the exit code the
 * agent's stop-all reported.
 * @param mode The decoded mode.
 * @param bootProcAgent Boots the proc agent.
 * @param options `parentDeathGuard` override.
 * @returns The exit code.
 * @throws {HostError} `AgentSpawnFailure`, or `ChannelError` when serving or
 * calling back fails.
 * @tags allow-env, allow-net, allow-read, allow-write, allow-ffi
 */
export async function bootstrapProc(
  mode: ProcBootstrap,
  bootProcAgent: ProcAgentBooter,
  options: Pick<BootstrapOptions, "parentDeathGuard"> = {},
): Promise<number> {
  if (mode.config !== undefined) config.setLayer("ClientOverride", mode.config);
  bootMark("config");
  if (options.parentDeathGuard ?? config.get(attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG)) {
    // Safety net (BS-3); normal shutdown is the stop-all protocol.
    installParentDeathGuard();
  } else {
    releaseParentDeathClaim(); // BS-51: the proc's config says no guard
  }
  bootMark("guard");
  const procId: ProcId = mode.procId;
  let backend: MailboxClient;
  try {
    backend = MailboxClient.dial(mode.backendAddr);
  } catch (error) {
    throw HostError.channelError(error);
  }
  const forwarder = new LocalProcDialer({
    localAddr: procId.addr,
    socketDir: mode.socketDirPath,
    backend,
  });
  const proc = new Proc(procId, forwarder, { onUnhandledSupervisionEvent: "exit" });
  bootMark("proc");
  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => resolveExit = resolve);
  let serving: MailboxServerHandle | undefined;
  try {
    let agent: ActorRef;
    try {
      agent = await normalizeAgent(bootProcAgent(proc, (code) => resolveExit(code)));
    } catch (error) {
      throw HostError.agentSpawnFailure(procId, error);
    }
    bootMark("agent");
    const serveAddr = ChannelAddr.unix(`${mode.socketDirPath}/${procId.name}`);
    try {
      serving = serveMailbox(await serve<MessageEnvelope>(serveAddr), proc);
    } catch (error) {
      throw HostError.channelError(error);
    }
    bootMark("served");
    const message: BootstrapCallback = { addr: serveAddr.toString(), agent: agent.toString() };
    const tx = dial<BootstrapCallback>(mode.callbackAddr);
    try {
      await tx.send(message); // BS-12
    } catch (error) {
      throw HostError.channelError(error);
    } finally {
      await tx.close();
    }
    bootMark("callback");
    bootTraceFlush();
    const code = await exitCode;
    bootMark("stopAll");
    // BS-53: the proc's actors are stopped; what is left is closing its links,
    // whose pending reads and accept end in exceptions. No stack traces for them.
    Error.stackTraceLimit = 0;
    // BS-13: drained (every received envelope delivered, the final acks and
    // `Closed` written); the process exits next, so the server's accept loop
    // and connection handlers are not waited for, and the host removes its
    // socket file (CH-15, BS-11).
    serving.stop("process shutting down", { beforeExit: true });
    await serving.done;
    bootMark("drained");
    await forwarder.close();
    bootMark("closed");
    bootTraceFlush();
    return code;
  } catch (error) {
    serving?.stop("bootstrap failed");
    await serving?.done;
    await proc[Symbol.asyncDispose]();
    await forwarder.close();
    throw error;
  }
}
