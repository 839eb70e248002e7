/**
 * Folder-private: one rank's side of the v0 allocator protocol — reading
 * the rank's bootstrap channel, validating each message (wire shape, index,
 * phase, ids) and answering `Hello` with `StartProc` (or `StopAndExit` once
 * stopping).
 *
 * ## Invariants (BS-*)
 * Enforced here, promised by `v0_allocator.ts`:
 * - **BS-20 (attributed bad input).** Input from a child that breaks the
 *   protocol (wrong index, unknown shape, out-of-order message, wrong proc
 *   id, undeliverable `StartProc`) yields exactly one `Failed{rank, error}`
 *   with a `V0AllocatorError`, and that child is SIGKILLed; it never throws
 *   out of the allocator and never affects another rank.
 * @module
 */

import { ChannelAddr } from "../channel/addr.ts";
import { dial } from "../channel/mod.ts";
import type { ChannelServer, ChannelTx } from "../channel/types.ts";
import { ActorId, type ProcId } from "../actor/reference.ts";
import { ActorRef } from "../actor/port.ts";
import type { ProcExitKind } from "../launcher/types.ts";
import type { Allocator2Process } from "./v0_proc_mesh.ts";
import { type AllocProcState, type AllocStopped, V0AllocatorError } from "./v0_allocator.ts";

/** One launched rank. */
export interface Rank {
  readonly rank: number;
  readonly procId: ProcId;
  readonly server: ChannelServer<unknown>;
  phase: "Launched" | "Starting" | "Running" | "Failed";
  tx?: ChannelTx<Allocator2Process>;
  exit?: ProcExitKind;
  /** Resolves after `Stopped` was published. */
  done?: Promise<AllocStopped>;
}

/** What a rank's session needs from its alloc. */
export interface RankSession {
  /** The alloc's transport (sent in `StartProc`). */
  transport(): "unix" | "tcp";
  /** The exit code once the alloc is stopping. */
  stopCode(): number | undefined;
  /** Publishes an event on the alloc's stream. */
  publish(event: AllocProcState): void;
  /** SIGKILLs the rank's child (never rejects). */
  kill(r: Rank): Promise<void>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function parseOr<T>(rank: number, what: string, input: unknown, parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new V0AllocatorError("Protocol", rank, `invalid ${what}`, { cause, input });
  }
}

/**
 * Serves rank `r`'s bootstrap channel until it closes: input after the exit
 * or a failure is ignored; a protocol break fails the rank (BS-20).
 * @param r The rank.
 * @param session The alloc's side.
 */
export async function serveRank(r: Rank, session: RankSession): Promise<void> {
  while (true) {
    const msg = await r.server.recv();
    if (msg === undefined) return;
    if (r.exit !== undefined || r.phase === "Failed") continue; // late input: ignored
    try {
      await handle(r, msg, session);
    } catch (error) {
      fail(r, error, session);
    }
  }
}

function fail(r: Rank, error: unknown, session: RankSession): void {
  if (r.exit !== undefined || r.phase === "Failed") return;
  r.phase = "Failed";
  const err = error instanceof V0AllocatorError
    ? error
    : new V0AllocatorError("Protocol", r.rank, String(error), { cause: error });
  session.publish({ kind: "Failed", rank: r.rank, procId: r.procId, error: err }); // BS-20
  void session.kill(r);
}

async function handle(r: Rank, msg: unknown, session: RankSession): Promise<void> {
  const { rank } = r;
  if (!Array.isArray(msg) || msg.length !== 2) {
    throw new V0AllocatorError("Protocol", rank, "expected [index, message]", { input: msg });
  }
  const [index, body] = msg;
  if (index !== rank) {
    throw new V0AllocatorError("Index", rank, `wrong index ${JSON.stringify(index)}`, {
      input: msg,
    });
  }
  if (body === "Heartbeat") return; // the channel's ack is the answer (BS-22)
  const keys = isObject(body) ? Object.keys(body) : [];
  if (keys.length === 1 && keys[0] === "Hello" && isObject(body)) {
    if (r.phase !== "Launched") {
      throw new V0AllocatorError("Protocol", rank, "Hello sent twice", { input: msg });
    }
    const addr = parseOr(
      rank,
      "Hello address",
      msg,
      () => ChannelAddr.parse(body.Hello as string),
    );
    const tx = dial<Allocator2Process>(addr);
    r.tx = tx;
    r.phase = "Starting";
    const stopCode = session.stopCode();
    const request: Allocator2Process = stopCode !== undefined
      ? { StopAndExit: stopCode } // BS-23: a late Hello is told to stop
      : { StartProc: [r.procId.key, session.transport()] };
    try {
      await tx.send(request);
    } catch (cause) {
      throw new V0AllocatorError("Delivery", rank, `StartProc was not delivered to ${addr}`, {
        cause,
      });
    }
    return;
  }
  if (keys.length === 1 && keys[0] === "StartedProc" && isObject(body)) {
    const started = body.StartedProc;
    if (r.phase !== "Starting" || session.stopCode() !== undefined) {
      throw new V0AllocatorError("Protocol", rank, `unexpected StartedProc`, { input: msg });
    }
    if (
      !Array.isArray(started) || started.length !== 3 ||
      !started.every((s) => typeof s === "string")
    ) {
      throw new V0AllocatorError("Protocol", rank, "malformed StartedProc", { input: msg });
    }
    const [procText, agentText, addrText] = started as string[];
    if (procText !== r.procId.key) {
      throw new V0AllocatorError("Protocol", rank, `wrong proc id "${procText}"`, {
        input: msg,
      });
    }
    const agentId = parseOr(rank, "agent id", msg, () => ActorId.parse(agentText));
    if (!agentId.procId.equals(r.procId)) {
      throw new V0AllocatorError("Protocol", rank, `agent "${agentText}" is not in its proc`, {
        input: msg,
      });
    }
    const addr = parseOr(rank, "proc address", msg, () => ChannelAddr.parse(addrText));
    r.phase = "Running";
    session.publish({
      kind: "Running",
      rank,
      procId: r.procId,
      agent: new ActorRef(agentId),
      addr,
    });
    return;
  }
  throw new V0AllocatorError("Protocol", rank, "unknown message", { input: msg });
}
