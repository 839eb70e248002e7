/**
 * Folder-private: the serving half of `Proc.direct` (Monarch's
 * `Proc::direct`) — bind the address, feed received envelopes to the proc,
 * forward through a fresh dial router, and stop both when the proc is
 * disposed.
 * @module
 */

import type { ChannelAddr } from "../channel/addr.ts";
import { serve } from "../channel/mod.ts";
import type { MailboxSender, MessageEnvelope } from "./envelope.ts";
import { isValidName, ProcId } from "./reference.ts";
import { DialMailboxRouter } from "./transport/dial_router.ts";
import { serveMailbox } from "./transport/mailbox_server.ts";

/** What serving needs of the proc (a `Proc`; typed by shape, no import cycle). */
export interface DirectProc extends MailboxSender {
  /** Registers a cleanup run when the proc is disposed. */
  addDisposer(disposer: () => Promise<void>): void;
}

/**
 * Serves `addr` and builds the proc on the bound address with `make`.
 * @param addr Where to listen.
 * @param name The proc name.
 * @param make Builds the proc from its id and forwarder.
 * @returns The serving proc (its disposers stop serving and close the router).
 * @throws {TypeError} For an invalid name.
 */
export async function serveDirect<P extends DirectProc>(
  addr: ChannelAddr | string,
  name: string,
  make: (procId: ProcId, forwarder: MailboxSender) => P,
): Promise<P> {
  if (!isValidName(name)) throw new TypeError(`Invalid proc name: "${name}"`);
  const server = await serve<MessageEnvelope>(addr);
  const router = new DialMailboxRouter();
  const proc = make(new ProcId(server.addr, name), router);
  const serving = serveMailbox(server, proc);
  proc.addDisposer(async () => {
    serving.stop("proc disposed");
    await serving.done;
    await router.close();
  });
  return proc;
}
