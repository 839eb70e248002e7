/**
 * `LogForwardActor`: receives captured child output on a log channel and
 * forwards it to a {@linkcode LogClientActor} (port of
 * `hyperactor_mesh::logging::LogForwardActor`, reference §6.3).
 *
 * ## End-to-end shape (differs from the seed on purpose)
 * In Monarch the forwarder runs *inside each child* and the parent's stream
 * forwarders send the child's own output back into it. Here it runs on the
 * **host side**, next to the {@linkcode BootstrapProcManager}:
 *
 * ```text
 * child stdout/stderr ─pipe─▶ StreamForwarder (manager, parent process)
 *   ─LogMessage on the log channel─▶ LogForwardActor (a proc of the host process)
 *   ─actor message Log/Flush─▶ LogClientActor (the mesh client's proc) ─▶ writer
 * ```
 *
 * The owner of the host spawns one forwarder (`LogForwardActor.create()` then
 * `proc.spawn()`, or {@linkcode spawnLogForwarder}) with the client's ref and
 * gives its {@linkcode LogForwardActor.addr} to the manager
 * (`BootstrapProcManagerOptions.logChannel`). Lines never make a round trip
 * through the child, so the lines a child prints while exiting are forwarded
 * too, and a child that crashes before its proc is up is still heard. The
 * child receives the address in `BOOTSTRAP_LOG_CHANNEL` for information only.
 *
 * Loop: the channel server's messages are handed to the actor itself
 * (`Forward`, in arrival order): `Log` → the client's `Log` while streaming
 * (`SetMode{streamToClient}`, default on); `Flush{syncVersion: null}` → a
 * keepalive `Flush{null}` is re-posted into the channel after
 * {@linkcode KEEPALIVE_INTERVAL_MS}; `Flush{syncVersion: v}` → the client's
 * `Flush`. `ForceSyncFlush{version}` posts `Flush{version}` into the channel,
 * behind everything already received.
 *
 * ## Invariants (BS-*)
 * - **BS-15 (in order).** Messages are forwarded in the order the channel
 *   server delivered them; versioned flushes are forwarded whatever the mode.
 * - **BS-16 (no leaked timer or socket).** At most one keepalive is pending;
 *   it is an actor self-message timer, cleared when the actor stops (MB-30);
 *   stopping closes the channel server and the actor's own sender and awaits
 *   the receive loop.
 *
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial, serve } from "../channel/mod.ts";
import type { ChannelServer, ChannelTx } from "../channel/types.ts";
import type { Actor } from "../actor/types.ts";
import type { ActorHandle, Context } from "../actor/types.ts";
import { ActorRef, type MessageSender } from "../actor/port.ts";
import type { Proc } from "../actor/proc.ts";
import { LOG_CHANNEL_ENV } from "./mode.ts";
import type { LogBatch, LogClientActor } from "./log_client.ts";

/** Delay of the keepalive `Flush{null}` re-post (reference: 1 s). */
export const KEEPALIVE_INTERVAL_MS = 1_000;

/** A line batch or flush marker on a log channel (reference §6.1). */
export type LogMessage =
  | ({
    /** Tag. */
    kind: "Log";
  } & LogBatch)
  | {
    /** Tag. */
    kind: "Flush";
    /** Sync-flush version, `null` for the periodic flush. */
    syncVersion: number | null;
  };

/** Options of {@linkcode LogForwardActor.create}. */
export interface LogForwardActorOptions {
  /** The client that receives the lines (a ref or its actor id text). */
  client: ActorRef<LogClientActor> | string;
  /**
   * Address to serve (default: `BOOTSTRAP_LOG_CHANNEL` from `env` when set,
   * else a fresh Unix address).
   */
  addr?: ChannelAddr | string;
  /** Initial streaming mode (default `true`). */
  streamToClient?: boolean;
  /** Where `BOOTSTRAP_LOG_CHANNEL` is read (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
}

function envGet(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}

function isLogMessage(msg: unknown): msg is LogMessage {
  if (typeof msg !== "object" || msg === null) return false;
  const m = msg as Record<string, unknown>;
  if (m.kind === "Flush") return m.syncVersion === null || typeof m.syncVersion === "number";
  return m.kind === "Log" && Array.isArray(m.payload) &&
    (m.outputTarget === "stdout" || m.outputTarget === "stderr");
}

/**
 * Serves a log channel and forwards what arrives to a log client; see the
 * module doc.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelAddr } from "../channel/addr.ts";
 * import { dial } from "../channel/mod.ts";
 * import { Proc } from "../actor/proc.ts";
 * import { LogClientActor } from "./log_client.ts";
 * import { LogForwardActor, type LogMessage } from "./log_forward.ts";
 *
 * await using proc = Proc.local();
 * const out: string[] = [];
 * const client = proc.spawn("log_client", new LogClientActor({
 *   aggregateWindowMs: null,
 *   writer: (_target, line) => void out.push(line),
 * }));
 * const actor = await LogForwardActor.create({ client: client.ref, addr: ChannelAddr.any("local") });
 * const fwd = proc.spawn("log_forwarder", actor);
 * await using tx = dial<LogMessage>(actor.addr);
 * tx.post({ kind: "Log", hostname: "h", procId: "p", outputTarget: "stdout", payload: ["hello"] });
 * await tx.flush();
 * while (out.length === 0) await new Promise((r) => setTimeout(r, 5));
 * assertEquals(out, ["[h p] hello"]);
 * fwd.stop();
 * await fwd.wait();
 * ```
 */
export class LogForwardActor implements Actor {
  /** The served log channel address (give it to the manager). */
  readonly addr: ChannelAddr;
  /** The client the lines go to. */
  readonly client: ActorRef<LogClientActor>;
  readonly #server: ChannelServer<LogMessage>;
  readonly #tx: ChannelTx<LogMessage>;
  #streamToClient: boolean;
  #keepaliveArmed = false;
  #pump: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    server: ChannelServer<LogMessage>,
    client: ActorRef<LogClientActor>,
    streamToClient: boolean,
  ) {
    this.#server = server;
    this.addr = server.addr;
    this.client = client;
    this.#streamToClient = streamToClient;
    this.#tx = dial<LogMessage>(server.addr);
  }

  /**
   * Serves the log channel and builds the actor; spawn it at once (an actor
   * that is never spawned must be closed with {@linkcode LogForwardActor.close}).
   * @param options Client, address, mode.
   * @returns The actor, already serving {@linkcode LogForwardActor.addr}.
   * @throws {import("../channel/errors.ts").ChannelError} When the address cannot be served.
   * @throws {import("../actor/reference.ts").ReferenceParseError} For a malformed client id.
   * @tags allow-net, allow-read, allow-write, allow-env
   */
  static async create(options: LogForwardActorOptions): Promise<LogForwardActor> {
    const client = typeof options.client === "string"
      ? ActorRef.attest<LogClientActor>(options.client)
      : options.client;
    const fromEnv = options.env === undefined
      ? envGet(LOG_CHANNEL_ENV)
      : options.env.get(LOG_CHANNEL_ENV);
    const addr = options.addr ?? (fromEnv ? fromEnv : ChannelAddr.any("unix"));
    const server = await serve<LogMessage>(addr);
    return new LogForwardActor(server, client, options.streamToClient ?? true);
  }

  /** Whether `Log` messages are forwarded to the client. */
  get streamToClient(): boolean {
    return this.#streamToClient;
  }

  /** Whether a keepalive re-post is scheduled (BS-16: one at most). */
  get keepalivePending(): boolean {
    return this.#keepaliveArmed;
  }

  /** Message handlers. */
  readonly handlers = {
    /** Internal: one message received on the log channel. */
    Forward: (cx: Context, msg: LogMessage): void | Promise<void> => this.#forward(cx, msg),
    /** Turns streaming to the client on or off. */
    SetMode: (_cx: Context, msg: { streamToClient: boolean }): void | Promise<void> => {
      this.#streamToClient = msg.streamToClient === true;
    },
    /** Injects `Flush{version}` into the channel (sync-flush barrier). */
    ForceSyncFlush: (_cx: Context, msg: { version: number }): void | Promise<void> => {
      this.#tx.post({ kind: "Flush", syncVersion: msg.version });
    },
    /** Internal: the keepalive delay ended. */
    Keepalive: (_cx: Context, _msg: null): void | Promise<void> => {
      this.#keepaliveArmed = false;
      this.#tx.post({ kind: "Flush", syncVersion: null });
    },
  };

  /**
   * Starts the receive loop.
   * @param cx The actor's context.
   */
  init(cx: Context): void {
    this.#pump ??= this.#run(cx);
  }

  /** Closes the channel (BS-16). */
  async cleanup(): Promise<void> {
    await this.close();
  }

  /**
   * Closes the actor's sender and the channel server and awaits the receive
   * loop (BS-16). Idempotent; called when the actor stops.
   * @returns When everything is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#tx.close();
      await this.#server.close();
      await this.#pump;
    })();
    return this.#closing;
  }

  async #run(cx: Context): Promise<void> {
    const self = cx.selfRef as ActorRef<LogForwardActor>;
    try {
      for await (const msg of this.#server) {
        // BS-15: through the mailbox, in order; once stopping, what the
        // closing server still hands over is forwarded directly.
        if (this.#closing === undefined) self.send(cx, "Forward", msg);
        else this.#forward(cx, msg);
      }
    } catch (error) {
      console.warn(`hypermesh: log forwarder ${this.addr} stopped receiving:`, error);
    }
  }

  #forward(cx: Context, msg: LogMessage): void {
    if (!isLogMessage(msg)) {
      console.warn(`hypermesh: log forwarder ignores a malformed message: ${JSON.stringify(msg)}`);
      return;
    }
    if (msg.kind === "Log") {
      if (!this.#streamToClient) return;
      const { hostname, procId, outputTarget, payload } = msg;
      this.client.send(cx, "Log", { hostname, procId, outputTarget, payload });
    } else if (msg.syncVersion === null) {
      if (this.#keepaliveArmed) return; // BS-16: one pending keepalive at most
      this.#keepaliveArmed = true;
      cx.selfMessageWithDelay("Keepalive", null, { delayMs: KEEPALIVE_INTERVAL_MS });
    } else {
      this.client.send(cx, "Flush", { syncVersion: msg.syncVersion }); // BS-15
    }
  }
}

/** Options of {@linkcode spawnLogForwarder}. */
export interface SpawnLogForwarderOptions extends LogForwardActorOptions {
  /** Actor name (default `"log_forwarder"`). */
  name?: string;
}

/**
 * Creates a {@linkcode LogForwardActor} and spawns it in `proc`.
 * @param proc The host-side proc.
 * @param options Client, address, mode, name.
 * @returns The handle and the served address.
 * @throws As {@linkcode LogForwardActor.create}, and
 * `DuplicateActorNameError` / `ProcDestroyedError` from `proc.spawn` (the
 * channel is closed then).
 * @tags allow-net, allow-read, allow-write, allow-env
 */
export async function spawnLogForwarder(
  proc: Proc,
  options: SpawnLogForwarderOptions,
): Promise<{ handle: ActorHandle<LogForwardActor>; addr: ChannelAddr }> {
  const actor = await LogForwardActor.create(options);
  try {
    return { handle: proc.spawn(options.name ?? "log_forwarder", actor), addr: actor.addr };
  } catch (error) {
    await actor.close();
    throw error;
  }
}

/** Options of {@linkcode syncFlush}. */
export interface SyncFlushOptions {
  /** Give up after this many ms (default 10 s). */
  timeoutMs?: number;
  /** Cancellation. */
  signal?: AbortSignal;
}

/**
 * Runs the sync-flush barrier: `StartSyncFlush` on the client, then
 * `ForceSyncFlush` of the returned version on every forwarder; resolves when
 * the client saw every forwarder's flush (so every line those forwarders had
 * received before was printed).
 * @param cx The calling instance (needs ports: an actor or client instance).
 * @param client The log client.
 * @param forwarders The forwarders to wait for.
 * @param options Deadline, cancellation.
 * @returns The barrier's version.
 * @throws {DOMException} `TimeoutError` after `timeoutMs`, or `signal.reason`.
 */
export async function syncFlush(
  cx: Context,
  client: ActorRef<LogClientActor>,
  forwarders: readonly ActorRef<LogForwardActor>[],
  options: SyncFlushOptions = {},
): Promise<number> {
  const { timeoutMs = 10_000, signal } = options;
  const deadline = Date.now() + timeoutMs;
  const version = cx.openOncePort<number>();
  const reply = cx.openOncePort<null>();
  try {
    client.send(cx as MessageSender, "StartSyncFlush", {
      expectedProcs: forwarders.length,
      reply: reply.ref.toJSON(),
      version: version.ref.toJSON(),
    });
    const v = await version.receiver.recv({ timeoutMs, ...(signal ? { signal } : {}) });
    for (const fwd of forwarders) fwd.send(cx, "ForceSyncFlush", { version: v });
    await reply.receiver.recv({
      timeoutMs: Math.max(0, deadline - Date.now()),
      ...(signal ? { signal } : {}),
    });
    return v;
  } finally {
    version.receiver.close();
    reply.receiver.close();
  }
}
