/**
 * The in-process actor core: procs, actors, contexts, ports, statuses,
 * supervision and the actor type registry (merged into `actor/mod.ts`).
 * @module
 */

export * from "./status.ts";
export * from "./supervision.ts";
export * from "./port.ts";
export * from "./mailbox.ts";
export * from "./types.ts";
export * from "./proc.ts";
export * from "./registry.ts";
export * from "./context.ts";
