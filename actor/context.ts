/**
 * `context()`: the process-global client instance for plain code (scripts,
 * tests, the CLI), on a lazily created direct-addressed root proc — the
 * seeds' `global_context::context()` / `testing::instance()`.
 *
 * The root proc serves `ChannelAddr.any(HYPERACTOR_MESH_DEFAULT_TRANSPORT)`
 * and is named `root`; the instance is `client[0]`. It lives until
 * {@linkcode shutdownContext} (tests: call it in `finally`, the sanitizers
 * see the listening socket otherwise).
 *
 * ## Invariants (GC-*)
 * - **GC-1 (nothing silently dropped).** Every message the root client sent
 *   that comes back undeliverable is reported as a supervision event — by
 *   default one line on stderr, and with `HYPERMESH_UNHANDLED_MESH_FAILURE=exit`
 *   the process exits with code 1 — and is still queued on
 *   `undeliverables`. A message to an actor of a mesh this process owns
 *   (claimed by {@linkcode setSupervisedDestinations}) or a mesh cast (header
 *   `hypermesh.mesh_cast`) is not reported: that mesh's supervision reports
 *   the rank's death as a mesh failure.
 *   {@linkcode setRootUndeliverableHook} replaces the report.
 *
 * @module
 */

import { ChannelAddr, type Transport } from "../channel/addr.ts";
import { config } from "../config/config.ts";
import {
  MESH_CLIENT_ADDR,
  MESH_DEFAULT_TRANSPORT,
  UNHANDLED_MESH_FAILURE,
} from "../config/attrs.ts";
import { describeEnvelope, type MessageEnvelope } from "./envelope.ts";
import type { ClientInstance } from "./types.ts";
import { Proc } from "./proc.ts";
import { MESH_CAST_HEADER } from "./supervision.ts";

/** Receives the root client's undeliverable messages (GC-1). */
export type RootUndeliverableHook = (envelope: MessageEnvelope) => void;

let undeliverableHook: RootUndeliverableHook | undefined;

/**
 * The default GC-1 report: one line on stderr; exits with code 1 when
 * `HYPERMESH_UNHANDLED_MESH_FAILURE` is `exit`.
 * @param envelope The returned message.
 */
export function defaultRootUndeliverableHook(envelope: MessageEnvelope): void {
  console.error(
    `hypermesh: undeliverable message at the root client: ${describeEnvelope(envelope)}`,
  );
  if (config.get(UNHANDLED_MESH_FAILURE).trim() === "exit") Deno.exit(1);
}

/**
 * Replaces the root client's undeliverable report (GC-1); `undefined`
 * restores the default.
 * @param hook The new hook.
 * @returns The previous hook (`undefined` when it was the default).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { config, attrs } from "../config/mod.ts";
 * import { context, setRootUndeliverableHook, shutdownContext } from "./context.ts";
 * using _t = config.override(attrs.MESH_DEFAULT_TRANSPORT, "local");
 * const seen: string[] = [];
 * const previous = setRootUndeliverableHook((e) => seen.push(e.dest));
 * try {
 *   const cx = await context();
 *   cx.send({ port: `${cx.self.procId.key},nobody[0][1]`, returnUndeliverable: true }, 1);
 *   const returned = await cx.undeliverables.recv({ timeoutMs: 5_000 });
 *   assertEquals(seen, [returned.dest]); // GC-1: reported and still queued
 * } finally {
 *   setRootUndeliverableHook(previous);
 *   await shutdownContext();
 * }
 * ```
 */
export function setRootUndeliverableHook(
  hook: RootUndeliverableHook | undefined,
): RootUndeliverableHook | undefined {
  const previous = undeliverableHook;
  undeliverableHook = hook;
  return previous;
}

let supervised: ((dest: string) => boolean) | undefined;

/**
 * Lets the mesh layer claim the destinations its supervision covers: an
 * undeliverable to one of them is left to that supervision (GC-1).
 * @param check Whether a destination port id text is covered; `undefined` clears.
 */
export function setSupervisedDestinations(check: ((dest: string) => boolean) | undefined): void {
  supervised = check;
}

function reportRootUndeliverable(envelope: MessageEnvelope): void {
  if (envelope.headers?.[MESH_CAST_HEADER] !== undefined) return; // reported as a mesh failure
  if (supervised?.(envelope.dest) === true) return; // the mesh's supervision reports it
  (undeliverableHook ?? defaultRootUndeliverableHook)(envelope); // GC-1
}

let global: Promise<{ proc: Proc; client: ClientInstance }> | undefined;

/**
 * The process-global client instance (created on first use).
 * @returns The instance.
 * @throws {import("../channel/errors.ts").ChannelError} When the root proc cannot serve.
 * @tags allow-net, allow-read, allow-write, allow-env
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { config, attrs } from "../config/mod.ts";
 * import { context, shutdownContext } from "./context.ts";
 * using _t = config.override(attrs.MESH_DEFAULT_TRANSPORT, "local");
 * try {
 *   const cx = await context();
 *   assertEquals(cx, await context());
 *   const { ref, receiver } = cx.openOncePort<string>();
 *   cx.send(ref, "hi");
 *   assertEquals(await receiver.recv(), "hi");
 * } finally {
 *   await shutdownContext();
 * }
 * ```
 */
export function context(): Promise<ClientInstance> {
  global ??= (async () => {
    const proc = await Proc.direct(clientBindAddr(), "root");
    return { proc, client: proc.instance("client", { onUndeliverable: reportRootUndeliverable }) };
  })();
  const current = global;
  current.catch(() => {
    if (global === current) global = undefined; // a failed start may be retried
  });
  return current.then((g) => g.client);
}

/**
 * The root proc behind {@linkcode context} (created on first use).
 * @returns The proc.
 */
export async function contextProc(): Promise<Proc> {
  await context();
  return (await global!).proc;
}

/**
 * Disposes the global root proc (destroying its actors and closing its
 * socket); the next {@linkcode context} call creates a fresh one.
 * @returns When everything is closed.
 */
export async function shutdownContext(): Promise<void> {
  const current = global;
  global = undefined;
  if (current === undefined) return;
  let g: { proc: Proc; client: ClientInstance };
  try {
    g = await current;
  } catch {
    return;
  }
  g.client[Symbol.dispose]();
  await g.proc[Symbol.asyncDispose]();
}

/** Alias of {@linkcode shutdownContext} for tests. */
export const resetContextForTesting: () => Promise<void> = shutdownContext;

/**
 * Where a client proc of this process should serve: `HYPERMESH_CLIENT_ADDR`
 * when set (it must be an address every host can dial back, e.g.
 * `tcp:10.0.0.10:0`), else a fresh address on
 * `HYPERACTOR_MESH_DEFAULT_TRANSPORT` (loopback or unix: single machine).
 * @returns The address to serve.
 * @throws {import("../channel/addr.ts").ChannelAddrParseError} When
 * `HYPERMESH_CLIENT_ADDR` is not an address.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attrs, config } from "../config/mod.ts";
 * import { clientBindAddr } from "./context.ts";
 * using _a = config.override(attrs.MESH_CLIENT_ADDR, "tcp:127.0.0.1:0");
 * assertEquals(clientBindAddr().toString(), "tcp:127.0.0.1:0");
 * ```
 */
export function clientBindAddr(): ChannelAddr {
  const explicit = config.get(MESH_CLIENT_ADDR).trim();
  if (explicit !== "") return ChannelAddr.parse(explicit);
  return ChannelAddr.any(config.get(MESH_DEFAULT_TRANSPORT) as Transport);
}
