/**
 * Folder-private: bringing up one host with its host agent, in this process —
 * `Process` mode (a `BootstrapProcManager`) or `Local` mode (in-process procs
 * with v1 proc agents) — and the `Host` bootstrap mode of a host daemon.
 *
 * @module
 */

import { ChannelAddr } from "../../channel/addr.ts";
import { Host, type HostServeOptions } from "../../host/host.ts";
import { LocalProcManager } from "../../host/local_proc_manager.ts";
import { BootstrapCommand } from "../../launcher/command.ts";
import { BootstrapProcManager } from "../../bootstrap/manager.ts";
import type { HostBootstrap } from "../../bootstrap/mode.ts";
import { ProcAgent } from "../proc_agent/proc_agent.ts";
import { HOST_AGENT_NAME, HostAgent, type HostAgentMode } from "../host_agent/host_agent.ts";
import { HostRef } from "./host_mesh_ref.ts";

/** A host served by this process. */
export interface ServedHost {
  /** The host's reference. */
  ref: HostRef;
  /** Resolves once the host was released (after `ShutdownHost`, or `release()`). */
  released: Promise<void>;
  /** Releases the host now (idempotent). */
  release(): Promise<void>;
}

function serveWithAgent(mode: HostAgentMode): ServedHost {
  const host = mode.host;
  let releasing: Promise<void> | undefined;
  let done!: () => void;
  const released = new Promise<void>((r) => (done = r));
  const release = () => {
    releasing ??= host[Symbol.asyncDispose]().finally(done);
    return releasing;
  };
  host.systemProc.spawn(HOST_AGENT_NAME, new HostAgent({ ...mode, onShutdown: release }));
  return { ref: new HostRef(host.addr), released, release };
}

/**
 * Waits until `served` is released — by `ShutdownHost`, or by SIGTERM/SIGINT,
 * which release it here.
 * @param served A served host.
 * @returns Whether a signal released it.
 */
export async function servedUntilReleased(served: ServedHost): Promise<boolean> {
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    served.release();
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    await served.released;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  return signalled;
}

/**
 * Serves a Process-mode host at `addr` with a host agent.
 * @param addr Front-end address (the host's identity, AD-1, AD-2).
 * @param command Default bootstrap command of its procs.
 * @param options `bind`: listen there instead of `addr` (AD-3).
 * @returns The served host.
 */
export async function serveProcessHost(
  addr: ChannelAddr | string,
  command: BootstrapCommand,
  options: HostServeOptions = {},
): Promise<ServedHost> {
  const manager = new BootstrapProcManager(command);
  let host;
  try {
    ({ host } = await Host.serve(manager, addr, options));
  } catch (error) {
    await manager[Symbol.asyncDispose]();
    throw error;
  }
  return serveWithAgent({ kind: "Process", host });
}

/**
 * Serves a Local-mode host (in-process procs, each with a v1 proc agent).
 * @param addr Front-end address.
 * @returns The served host.
 */
export async function serveLocalHost(addr: ChannelAddr | string): Promise<ServedHost> {
  const manager = new LocalProcManager((proc) => ProcAgent.bootV1(proc, { orphanTimeoutMs: 0 }));
  const { host } = await Host.serve(manager, addr);
  return serveWithAgent({ kind: "Local", host });
}

/**
 * The `Host` bootstrap mode: serve a Process-mode host at `mode.addr` until
 * `ShutdownHost` (or SIGTERM/SIGINT); then resolve 0 when `exitOnShutdown`,
 * else keep the process alive (the seed's behaviour).
 * @param mode The decoded mode.
 * @returns The exit code.
 */
export async function runHost(mode: HostBootstrap): Promise<number> {
  const command = mode.command
    ? BootstrapCommand.fromJSON(mode.command)
    : BootstrapCommand.current();
  const served = await serveProcessHost(mode.addr, command);
  const signalled = await servedUntilReleased(served);
  if (signalled || mode.exitOnShutdown) return 0;
  return await new Promise<number>(() => {
    setInterval(() => {}, 1 << 30); // keep serving nothing, like the seed
  });
}

/**
 * A fresh binding address on `transport`; for tcp, a free localhost port
 * (racy, as in the seed).
 * @param transport The transport.
 * @returns The address.
 */
export function bindingAddr(transport: "local" | "unix" | "tcp" | "tls"): ChannelAddr {
  if (transport !== "tcp" && transport !== "tls") return ChannelAddr.any(transport);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return ChannelAddr.parse(`${transport}:127.0.0.1:${port}`);
}
