/**
 * Transport side of the actor layer: mailbox clients and servers, routers and
 * forwarders (merged into `actor/mod.ts` by the lead).
 * @module
 */

export * from "./unroutable.ts";
export * from "./mailbox_client.ts";
export * from "./mailbox_server.ts";
export * from "./dial_router.ts";
export * from "./reconfigurable_sender.ts";
export * from "./proc_or_dial.ts";
export * from "./local_proc_dialer.ts";
