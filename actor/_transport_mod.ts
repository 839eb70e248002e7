/**
 * Transport side of the actor layer: mailbox clients and servers, routers and
 * forwarders (merged into `actor/mod.ts` by the lead).
 * @module
 */

export * from "./unroutable.ts";
export * from "./transport/mailbox_client.ts";
export * from "./transport/mailbox_server.ts";
export * from "./transport/dial_router.ts";
export * from "./transport/reconfigurable_sender.ts";
export * from "./transport/proc_or_dial.ts";
export * from "./transport/local_proc_dialer.ts";
