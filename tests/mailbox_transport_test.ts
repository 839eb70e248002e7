/**
 * Integration tests of the mailbox transport over real unix and tcp channels,
 * in-process and across a child process (`fixtures/mailbox_echo_server.ts`).
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { type ChannelAddr, type ChannelServer, dial, serve } from "../channel/mod.ts";
import { raceAbort } from "../internal/abort.ts";
import { attrs, config } from "../config/mod.ts";
import {
  createEnvelope,
  type MailboxSender,
  type MessageEnvelope,
  postEnvelope,
} from "../actor/envelope.ts";
import { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { MailboxClient } from "../actor/transport/mailbox_client.ts";
import {
  type MailboxServerHandle,
  serveMailbox,
  UNDELIVERABLE_TYPE,
  undeliverablePortOf,
} from "../actor/transport/mailbox_server.ts";
import { ProcOrDialSender } from "../actor/transport/proc_or_dial.ts";

const TEST_DEADLINE_MS = 15_000;
const permissions: Deno.PermissionOptions = {
  run: true,
  read: true,
  write: true,
  net: true,
  env: true,
};

/** Records every envelope for its proc; `waitFor()` waits for a matching one. */
class Collector implements MailboxSender {
  readonly envelopes: MessageEnvelope[] = [];
  #wake: Array<() => void> = [];
  postUnchecked(envelope: MessageEnvelope): void {
    this.envelopes.push(envelope);
    for (const w of this.#wake.splice(0)) w();
  }
  async waitFor(
    predicate: (e: MessageEnvelope) => boolean,
    signal: AbortSignal,
  ): Promise<MessageEnvelope> {
    while (true) {
      const found = this.envelopes.find(predicate);
      if (found) return found;
      await raceAbort(new Promise<void>((r) => this.#wake.push(r)), signal);
    }
  }
  ofType(type: string): MessageEnvelope[] {
    return this.envelopes.filter((e) => e.type === type);
  }
}

/** A proc-like node: a served channel feeding a forwarder (local collector, else router). */
class Node implements AsyncDisposable {
  readonly server: ChannelServer<MessageEnvelope>;
  readonly procKey: string;
  readonly collector = new Collector();
  readonly router = new DialMailboxRouter();
  readonly forwarder: ProcOrDialSender;
  readonly handle: MailboxServerHandle;

  private constructor(server: ChannelServer<MessageEnvelope>, procKey: string) {
    this.server = server;
    this.procKey = procKey;
    this.forwarder = new ProcOrDialSender(this.router, [[procKey, this.collector]]);
    this.handle = serveMailbox(server, this.forwarder);
  }

  static async start(addr: string, procKey?: (bound: ChannelAddr) => string): Promise<Node> {
    const server = await serve<MessageEnvelope>(addr);
    return new Node(server, procKey?.(server.addr) ?? `${server.addr},node`);
  }

  actor(name: string): string {
    return `${this.procKey},${name}[0]`;
  }

  post(dest: string, data: unknown, init: { returnUndeliverable?: boolean } = {}): void {
    const envelope = createEnvelope({
      sender: this.actor("client"),
      dest,
      type: "Test",
      data,
      returnUndeliverable: init.returnUndeliverable,
    });
    postEnvelope(this.forwarder, envelope, (e) => this.collector.postUnchecked(e));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.handle.stop("test done");
    await this.handle.done;
    await this.router.close();
  }
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "hm-mb-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test({
    name: `MB-10: two nodes talk over ${transport} through DialMailboxRouters`,
    permissions,
    fn: () =>
      withTempDir(async (dir) => {
        const signal = AbortSignal.timeout(TEST_DEADLINE_MS);
        const listen = (n: string) =>
          transport === "unix" ? `unix:${dir}/${n}.sock` : "tcp:127.0.0.1:0";
        await using a = await Node.start(listen("a"));
        await using b = await Node.start(listen("b"));
        // Direct addressing: the proc id carries the address.
        a.post(`${b.actor("sink")}[1]`, "a->b");
        const got = await b.collector.waitFor((e) => e.data === "a->b", signal);
        assertEquals(got.sender, a.actor("client"));
        // A bound prefix wins over direct addressing (MB-10): route b's replies
        // for a's proc explicitly.
        b.router.bind(a.procKey, a.server.addr);
        for (let i = 0; i < 20; i++) b.post(`${a.actor("sink")}[1]`, i);
        await b.router.flush();
        await a.collector.waitFor((e) => e.data === 19, signal);
        assertEquals(
          a.collector.envelopes.filter((e) => typeof e.data === "number").map((e) => e.data),
          Array.from({ length: 20 }, (_, i) => i),
          "in order",
        );
      }),
  });
}

Deno.test({
  name: "MB-18: a link closed by its server bounces until the proc is rebound (tcp)",
  permissions,
  fn: async () => {
    const signal = AbortSignal.timeout(TEST_DEADLINE_MS);
    await using a = await Node.start("tcp:127.0.0.1:0");
    const b = await Node.start("tcp:127.0.0.1:0", () => "tcp:127.0.0.1:1,b");
    a.router.bind(b.procKey, b.server.addr);
    a.post(`${b.procKey},sink[0][1]`, "first");
    await b.collector.waitFor((e) => e.data === "first", signal);
    await a.router.flush();
    await b[Symbol.asyncDispose](); // server closed: live sessions are told Closed
    // The cached client stays cached; once the link is Closed posts bounce BrokenLink.
    let bounced: MessageEnvelope | undefined;
    while (bounced === undefined) {
      signal.throwIfAborted();
      a.post(`${b.procKey},sink[0][1]`, "lost");
      await a.router.flush();
      bounced = a.collector.envelopes.find((e) => e.data === "lost");
    }
    assertEquals(bounced.errors[0].kind, "BrokenLink");
    await using b2 = await Node.start("tcp:127.0.0.1:0", () => b.procKey);
    a.router.bind(b.procKey, b2.server.addr); // MB-18: new address evicts the dead client
    a.post(`${b.procKey},sink[0][1]`, "second");
    await b2.collector.waitFor((e) => e.data === "second", signal);
  },
});

Deno.test({
  name: "MB-11: an envelope received by a server for a gone proc returns as Undeliverable",
  permissions,
  fn: () =>
    withTempDir(async (dir) => {
      const signal = AbortSignal.timeout(TEST_DEADLINE_MS);
      using _timeout = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 300);
      await using a = await Node.start(`unix:${dir}/a.sock`);
      const goneProc = `unix:${dir}/gone.sock,gone`; // nobody serves it
      await using injector = MailboxClient.dial(a.server.addr);
      const inject = (data: string, returnUndeliverable: boolean) =>
        postEnvelope(
          injector,
          createEnvelope({
            sender: a.actor("client"),
            dest: `${goneProc},sink[0][1]`,
            type: "Test",
            data,
            returnUndeliverable,
          }),
          () => assert(false, "the injector's link must not return anything"),
        );
      inject("silent", false);
      inject("loud", true);
      await injector.flush();
      const u = await a.collector.waitFor((e) => e.type === UNDELIVERABLE_TYPE, signal);
      await a.router.flush(); // both returned by now
      assertEquals(u.dest, undeliverablePortOf(a.actor("client")));
      const original = u.data as MessageEnvelope;
      assertEquals(original.data, "loud");
      assertEquals(original.errors.map((e) => e.kind), ["BrokenLink", "BrokenLink"]);
      assertEquals(original.errors[1], {
        kind: "BrokenLink",
        message: "message was undeliverable",
      });
      assertEquals(a.collector.ofType(UNDELIVERABLE_TYPE).length, 1, "MB-2: silent stays silent");
    }),
});

/** A running echo-server child process. */
class EchoChild implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly addr: string;
  readonly #output: Promise<string>;
  private constructor(child: Deno.ChildProcess, addr: string, output: Promise<string>) {
    this.child = child;
    this.addr = addr;
    this.#output = output;
  }

  static async start(listen: string, signal: AbortSignal): Promise<EchoChild> {
    const fixture = new URL("./fixtures/mailbox_echo_server.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-net", "--allow-env", fixture, listen],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let head = "";
    const readLine = async () => {
      while (!head.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        head += value;
      }
    };
    try {
      await raceAbort(readLine(), signal);
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      throw new Error(`echo server did not start:\n${await stderr}`, { cause: error });
    }
    const rest = (async () => {
      let out = head;
      while (true) {
        const { value, done } = await reader.read();
        if (done) return out;
        out += value;
      }
    })();
    const output = Promise.all([rest, stderr]).then(([o, e]) => `stdout:\n${o}\nstderr:\n${e}`);
    const match = /^ready (\S+)/.exec(head);
    if (!match) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`echo server said: ${await output}`);
    }
    return new EchoChild(child, match[1], output);
  }

  get procKey(): string {
    return `${this.addr},echo`;
  }

  /** The child's output (after it exited). */
  output(): Promise<string> {
    return this.#output;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    await this.child.status;
    await this.#output;
  }
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test({
    name: `MB-11: undeliverables across a real child process over ${transport}`,
    permissions,
    fn: () =>
      withTempDir(async (dir) => {
        const signal = AbortSignal.timeout(TEST_DEADLINE_MS);
        using _timeout = config.override(attrs.MESSAGE_DELIVERY_TIMEOUT, 500);
        await using t = await Node.start(
          transport === "unix" ? `unix:${dir}/t.sock` : "tcp:127.0.0.1:0",
        );
        const echo = await EchoChild.start(
          transport === "unix" ? `unix:${dir}/echo.sock` : "tcp:127.0.0.1:0",
          signal,
        );
        let ok = false;
        try {
          // 1. Round trip through the child.
          const replyTo = `${t.actor("client")}[7]`;
          t.post(`${echo.procKey},echo[0][1]`, { replyTo, payload: "hi" });
          const reply = await t.collector.waitFor((e) => e.type === "Echo", signal);
          assertEquals([reply.dest, reply.data], [replyTo, "hi"]);

          // 2. MB-11 remote: an unknown actor in the child comes back as Undeliverable.
          t.post(`${echo.procKey},nobody[0][1]`, "to nobody");
          const u1 = await t.collector.waitFor((e) => e.type === UNDELIVERABLE_TYPE, signal);
          assertEquals(u1.dest, undeliverablePortOf(t.actor("client")));
          assertEquals((u1.data as MessageEnvelope).errors.map((e) => e.kind), [
            "Unroutable",
            "BrokenLink",
          ]);

          // 3. MB-16: garbage does not kill the child's server.
          {
            await using raw = dial<unknown>(echo.addr);
            for (const junk of [null, 7, "junk", { sender: 1 }, [1, 2, 3], { dest: "x" }]) {
              await raw.send(junk);
            }
          }
          t.post(`${echo.procKey},echo[0][1]`, { replyTo, payload: "still here" });
          await t.collector.waitFor((e) => e.data === "still here", signal);

          // 4. SIGKILL the child: what the server received for it returns, the
          //    silent envelope does not.
          echo.child.kill("SIGKILL");
          await echo.child.status;
          await using injector = MailboxClient.dial(t.server.addr);
          for (const [data, returnUndeliverable] of [["silent", false], ["loud", true]] as const) {
            postEnvelope(
              injector,
              createEnvelope({
                sender: t.actor("client"),
                dest: `${echo.procKey},echo[0][1]`,
                type: "Test",
                data: { replyTo, payload: data },
                returnUndeliverable,
              }),
              () => assert(false, "the injector's link must not return anything"),
            );
          }
          await injector.flush();
          const u2 = await t.collector.waitFor(
            (e) => e.type === UNDELIVERABLE_TYPE && e !== u1,
            signal,
          );
          await t.router.flush();
          const original = u2.data as MessageEnvelope;
          assertEquals((original.data as { payload: string }).payload, "loud");
          assertEquals(original.errors.map((e) => e.kind), ["BrokenLink", "BrokenLink"]);
          assertEquals(
            t.collector.ofType(UNDELIVERABLE_TYPE).length,
            2,
            "MB-2: silent stays silent",
          );
          ok = true;
        } finally {
          await echo[Symbol.asyncDispose]();
          if (!ok) console.error(await echo.output());
        }
      }),
  });
}
