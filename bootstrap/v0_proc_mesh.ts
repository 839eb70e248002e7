/**
 * The legacy v0 allocator protocol, child side (the seed's
 * `bootstrap_v0_proc_mesh`).
 *
 * A child started by a v0 allocator reads {@linkcode BOOTSTRAP_ADDR_ENV} (the
 * allocator's address) and {@linkcode BOOTSTRAP_INDEX_ENV} (its index),
 * serves a fresh address on the same transport, and says
 * `[index, {"Hello": addr}]`. It then obeys {@linkcode Allocator2Process}
 * messages: `StartProc` boots a v0 proc (hook), serves it on a fresh address
 * of the requested transport and reports `[index, {"StartedProc": [procId,
 * agent, addr]}]`; `StopAndExit(code)` destroys every proc (10 ms grace) and
 * exits with `code`; `Exit(code)` exits at once. Every
 * {@linkcode HEARTBEAT_INTERVAL_MS} it sends `[index, "Heartbeat"]` and exits
 * with code 1 when a heartbeat cannot be delivered.
 *
 * ## Invariants (BS-*)
 * - **BS-40 (unreachable allocator fails fast).** When the allocator does not
 *   acknowledge `Hello` within {@linkcode HELLO_TIMEOUT_MS} (nothing serves
 *   its address), the child fails with a {@linkcode V0BootstrapError} naming
 *   the address instead of retrying for `MESSAGE_DELIVERY_TIMEOUT`.
 *
 * Wire shapes follow serde's JSON encoding of the seed's types (tuple
 * structs as arrays, externally tagged enums, unit variants as strings).
 *
 * @module
 */

import { ChannelAddr, type Transport } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { ProcId } from "../actor/reference.ts";
import type { ActorHandle } from "../actor/types.ts";
import { ActorRef } from "../actor/port.ts";
import type { Proc } from "../actor/proc.ts";
import { type MailboxServerHandle, serveMailbox } from "../actor/transport/mailbox_server.ts";

import { BOOTSTRAP_ADDR_ENV, BOOTSTRAP_INDEX_ENV } from "./mode.ts";

export { BOOTSTRAP_ADDR_ENV, BOOTSTRAP_INDEX_ENV };
/** Heartbeat period. */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/** Control messages from a process to the allocator. */
export type Process2AllocatorMessage =
  | { Hello: string }
  | { StartedProc: [procId: string, agent: string, addr: string] }
  | "Heartbeat";

/** `[index, message]`: a process's message to the allocator. */
export type Process2Allocator = [index: number, message: Process2AllocatorMessage];

/** Messages from the allocator to a process. */
export type Allocator2Process =
  | { StartProc: [procId: string, transport: Transport] }
  | { StopAndExit: number }
  | { Exit: number };

/** Boots a v0 proc and its agent (e.g. `mesh/proc_agent/v0.ts` `bootstrapV0`). */
export type V0ProcBooter = (
  procId: ProcId,
) =>
  | { proc: Proc; agent: ActorHandle | ActorRef }
  | Promise<{ proc: Proc; agent: ActorHandle | ActorRef }>;

/** Options of {@linkcode runV0ProcMesh}. */
export interface V0ProcMeshOptions {
  /** Where to read the variables (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** Heartbeat period (default {@linkcode HEARTBEAT_INTERVAL_MS}). */
  heartbeatIntervalMs?: number;
  /** Bound on the allocator's ack of `Hello` (default {@linkcode HELLO_TIMEOUT_MS}). */
  helloTimeoutMs?: number;
}

/** How long the allocator has to acknowledge `Hello` (BS-40). */
export const HELLO_TIMEOUT_MS = 5_000;

/** A v0 variable is missing or malformed. */
export class V0BootstrapError extends Error {
  /**
   * Creates the error.
   * @param detail What is wrong.
   * @param options `cause`.
   */
  constructor(detail: string, options?: ErrorOptions) {
    super(`Cannot bootstrap v0 proc mesh: ${detail}`, options);
    this.name = "V0BootstrapError";
  }
}

const HEARTBEAT_LOST = Symbol("heartbeat lost");

/**
 * Runs the v0 protocol until `StopAndExit`, `Exit` or a lost heartbeat.
 * @param boot Boots each started proc.
 * @param options Environment and heartbeat period.
 * @returns The exit code (1 when the heartbeat failed).
 * @throws {V0BootstrapError} For missing/invalid variables, an undeliverable
 * `Hello`, or a closed allocator channel.
 * @tags allow-env, allow-net, allow-read, allow-write
 */
export async function runV0ProcMesh(
  boot: V0ProcBooter,
  options: V0ProcMeshOptions = {},
): Promise<number> {
  const env = options.env ?? { get: (k: string) => Deno.env.get(k) };
  const addrText = env.get(BOOTSTRAP_ADDR_ENV);
  if (addrText === undefined) throw new V0BootstrapError(`read \`${BOOTSTRAP_ADDR_ENV}\`: not set`);
  let bootstrapAddr: ChannelAddr;
  try {
    bootstrapAddr = ChannelAddr.parse(addrText);
  } catch (error) {
    throw new V0BootstrapError(`parse \`${BOOTSTRAP_ADDR_ENV}\`: ${String(error)}`, {
      cause: error,
    });
  }
  const indexText = env.get(BOOTSTRAP_INDEX_ENV);
  const index = Number(indexText);
  if (indexText === undefined || !/^\d+$/.test(indexText) || !Number.isSafeInteger(index)) {
    throw new V0BootstrapError(`read \`${BOOTSTRAP_INDEX_ENV}\`: invalid "${indexText}"`);
  }

  const server = await serve<Allocator2Process>(ChannelAddr.any(bootstrapAddr.transport));
  const tx = dial<Process2Allocator>(bootstrapAddr);
  const procs: Proc[] = [];
  const servers: MailboxServerHandle[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    let rejectHello!: (error: Error) => void;
    const helloFailed = new Promise<never>((_, reject) => rejectHello = reject);
    const helloMs = options.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    const helloTimer = setTimeout(() => {
      rejectHello(
        new V0BootstrapError(
          `no allocator answers at ${bootstrapAddr}: Hello was not acknowledged within ${helloMs} ms`,
        ),
      ); // BS-40
    }, helloMs);
    tx.send([index, { Hello: server.addr.toString() }]).then(
      () => clearTimeout(helloTimer),
      (error) => {
        clearTimeout(helloTimer);
        rejectHello(
          new V0BootstrapError(
            `Hello message to the allocator at ${bootstrapAddr} was not delivered: ${error.message}`,
          ),
        );
      },
    );
    let lost!: () => void;
    const heartbeatLost = new Promise<typeof HEARTBEAT_LOST>((resolve) =>
      lost = () => resolve(HEARTBEAT_LOST)
    );
    timer = setInterval(() => {
      tx.send([index, "Heartbeat"]).catch((error) => {
        console.error(`hypermesh: heartbeat to allocator ${bootstrapAddr} failed, exiting:`, error);
        lost();
      });
    }, options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);

    while (true) {
      const msg = await Promise.race([server.recv(), helloFailed, heartbeatLost]);
      if (msg === HEARTBEAT_LOST) return 1;
      if (msg === undefined) throw new V0BootstrapError("the allocator channel closed");
      if (typeof msg === "object" && "StartProc" in msg) {
        const [procText, transport] = msg.StartProc;
        const procId = ProcId.parse(procText);
        const { proc, agent } = await boot(procId);
        procs.push(proc);
        const procServer = await serve<MessageEnvelope>(ChannelAddr.any(transport));
        servers.push(serveMailbox(procServer, proc));
        const agentRef = agent instanceof ActorRef ? agent : agent.bind();
        await tx.send([index, {
          StartedProc: [procId.toString(), agentRef.toString(), procServer.addr.toString()],
        }]);
      } else if (typeof msg === "object" && "StopAndExit" in msg) {
        for (const proc of procs) {
          try {
            await proc.destroyAndWait({ graceMs: 10, reason: "stop and exit" });
          } catch (error) {
            console.error(`hypermesh: error while stopping proc ${proc.procId}:`, error);
          }
        }
        return msg.StopAndExit;
      } else if (typeof msg === "object" && "Exit" in msg) {
        return msg.Exit;
      } else {
        console.warn(`hypermesh: ignoring unknown allocator message ${JSON.stringify(msg)}`);
      }
    }
  } finally {
    clearInterval(timer);
    for (const s of servers) s.stop("v0 process exiting");
    await Promise.all(servers.map((s) => s.done));
    await server.close();
    await tx.close();
  }
}
