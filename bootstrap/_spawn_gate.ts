/**
 * Folder-private: the launch gate of a `BootstrapProcManager` — admission
 * control for cold spawns.
 *
 * Launching a child (`Deno.Command#spawn`) is synchronous: fork + exec block
 * the host's event loop, 20–140 ms each on a loaded 2-core machine. A burst
 * of 16 `CreateOrUpdate`s used to launch back to back in one macrotask,
 * blocking the host's loop for over a second, so the owner's heartbeat
 * (`GetState` to the host agent) went unanswered past its 1.5 s deadline and
 * the host was declared lost under 64 cold starts on 4 hosts (HW-2).
 *
 * ## Invariants (BS-*)
 * - **BS-46 (launches yield).** At most one child is launched per macrotask:
 *   between two launches the gate yields to the event loop (a zero timer),
 *   so messages that arrived meanwhile — heartbeats, status queries — are
 *   served between launches, not after the whole burst. Launches keep their
 *   request order (FIFO). A launch asked of an idle gate (none granted since
 *   it last saw a macrotask boundary, nobody queued, a slot free) is granted
 *   at once: a lone spawn pays no timer, and the gate arms a timer only
 *   while someone waits.
 * - **BS-47 (bounded cold starts).** With a limit `max > 0`
 *   (`HYPERMESH_HOST_MAX_STARTING_PROCS`), at most `max` children are
 *   starting at once (launched, neither called back nor exited); the next
 *   launch waits for a slot. A waiter whose signal aborts leaves the queue
 *   at once and is never granted.
 * @module
 */

/** Gives a granted slot back (idempotent). */
export type ReleaseSlot = () => void;

interface Waiter {
  grant: (release: ReleaseSlot) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * FIFO launch gate: one launch per macrotask (BS-46), at most `max` starting
 * children (BS-47, 0 = no bound).
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SpawnGate } from "./_spawn_gate.ts";
 * const gate = new SpawnGate(1);
 * const first = await gate.acquire(); // an idle gate grants at once
 * let second = false;
 * const next = gate.acquire().then((release) => (second = true, release));
 * await new Promise((r) => setTimeout(r, 5));
 * assertEquals([gate.starting, second], [1, false]); // BS-47: waits for a slot
 * first();
 * (await next)();
 * assertEquals(gate.starting, 0);
 * ```
 */
export class SpawnGate {
  readonly #max: number;
  readonly #queue: Waiter[] = [];
  #starting = 0;
  /**
   * A launch may have been granted in the current macrotask: set by every
   * grant, cleared by events that surely come in a later one — the gate's
   * own timer, and a release (a child's callback or exit, I/O-driven).
   */
  #busy = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Launches granted so far (for tests and benches). */
  #granted = 0;

  /**
   * Creates a gate.
   * @param max Most children starting at once; 0 or less: no bound.
   */
  constructor(max = 0) {
    this.#max = max > 0 ? Math.floor(max) : 0;
  }

  /** Children holding a slot (launched, not yet ready or exited). */
  get starting(): number {
    return this.#starting;
  }

  /** Callers waiting for their turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Slots granted since creation. */
  get granted(): number {
    return this.#granted;
  }

  /**
   * Waits for this caller's turn: at once when the gate is idle (no launch
   * granted since the last macrotask boundary it saw, nobody queued, a slot
   * free), else after a macrotask yield (BS-46) and once fewer than `max`
   * children are starting (BS-47).
   * @param signal Leaves the queue and rejects with its reason on abort.
   * @returns The release of the slot: call it once the child is ready, has
   * exited, or failed to launch.
   * @throws `signal.reason` when aborted before the grant.
   */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    signal?.throwIfAborted();
    if (!this.#busy && this.#queue.length === 0 && this.#hasSlot()) {
      return Promise.resolve(this.#grant()); // a lone spawn pays no timer
    }
    return new Promise((grant, reject) => {
      const waiter: Waiter = { grant, reject };
      if (signal !== undefined) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#schedule();
    });
  }

  #hasSlot(): boolean {
    return this.#max === 0 || this.#starting < this.#max;
  }

  #grant(): ReleaseSlot {
    this.#starting++;
    this.#granted++;
    this.#busy = true; // BS-46: a next launch waits for a macrotask boundary
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#starting--;
      this.#busy = false; // a callback or an exit: a later macrotask
      this.#schedule(); // BS-47: a freed slot serves the next waiter
    };
  }

  /** Arms the yield timer while someone waits for a free slot (never otherwise). */
  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0 || !this.#hasSlot()) return;
    this.#timer = setTimeout(() => { // BS-46: one launch per macrotask
      this.#timer = undefined;
      this.#busy = false;
      if (this.#queue.length === 0 || !this.#hasSlot()) return;
      const waiter = this.#queue.shift()!;
      if (waiter.onAbort !== undefined) {
        waiter.signal?.removeEventListener("abort", waiter.onAbort);
      }
      waiter.grant(this.#grant());
      this.#schedule();
    }, 0);
  }
}
