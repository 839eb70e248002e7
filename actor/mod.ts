/**
 * The actor runtime: identifiers, envelopes, mailboxes and routers, procs,
 * actors, ports, supervision, the actor type registry and the root client.
 *
 * A {@linkcode Proc} hosts actors; each actor has a mailbox of ports and
 * processes its messages one at a time. Messages travel as plain-data
 * {@linkcode MessageEnvelope}s between procs over channels; routers pick the
 * channel by proc prefix; whatever cannot be delivered comes back to its sender
 * as undeliverable.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { type Context, Proc } from "./mod.ts";
 *
 * await using proc = Proc.local();
 * const greeter = proc.spawn("greeter", {
 *   handlers: {
 *     Greet: (cx: Context, msg: { name: string; reply: { port: string; returnUndeliverable: boolean } }) =>
 *       cx.send(msg.reply, `hello ${msg.name}`),
 *   },
 * });
 * using client = proc.instance("client");
 * const { ref, receiver } = client.openOncePort<string>();
 * greeter.ref.send(client, "Greet", { name: "mesh", reply: ref.toJSON() });
 * assertEquals(await receiver.recv({ timeoutMs: 1_000 }), "hello mesh");
 * ```
 * @module
 */

export * from "./reference.ts";
export * from "./envelope.ts";
export * from "./status.ts";
export * from "./supervision.ts";
export * from "./port.ts";
export * from "./mailbox.ts";
export * from "./types.ts";
export * from "./proc.ts";
export * from "./registry.ts";
export {
  clientBindAddr,
  context,
  contextProc,
  defaultRootUndeliverableHook,
  type RootUndeliverableHook,
  setRootUndeliverableHook,
  setSupervisedDestinations,
  shutdownContext,
} from "./context.ts"; // resetContextForTesting: `./testing`
export * from "./unroutable.ts";
export * from "./transport/mailbox_client.ts";
export * from "./transport/mailbox_server.ts";
export * from "./transport/dial_router.ts";
export * from "./transport/reconfigurable_sender.ts";
export * from "./transport/proc_or_dial.ts";
export * from "./transport/local_proc_dialer.ts";
export {
  request,
  type Requester,
  RequestError,
  type RequestFailure,
  type RequestOptions,
} from "./request.ts";
export type { StopOptions } from "../internal/stop_options.ts";
