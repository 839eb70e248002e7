/**
 * Folder-private: the state shared by actors and client instances (the
 * base cell: id, mailbox, status, children, undeliverable return path) and
 * what a cell needs from its proc.
 * @module
 */

import { WatchCell } from "../channel/watch_cell.ts";
import {
  createEnvelope,
  type HeaderValue,
  type MessageEnvelope,
  type ReturnHandle,
} from "./envelope.ts";
import type { ActorId } from "./reference.ts";
import type { Actor } from "./actor.ts";
import { Mailbox } from "./mailbox.ts";
import { type ActorStatus, isTerminal } from "./status.ts";
import { type ActorSupervisionEvent, describeSupervisionEvent, isError } from "./supervision.ts";
import type { Proc } from "./proc.ts";
import { UNDELIVERABLE_INDEX, UNDELIVERABLE_TYPE } from "./_handler_index.ts";

import type { ActorCell } from "./_cell.ts";
import { InstanceContext } from "./_instance_context.ts";

/** What a cell needs from its proc. */
export interface ProcCore {
  readonly proc: Proc;
  /** Posts one hop into the proc (TTL-checked). */
  post(envelope: MessageEnvelope, returnHandle: ReturnHandle): void;
  /** Spawns a child of `parent`. */
  spawnChild(parent: InstanceCell, name: string | undefined, actor: Actor): ActorCell;
  /** Bookkeeping once a cell is terminal; `event` is undefined for hard aborts/clients. */
  terminated(cell: InstanceCell, event: ActorSupervisionEvent | undefined): void;
}

/** The headers of no message. */
export const EMPTY_HEADERS: Readonly<Record<string, HeaderValue>> = Object.freeze({});

/** Drops a bounce silently (used for undeliverable notifications). */
export const DROP: ReturnHandle = () => {};

/** State shared by actors and client instances. */
export class InstanceCell {
  readonly id: ActorId;
  readonly core: ProcCore;
  readonly mailbox: Mailbox;
  readonly status: WatchCell<ActorStatus>;
  readonly parent: InstanceCell | undefined;
  readonly children = new Set<ActorCell>();
  /** Pid counter shared by the whole tree under a root. */
  readonly pids: { next: number };
  readonly context: InstanceContext;
  readonly returnHandle: ReturnHandle;
  readonly done: Promise<void>;
  protected resolveDone!: () => void;
  readonly #undeliverableDest: string;

  constructor(
    core: ProcCore,
    id: ActorId,
    parent: InstanceCell | undefined,
    initial: ActorStatus,
    handlerFallback?: (envelope: MessageEnvelope, index: number) => void,
  ) {
    this.core = core;
    this.id = id;
    this.parent = parent;
    this.pids = parent ? parent.pids : { next: 1 };
    this.mailbox = new Mailbox(id, handlerFallback);
    this.status = new WatchCell<ActorStatus>(initial);
    this.context = new InstanceContext(this);
    this.#undeliverableDest = `${id.key}[${UNDELIVERABLE_INDEX}<${UNDELIVERABLE_TYPE}>]`;
    this.returnHandle = (returned) => {
      // Undeliverable notification to our own well-known port (never bounced).
      const note = createEnvelope({
        sender: returned.sender,
        dest: this.#undeliverableDest,
        type: UNDELIVERABLE_TYPE,
        data: returned,
        returnUndeliverable: false,
      });
      this.core.post(note, DROP);
    };
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  }

  get terminal(): boolean {
    return isTerminal(this.status.get());
  }

  /** Headers of the message in flight. */
  get headers(): Readonly<Record<string, HeaderValue>> {
    return EMPTY_HEADERS;
  }

  /** Cooperative stop request. */
  requestStop(_kind: "DrainAndStop" | "Stop" | "Abort", reason: string): void {
    this.finishClient(reason);
  }

  /** Hard abort (no cleanup, no supervision event). */
  abort(reason = "aborted"): void {
    this.finishClient(reason);
  }

  /** Client instances: terminal at once. */
  finishClient(reason: string): void {
    if (this.terminal) return;
    for (const child of this.children) child.requestStop("Stop", "parent stopping");
    this.mailbox.close("stopped");
    this.status.set({ kind: "Stopped", reason });
    this.status.close();
    this.core.terminated(this, undefined);
    this.resolveDone();
  }

  /** A child reached a terminal status. */
  childTerminated(child: ActorCell, _event: ActorSupervisionEvent | undefined): void {
    this.children.delete(child);
    if (_event && isError(_event) && !this.terminal) {
      console.error(
        `hypermesh: client ${this.id.key} ignores supervision event ${
          describeSupervisionEvent(_event)
        }`,
      );
    }
  }

  /** Schedules a delayed self message (actors only). */
  selfMessageWithDelay(_type: string, _msg: unknown, _delayMs: number): void {
    throw new Error(`Cannot schedule a self message: ${this.id.key} is a client instance`);
  }
}
