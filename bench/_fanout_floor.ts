/**
 * The raw floor of a cast fan-out, for `fanout_bench.ts`: bare Deno
 * processes in the same tree as a host mesh (`_bare_fanout_node.ts`). The
 * client writes one 8-byte frame to each of `hosts` relay processes; each
 * relay writes it to each of its `leaves` leaf processes; each leaf writes it
 * back to the client on its own connection. A cast completes when the client
 * has read one frame per leaf. No framing, encoding, acks, auth or actors:
 * only the process wake-ups and socket writes that any one-process-per-rank
 * fan-out needs.
 * @module
 */

import { BARE_FLAGS } from "./_floor.ts";

const NODE = new URL("./_bare_fanout_node.ts", import.meta.url).pathname;
const FRAME = 8;

/** A running bare fan-out tree. */
export class BareFanout implements AsyncDisposable {
  #pending = 0;
  #wake: (() => void) | undefined;
  #seq = 0n;

  private constructor(
    readonly leaves: number,
    private readonly relays: Deno.Conn[],
    private readonly children: Deno.ChildProcess[],
    private readonly replies: Deno.Conn[],
    private readonly dir: string,
  ) {
    for (const r of replies) this.#readReplies(r);
  }

  /**
   * Starts `hosts` relays with `leavesPerHost` leaves each and waits until
   * every process is connected.
   * @param hosts Relay processes.
   * @param leavesPerHost Leaf processes per relay.
   * @returns The tree.
   * @throws {Error} When a relay exits before everything connected (its
   * processes are killed and awaited first).
   */
  static async start(hosts: number, leavesPerHost: number): Promise<BareFanout> {
    const dir = Deno.makeTempDirSync({ prefix: "fanout-floor-" });
    const control = Deno.listen({ transport: "unix", path: `${dir}/control` });
    const reply = Deno.listen({ transport: "unix", path: `${dir}/reply` });
    const children = Array.from({ length: hosts }, (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", ...BARE_FLAGS, "--allow-run", NODE],
        env: {
          FANOUT_ROLE: "relay",
          FANOUT_RELAY_SOCK: `${dir}/relay-${i}`,
          FANOUT_LEAVES: String(leavesPerHost),
          FANOUT_CONTROL: `${dir}/control`,
          FANOUT_REPLY: `${dir}/reply`,
        },
        stdin: "null",
      }).spawn());
    const replies: Deno.Conn[] = [];
    const relays: Deno.Conn[] = [];
    let starting = true;
    const relayDied = new Promise<never>((_, reject) => {
      for (const child of children) {
        child.status.then((status) => {
          if (starting) reject(new Error(`a fan-out floor relay exited (${status.code}) at start`));
        });
      }
    });
    try {
      await Promise.race([
        relayDied,
        Promise.all([
          (async () => {
            for (let i = 0; i < hosts * leavesPerHost; i++) replies.push(await reply.accept());
          })(),
          (async () => {
            for (let i = 0; i < hosts; i++) relays.push(await control.accept());
          })(),
        ]),
      ]);
    } catch (error) {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited already
        }
      }
      await Promise.all(children.map((c) => c.status));
      for (const conn of [...replies, ...relays]) conn.close();
      Deno.removeSync(dir, { recursive: true });
      throw error;
    } finally {
      starting = false;
      control.close();
      reply.close();
    }
    return new BareFanout(hosts * leavesPerHost, relays, children, replies, dir);
  }

  /**
   * One cast: a frame to each relay, then every leaf's reply.
   * @returns Milliseconds from the first write to the last reply.
   */
  async cast(): Promise<number> {
    const frame = new Uint8Array(FRAME);
    new DataView(frame.buffer).setBigUint64(0, this.#seq++);
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => this.#wake = resolve);
    this.#pending = this.leaves;
    await Promise.all(this.relays.map((r) => r.write(frame)));
    await done;
    return performance.now() - t0;
  }

  async #readReplies(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(4096);
    let carry = 0;
    while (true) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        return;
      }
      if (n === null) return;
      carry += n;
      const frames = Math.floor(carry / FRAME);
      carry -= frames * FRAME;
      this.#pending -= frames;
      if (this.#pending === 0) this.#wake?.();
    }
  }

  /** Closes the relays' control connections and waits for every process to exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const r of this.relays) r.close();
    await Promise.all(this.children.map((c) => c.status));
    for (const r of this.replies) {
      try {
        r.close();
      } catch {
        // closed by the leaf's exit already
      }
    }
    Deno.removeSync(this.dir, { recursive: true });
  }
}
