/**
 * Folder-private: the host side of "logs reach the owner". A Process-mode
 * host agent's backend keeps one relay; for every proc spawned with a
 * `ProcSpec.logClient` it makes an {@linkcode OwnerLogSender} that posts
 * the proc's lines from a client instance on the host's **service proc** —
 * the proc of the host agent, so the lines and anything the host agent
 * later sends to the same owner (its proc's status, a failure event) travel
 * over the same link, in order (OL-5) — and feeds the owner's
 * acknowledgements back to it through one ack port.
 *
 * ## Invariants (OL-*)
 * - **OL-5 (one link).** Lines are posted by the service proc, never by the
 *   child: the last line a proc printed is posted before its terminal status
 *   is published (LO-4), hence before anything the host agent sends about
 *   that status over the same service proc → owner link.
 * - **OL-6 (dead owner).** Posts never return undeliverables to the host
 *   (`returnUndeliverable` off); a dead owner costs the window and queue
 *   (LO-1), one stall of the proc's pipe reader of at most 1 s (LO-1) and at
 *   most 1 s at each proc's exit (LO-3), never a blocked or crashed host.
 *
 * @module
 */

import type { ClientInstance } from "../../actor/types.ts";
import type { Proc } from "../../actor/proc.ts";
import type { ProcId } from "../../actor/reference.ts";
import {
  type OwnerLogAck,
  type OwnerLogBatch,
  OwnerLogSender,
} from "../../bootstrap/log_sender.ts";
import type { ProcLogSink } from "../../bootstrap/manager.ts";

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown_host";
  }
}

/** Per-host relay of proc lines to their owners; see the module doc. */
export class HostLogRelay {
  readonly #proc: Proc;
  #cx: ClientInstance | undefined;
  #ackPort: string | undefined;
  readonly #senders = new Map<string, OwnerLogSender>();

  /**
   * Creates the relay (nothing is opened before the first sink).
   * @param serviceProc The host's service proc (the host agent's proc).
   */
  constructor(serviceProc: Proc) {
    this.#proc = serviceProc;
  }

  /**
   * A log sink for `procId` whose lines go to the owner port `logClient`.
   * @param procId The proc.
   * @param logClient PortId text of the owner's `OwnerLog` port.
   * @returns The sink (pass it as `BootstrapProcConfig.logSink`).
   */
  sinkFor(procId: ProcId, logClient: string): ProcLogSink {
    const cx = this.#instance();
    const dest = { port: logClient, returnUndeliverable: false }; // OL-6
    const key = procId.toString();
    const sender = new OwnerLogSender({
      post: (batch: OwnerLogBatch) => cx.send(dest, batch), // OL-5
      hostname: hostname(),
      procId: key,
      ack: this.#ackPort!,
    });
    this.#senders.set(key, sender);
    return {
      push: (target, lines) => sender.push(target, lines), // LO-1: may hold the pipe reader
      drain: async () => {
        try {
          await sender.drain(); // LO-3
        } finally {
          if (this.#senders.get(key) === sender) this.#senders.delete(key);
        }
      },
    };
  }

  /**
   * Forgets a proc whose spawn failed.
   * @param procId The proc.
   */
  forget(procId: ProcId): void {
    this.#senders.delete(procId.toString());
  }

  #instance(): ClientInstance {
    if (this.#cx !== undefined) return this.#cx;
    const cx = this.#proc.instance("log_relay");
    const { ref, receiver } = cx.openPort<OwnerLogAck>();
    this.#cx = cx;
    this.#ackPort = ref.port.toString();
    (async () => {
      for await (const ack of receiver) {
        if (typeof ack?.procId === "string") this.#senders.get(ack.procId)?.ack(ack.seq);
      }
    })().catch(() => {}); // ends when the service proc is destroyed
    return cx;
  }
}
