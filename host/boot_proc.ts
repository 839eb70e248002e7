/**
 * The child side of the {@linkcode ProcessProcManager} protocol.
 *
 * A process started by the manager reads three environment variables
 * ({@linkcode HOST_PROC_ID_ENV}, {@linkcode HOST_BACKEND_ADDR_ENV},
 * {@linkcode HOST_CALLBACK_ADDR_ENV}), builds its proc (forwarding to the host
 * back-end), boots its agent, serves the proc on a fresh address of the
 * back-end's transport, and sends `{addr, agent}` ({@linkcode ProcCallback})
 * to the callback address.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { ProcId } from "../actor/reference.ts";
import type { Actor } from "../actor/types.ts";
import { Proc } from "../actor/proc.ts";
import type { ProcOptions } from "../actor/types.ts";
import { MailboxClient } from "../actor/transport/mailbox_client.ts";
import { type MailboxServerHandle, serveMailbox } from "../actor/transport/mailbox_server.ts";
import { HostError } from "./errors.ts";
import { type AgentSpawner, spawnAgent } from "./_agent.ts";

/** Environment variable carrying the proc id to assume. */
export const HOST_PROC_ID_ENV = "HYPERACTOR_HOST_PROC_ID";
/** Environment variable carrying the host back-end address to forward to. */
export const HOST_BACKEND_ADDR_ENV = "HYPERACTOR_HOST_BACKEND_ADDR";
/** Environment variable carrying the address to report `{addr, agent}` to. */
export const HOST_CALLBACK_ADDR_ENV = "HYPERACTOR_HOST_CALLBACK_ADDR";

/** The message a booted child sends on the callback channel (plain data). */
export interface ProcCallback {
  /** The proc's own address (text). */
  addr: string;
  /** The agent's actor id (text). */
  agent: string;
}

/** What {@linkcode spawnProc} needs. */
export interface SpawnProcParams {
  /** The proc's id. */
  procId: ProcId;
  /** The host back-end address (the proc's forwarder). */
  backendAddr: ChannelAddr;
  /** Where to send the {@linkcode ProcCallback}. */
  callbackAddr: ChannelAddr;
}

/** Options of {@linkcode bootProc} / {@linkcode spawnProc}. */
export interface BootProcOptions {
  /** Proc options (e.g. `onUnhandledSupervisionEvent: "exit"`). */
  procOptions?: ProcOptions;
  /** Reads an environment variable (default `Deno.env.get`). */
  getEnv?: (key: string) => string | undefined;
}

function parseEnv<T>(
  getEnv: (key: string) => string | undefined,
  key: string,
  parse: (text: string) => T,
): T {
  const text = getEnv(key);
  if (text === undefined) throw HostError.missingParameter(key);
  try {
    return parse(text);
  } catch (error) {
    throw HostError.invalidParameter(key, error);
  }
}

/**
 * Reads the {@linkcode SpawnProcParams} from the environment.
 * @param getEnv Reads a variable (default `Deno.env.get`).
 * @returns The parameters.
 * @throws {HostError} `MissingParameter` / `InvalidParameter` naming the variable.
 * @tags allow-env
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readSpawnProcParams } from "./boot_proc.ts";
 * const env: Record<string, string> = {
 *   HYPERACTOR_HOST_PROC_ID: "unix:@h,p1",
 *   HYPERACTOR_HOST_BACKEND_ADDR: "unix:@b",
 * };
 * const err = (() => { try { readSpawnProcParams((k) => env[k]); } catch (e) { return e; } })();
 * assertEquals((err as { kind: string }).kind, "MissingParameter");
 * env.HYPERACTOR_HOST_CALLBACK_ADDR = "nonsense";
 * const err2 = (() => { try { readSpawnProcParams((k) => env[k]); } catch (e) { return e; } })();
 * assertEquals((err2 as { kind: string }).kind, "InvalidParameter");
 * ```
 */
export function readSpawnProcParams(
  getEnv: (key: string) => string | undefined = (key) => Deno.env.get(key),
): SpawnProcParams {
  return {
    procId: parseEnv(getEnv, HOST_PROC_ID_ENV, ProcId.parse),
    backendAddr: parseEnv(getEnv, HOST_BACKEND_ADDR_ENV, ChannelAddr.parse),
    callbackAddr: parseEnv(getEnv, HOST_CALLBACK_ADDR_ENV, ChannelAddr.parse),
  };
}

/**
 * Boots a proc in a process started by a {@linkcode ProcessProcManager}:
 * reads the environment, then {@linkcode spawnProc}.
 * @param spawn Boots the agent.
 * @param options Proc options, environment reader.
 * @returns The serving proc (dispose it to stop).
 * @throws {HostError} `MissingParameter`, `InvalidParameter`, or as {@linkcode spawnProc}.
 * @tags allow-env, allow-net, allow-read, allow-write
 * @example
 * ```ts ignore
 * // tests/fixtures/host_proc_child.ts
 * await bootProc((proc) => proc.spawn("echo", new EchoActor()));
 * ```
 */
export async function bootProc<A extends Actor>(
  spawn: AgentSpawner<A>,
  options: BootProcOptions = {},
): Promise<Proc> {
  return await spawnProc(readSpawnProcParams(options.getEnv), spawn, options);
}

/**
 * Creates proc `procId` forwarding to `backendAddr`, boots its agent, serves
 * it on a fresh address of the back-end's transport, and reports
 * `{addr, agent}` to `callbackAddr` (HO-8: only once it is serving).
 * @param params Proc id and addresses.
 * @param spawn Boots the agent.
 * @param options Proc options.
 * @returns The serving proc (dispose it to stop).
 * @throws {HostError} `AgentSpawnFailure`; `ChannelError` when serving or
 * calling back fails.
 * @tags allow-net, allow-read, allow-write
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr, serve } from "../channel/mod.ts";
 * import { ProcId } from "../actor/reference.ts";
 * import { spawnProc, type ProcCallback } from "./boot_proc.ts";
 *
 * await using backend = await serve(ChannelAddr.any("local"));
 * await using callback = await serve<ProcCallback>(ChannelAddr.any("local"));
 * const procId = new ProcId(ChannelAddr.local(1), "child");
 * await using proc = await spawnProc(
 *   { procId, backendAddr: backend.addr, callbackAddr: callback.addr },
 *   (p) => p.spawn("agent", { handlers: {} }),
 * );
 * const reply = await callback.recv();
 * assertEquals(reply?.agent, `${procId},agent[0]`);
 * ```
 */
export async function spawnProc<A extends Actor>(
  params: SpawnProcParams,
  spawn: AgentSpawner<A>,
  options: BootProcOptions = {},
): Promise<Proc> {
  const { procId, backendAddr, callbackAddr } = params;
  let client: MailboxClient;
  try {
    client = MailboxClient.dial(backendAddr);
  } catch (error) {
    throw HostError.channelError(error);
  }
  const proc = new Proc(procId, client, options.procOptions);
  let serving: MailboxServerHandle | undefined;
  proc.addDisposer(async () => {
    serving?.stop("proc disposed");
    await serving?.done;
    await client.close();
  });
  try {
    let agent;
    try {
      agent = await spawnAgent(spawn, proc);
    } catch (error) {
      throw HostError.agentSpawnFailure(procId, error);
    }
    let server;
    try {
      server = await serve<MessageEnvelope>(ChannelAddr.any(backendAddr.transport));
    } catch (error) {
      throw HostError.channelError(error);
    }
    serving = serveMailbox(server, proc);
    const callback: ProcCallback = { addr: server.addr.toString(), agent: agent.toString() };
    try {
      const tx = dial<ProcCallback>(callbackAddr);
      try {
        await tx.send(callback); // HO-8
      } finally {
        await tx.close();
      }
    } catch (error) {
      throw HostError.channelError(error);
    }
    return proc;
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}
