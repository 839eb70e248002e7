/**
 * Re-exports of the self-contained bootstrap building blocks (modes, proc
 * status, orphan safety, log forwarding), for the lead to merge into
 * `bootstrap/mod.ts`.
 * @module
 */

export * from "./mode.ts";
export * from "./proc_status.ts";
export * from "./pdeathsig.ts";
export * from "./stream_forwarder.ts";
export * from "./file_appender.ts";
