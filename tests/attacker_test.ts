/**
 * AU-1..AU-4 from the attacker's side: a raw socket (no hypermesh client
 * code on the attacker's path) speaks the wire protocol by hand — the
 * 20-byte preamble, the handshake bytes and JSON envelopes — against a real
 * host daemon (`bootstrap.ts host --secret-file`) and against the hosts of a
 * real `HostMesh.process` mesh (tcp and unix). Every attempt (config push,
 * spawn, stop, shutdown, a command run — with no handshake, a guessed key, a
 * forged proof, a replayed handshake, a truncated one) is dropped before
 * anything is acted on: the host stays alive and its owner keeps spawning
 * proc meshes on it throughout, then shuts it down.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { AuthenticationError, dial, SendError } from "../channel/mod.ts";
import {
  addChannelSecret,
  ChannelSecret,
  channelSecrets,
  loadSecretFile,
} from "../channel/secret.ts";
import { dialHandshake } from "../channel/_handshake.ts";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { workerCommand } from "../cli/worker.ts";
import { processState } from "../launcher/_proc_state.ts";

const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;
const PERMS = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];
const enc = new TextEncoder();

function preamble(version: number): Uint8Array {
  const out = new Uint8Array(20);
  out.set([0x48, 0x4d, 0x43, version]);
  out.set(crypto.getRandomValues(new Uint8Array(8)), 4);
  return out;
}

/** One JSON frame: varint length, tag 0, the text. */
function jsonFrame(value: unknown): Uint8Array {
  const text = enc.encode(JSON.stringify(value));
  const n = text.length + 1;
  const prefix: number[] = [];
  let v = n;
  while (v >= 0x80) {
    prefix.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 0x80);
  }
  prefix.push(v);
  const out = new Uint8Array(prefix.length + n);
  out.set(prefix);
  out[prefix.length] = 0;
  out.set(text, prefix.length + 1);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The commands an attacker would send to the host agent. */
function hostileEnvelopes(addr: string): Uint8Array {
  const agent = `${addr},service,host_agent[0]`;
  const sender = `${addr},attacker,evil[0]`;
  const env = (type: string, data: unknown) =>
    jsonFrame({
      sender,
      dest: agent,
      type,
      data,
      headers: {},
      ttl: 64,
      returnUndeliverable: false,
      errors: [],
    });
  return concat(
    env("SetClientConfig", { attrs: { HYPERACTOR_MESSAGE_TTL_DEFAULT: 1 }, done: `${sender}[1]` }),
    env("CreateOrUpdate", { name: "evil", rank: 0, spec: { command: ["sh", "-c", "id"] } }),
    env("Stop", { name: "legit", reason: "attacker" }),
    env("ShutdownHost", { timeoutMs: 1, maxInFlight: 1, ack: `${sender}[2]` }),
  );
}

/** Reads until the server drops us; returns everything it sent. */
async function readUntilDropped(conn: Deno.Conn): Promise<Uint8Array> {
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(256);
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return concat(...got);
    got.push(buf.slice(0, n));
  }
}

/** A Deno.Conn that records what is written through it. */
function recording(conn: Deno.Conn, log: Uint8Array[]): Deno.Conn {
  return new Proxy(conn, {
    get(target, prop) {
      if (prop === "write") {
        return (b: Uint8Array) => {
          log.push(b.slice());
          return target.write(b);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

async function startDaemon(secretFile: string | undefined, env?: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    ...(env !== undefined ? { env, clearEnv: true } : {}),
    args: [
      "run",
      ...PERMS,
      BOOTSTRAP,
      "host",
      "--addr",
      "tcp:127.0.0.1:0",
      ...(secretFile !== undefined ? ["--secret-file", secretFile] : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (stderr += s) }),
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`daemon exited: ${stderr}`);
    out += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const m = /^ready (\S+)/.exec(out);
  if (!m) throw new Error(`daemon did not start: ${out}`);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  return {
    addr: m[1],
    alive: () => !exited,
    stderr: () => stderr,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await status;
      await drained;
      await errDone;
    },
  };
}

/**
 * The attacks, each followed by `stillServing` (the target is alive and the
 * owner's link works).
 */
async function attack(
  addr: string,
  raw: () => Promise<Deno.Conn>,
  secret: ChannelSecret,
  stillServing: (what: string) => Promise<void>,
): Promise<void> {
  const evil = hostileEnvelopes(addr);

  // 1. No handshake at all (the old v1 preamble, then envelopes).
  {
    const conn = await raw();
    await conn.write(concat(preamble(1), evil)).catch(() => 0);
    await readUntilDropped(conn);
    conn.close();
    await stillServing("no handshake");
  }
  // 2. A guessed key id: refused with status 1 before any nonce is issued.
  {
    const conn = await raw();
    const hello = concat(
      preamble(2),
      new Uint8Array([1]),
      crypto.getRandomValues(new Uint8Array(24)),
    );
    await conn.write(hello);
    const reply = await readUntilDropped(conn);
    conn.close();
    assertEquals([...reply], [1], "no common secret");
    await stillServing("wrong secret");
  }
  // 3. The right key id (sniffed) but no secret: a forged MAC, then envelopes.
  {
    const conn = await raw();
    await conn.write(concat(preamble(2), new Uint8Array([1]), secret.keyId, new Uint8Array(16)));
    const challenge = new Uint8Array(50);
    let have = 0;
    while (have < 50) have += (await conn.read(challenge.subarray(have))) ?? 50;
    await conn.write(concat(crypto.getRandomValues(new Uint8Array(32)), evil)).catch(() => 0);
    await readUntilDropped(conn);
    conn.close();
    await stillServing("forged proof");
  }
  // 4. Replay: record the owner's handshake bytes, replay them on a new connection.
  {
    const written: Uint8Array[] = [];
    const conn = await raw();
    const proof = await dialHandshake(
      recording(conn, written),
      addr,
      crypto.getRandomValues(new Uint8Array(8)),
      0,
      [secret],
    );
    conn.close();
    const replay = await raw();
    await replay.write(concat(...written));
    const challenge = new Uint8Array(50);
    let have = 0;
    while (have < 50) have += (await replay.read(challenge.subarray(have))) ?? 50;
    await replay.write(concat(proof, evil)).catch(() => 0);
    const after = await readUntilDropped(replay);
    replay.close();
    assertEquals(after[1], 19, "AUTH_FAILED frame");
    await stillServing("replayed handshake");
  }
  // 5. Truncated handshake: half a hello, then hang up.
  {
    const conn = await raw();
    await conn.write(concat(preamble(2), new Uint8Array([1]), secret.keyId.subarray(0, 4)));
    await conn.closeWrite();
    await readUntilDropped(conn);
    conn.close();
    await stillServing("truncated handshake");
  }
}

Deno.test("AU-1 / AU-3 / AU-4: an attacker without the secret cannot command a host daemon; the owner can", async () => {
  using _r = config.override(attrs.HOST_SPAWN_READY_TIMEOUT, 120_000);
  const dir = await Deno.makeTempDir({ prefix: "hm_attacker_" });
  const secretFile = `${dir}/secret`;
  await Deno.writeTextFile(secretFile, `${ChannelSecret.generate().toEnv()}\n`, { mode: 0o600 });
  const secret = loadSecretFile(secretFile);
  const daemon = await startDaemon(secretFile);
  const [, host, port] = /^tcp:(.+):(\d+)$/.exec(daemon.addr)!;
  const raw = () => Deno.connect({ hostname: host, port: Number(port) });
  // The owner: this process also holds the daemon's secret (accepted and offered).
  addChannelSecret(secret);
  const cx = await context();
  try {
    const mesh = await HostMesh.attach(cx, "owner", [daemon.addr]);
    let n = 0;
    const stillServing = async (what: string) => {
      assert(daemon.alive(), `${what}: the daemon is still alive\n${daemon.stderr()}`);
      // The owner keeps working: a fresh proc mesh on the daemon.
      const procs = await mesh.spawn(cx, `owner${n++}`, Extent.unity());
      assertEquals(procs.ranks().length, 1, what);
    };
    await stillServing("baseline");
    await attack(daemon.addr, raw, secret, stillServing);
    // The daemon logged each refused peer with its address.
    assert(
      /authentication failed: dropping peer 127\.0\.0\.1:\d+/.test(daemon.stderr()),
      daemon.stderr(),
    );
    const report = await mesh.shutdown(cx); // the owner can shut it down
    assertEquals(report.failed, []);
  } finally {
    await shutdownContext();
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

for (const transport of ["tcp", "unix"] as const) {
  Deno.test(`AU-1 / AU-8 (${transport}): an attacker cannot command the hosts of a HostMesh.process mesh`, async () => {
    using _r = config.override(attrs.HOST_SPAWN_READY_TIMEOUT, 120_000);
    const cx = await context();
    await using hosts = await HostMesh.process(Extent.of({ hosts: 1 }), workerCommand(), {
      transport,
    });
    try {
      const before = await hosts.spawn(cx, "legit", Extent.unity());
      assertEquals(before.ranks().length, 1);
      const addr = hosts.ref.hosts[0].addr;
      assert(!addr.abstract, "AU-8: a socket file, not an abstract name");
      const raw = () =>
        addr.transport === "tcp"
          ? Deno.connect({ hostname: addr.host!, port: addr.port! })
          : Deno.connect({ transport: "unix", path: addr.path! });
      const pid = hosts.pids[0];
      let n = 0;
      await attack(addr.key, raw, channelSecrets()![0], async (what) => {
        assert(await isRunning(pid), `${what}: the host process is alive`);
        // The owner keeps working: a fresh proc mesh on the same host.
        const more = await hosts.spawn(cx, `legit${n++}`, Extent.unity());
        assertEquals(more.ranks().length, 1, what);
      });
      const report = await hosts.shutdown(cx);
      assertEquals(report.failed, []);
    } finally {
      await shutdownContext();
    }
  });
}

async function isRunning(pid: number): Promise<boolean> {
  return (await processState(pid)) === "alive";
}

Deno.test("AU-5 / AU-7: a daemon refuses to start with a readable secret file, or insecure on a non-loopback address", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hm_attacker_" });
  try {
    const secretFile = `${dir}/secret`;
    await Deno.writeTextFile(secretFile, `${ChannelSecret.generate().toEnv()}\n`);
    await Deno.chmod(secretFile, 0o644);
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...PERMS, BOOTSTRAP, "host", ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const readable = await run("--addr", "tcp:127.0.0.1:0", "--secret-file", secretFile);
    assertEquals(readable.code, 2, readable.stderr);
    assert(readable.stderr.includes(`Cannot use secret file "${secretFile}"`), readable.stderr);
    const missing = await run("--addr", "tcp:127.0.0.1:0", "--secret-file", `${dir}/nope`);
    assertEquals(missing.code, 2, missing.stderr);
    assert(missing.stderr.includes("no such file"), missing.stderr);
    const open = await run("--addr", "tcp:localhost:0", "--bind", "tcp:0.0.0.0:0", "--insecure");
    assertEquals(open.code, 2, open.stderr);
    assert(open.stderr.includes("Cannot run insecure"), open.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AU-6: with no secret configured a daemon creates the user's default secret file; the user's clients use it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hm_default_" });
  const env = Deno.env.toObject();
  delete env.HYPERMESH_CHANNEL_SECRET; // a daemon started from a plain shell
  delete env.HYPERMESH_SECRET_FILE;
  const daemon = await startDaemon(undefined, { ...env, XDG_CONFIG_HOME: dir });
  try {
    const path = `${dir}/hypermesh/secret`;
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/hypermesh`)).mode! & 0o777, 0o700);
    const own = dial<number>(daemon.addr, { secrets: [loadSecretFile(path)] });
    await own.send(1); // acknowledged: the same user's client gets in
    await own.close();
    const other = dial<number>(daemon.addr); // this process's own (different) secret
    const err = await assertRejects(() => other.send(2), SendError);
    assert(err.cause instanceof AuthenticationError, String(err));
    await other.close();
    assert(daemon.alive());
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
