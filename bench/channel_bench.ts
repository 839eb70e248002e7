/**
 * Channel benchmark: round-trip latency and one-way throughput of local, unix
 * and tcp channels next to a bare Deno socket floor measured in the same run.
 *
 * Run: `deno run --allow-run --allow-read --allow-write --allow-net --allow-env bench/channel_bench.ts`
 * (add `--quick` for a shorter, single-run pass). The bare floor and the
 * channel kinds of one row group run in turns, 5 rounds (fresh processes
 * each): absolute figures are the best round, ratios the median of the
 * per-round ratios (each channel run against the floor measured right before
 * it), so a slow minute of this shared VM moves both sides of a ratio. Each
 * case runs in a child process (the peer is a grandchild); round-trip cases run under `taskset -c 0` when
 * `taskset` exists so both ends share one CPU; throughput cases are unpinned.
 *
 * Message kinds: `bytes` = a `Uint8Array` message (raw frame), `json` = a
 * string message whose JSON text has the given size. At 4 KiB a second floor,
 * `bare-fresh`, reads every chunk into a fresh buffer, as any receiver that
 * hands the bytes on must: the bare sink's one reused buffer stays in cache,
 * fresh memory does not (and is zeroed and faulted in first), which costs a
 * bare Deno sink 2–4x on this machine.
 * @module
 */

import { ChannelAddr, type ChannelServer, dial, serve, type Transport } from "../channel/mod.ts";

const PEER = new URL("./_channel_peer.ts", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const FLAGS = ["--allow-run", "--allow-read", "--allow-write", "--allow-net", "--allow-env"];
const QUICK = Deno.args.includes("--quick");
/** This machine is shared and noisy: each row group runs in REPEAT interleaved rounds. */
const REPEAT = QUICK ? 1 : 5;

type Kind = "bare" | "bare-fresh" | "bytes" | "json";

function message(kind: Kind, size: number): unknown {
  return kind === "json" ? "x".repeat(size - 2) : new Uint8Array(size).fill(7);
}

async function withPeer<T>(
  role: string,
  transport: Transport,
  fn: (addr: string) => Promise<T>,
): Promise<T> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...FLAGS, PEER, role, transport],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`peer ${role} exited early`);
      text += value;
    }
    return await fn(text.split("\n")[0]);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
  }
}

async function rawConnect(addr: string): Promise<Deno.Conn> {
  const a = ChannelAddr.parse(addr);
  if (a.transport === "tcp") {
    const c = await Deno.connect({ hostname: a.host!, port: a.port! });
    c.setNoDelay(true);
    return c;
  }
  return await Deno.connect({ transport: "unix", path: a.abstract ? `\0${a.path}` : a.path! });
}

function stats(samples: number[]): { median: number; p90: number } {
  samples.sort((a, b) => a - b);
  return {
    median: samples[Math.floor(samples.length * 0.5)] * 1000,
    p90: samples[Math.floor(samples.length * 0.9)] * 1000,
  };
}

const RT_WARM = QUICK ? 500 : 2000;
const RT_N = QUICK ? 3000 : 20000;

async function roundTrip(
  kind: Kind,
  transport: Transport,
): Promise<{ median: number; p90: number }> {
  const samples: number[] = [];
  if (kind === "bare") {
    return await withPeer("bare-echo", transport, async (addr) => {
      const conn = await rawConnect(addr);
      const out = new Uint8Array(64).fill(7);
      const buf = new Uint8Array(64);
      for (let i = 0; i < RT_WARM + RT_N; i++) {
        const t0 = performance.now();
        await conn.write(out);
        let got = 0;
        while (got < 64) got += (await conn.read(buf.subarray(got)))!;
        if (i >= RT_WARM) samples.push(performance.now() - t0);
      }
      conn.close();
      return stats(samples);
    });
  }
  const msg = message(kind, 64);
  const run = async (rx: ChannelServer<unknown>, peerAddr: string, first: boolean) => {
    const tx = dial<unknown>(peerAddr);
    if (first) tx.post(rx.addr.key);
    for (let i = 0; i < RT_WARM + RT_N; i++) {
      const t0 = performance.now();
      tx.post(msg);
      await rx.recv();
      if (i >= RT_WARM) samples.push(performance.now() - t0);
    }
    await tx.close();
  };
  if (transport === "local") {
    await using a = await serve<unknown>("local:0");
    await using b = await serve<unknown>("local:0");
    const back = dial<unknown>(b.addr);
    const echo = (async () => {
      for await (const m of a) back.post(m);
    })();
    await run(b, a.addr.key, false);
    await a.close();
    await echo;
    await back.close();
    return stats(samples);
  }
  return await withPeer("chan-echo", transport, async (addr) => {
    await using rx = await serve<unknown>(ChannelAddr.any(transport));
    await run(rx, addr, true);
    return stats(samples);
  });
}

async function throughput(kind: Kind, transport: Transport, size: number): Promise<number> {
  const n = Math.floor((QUICK ? 0.25 : 1) * (size <= 64 ? 2_000_000 : 200_000));
  if (kind === "bare" || kind === "bare-fresh") {
    const role = kind === "bare" ? "bare-sink" : "bare-sink-fresh";
    return await withPeer(role, transport, async (addr) => {
      const conn = await rawConnect(addr);
      const total = n * size;
      const chunk = new Uint8Array(256 * 1024 - (256 * 1024) % size).fill(7);
      const header = new Uint8Array(8);
      new DataView(header.buffer).setBigUint64(0, BigInt(total));
      const t0 = performance.now();
      await conn.write(header);
      for (let sent = 0; sent < total;) {
        const part = Math.min(chunk.length, total - sent);
        let off = 0;
        while (off < part) off += await conn.write(chunk.subarray(off, part));
        sent += part;
      }
      await conn.read(new Uint8Array(1));
      const secs = (performance.now() - t0) / 1000;
      conn.close();
      return n / secs;
    });
  }
  const msg = message(kind, size);
  const CHUNK = 8192;
  if (transport === "local") {
    await using rx = await serve<unknown>("local:0");
    await using tx = dial<unknown>(rx.addr);
    const t0 = performance.now();
    let got = 0;
    const consumer = (async () => {
      for await (const _ of rx) if (++got === n) return;
    })();
    for (let i = 0; i < n; i++) {
      tx.post(msg);
      if (i % CHUNK === CHUNK - 1) await Promise.resolve();
    }
    await consumer;
    return n / ((performance.now() - t0) / 1000);
  }
  return await withPeer("chan-sink", transport, async (addr) => {
    await using rx = await serve<unknown>(ChannelAddr.any(transport));
    await using tx = dial<unknown>(addr);
    await tx.send({ reply: rx.addr.key, count: n });
    // Window of two chunks: post one chunk while the previous one is acked.
    const chunk = Math.max(64, Math.floor((1 << 20) / size));
    const t0 = performance.now();
    let prev = Promise.resolve();
    for (let i = 0; i < n; i += chunk) {
      for (let j = i; j < i + chunk && j < n; j++) tx.post(msg);
      const f = tx.flush();
      await prev;
      prev = f;
    }
    await rx.recv(); // "done"
    return n / ((performance.now() - t0) / 1000);
  });
}

async function runCase(spec: string): Promise<unknown> {
  const [what, kind, transport, size] = spec.split(":");
  if (what === "rt") return await roundTrip(kind as Kind, transport as Transport);
  return await throughput(kind as Kind, transport as Transport, Number(size));
}

async function hasTaskset(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", { args: ["-c", "0", "true"] }).output();
    return success;
  } catch {
    return false;
  }
}

type RoundTrip = { median: number; p90: number };

/**
 * Runs `specs` in turns, REPEAT rounds (fresh processes each).
 * @returns Per spec: the best round, and the median over rounds of the ratio
 * to `specs[0]` (the floor) of the same round; "better" is a lower median
 * for round trips, a higher rate for throughput.
 */
async function pairedCases(
  specs: string[],
  pin: boolean,
): Promise<{ best: unknown; ratio: number }[]> {
  const runs: unknown[][] = specs.map(() => []);
  for (let i = 0; i < REPEAT; i++) {
    for (let k = 0; k < specs.length; k++) runs[k].push(await spawnOnce(specs[k], pin));
  }
  const value = (r: unknown) => typeof r === "number" ? r : (r as RoundTrip).median;
  const lowerIsBetter = typeof runs[0][0] !== "number";
  return runs.map((rs) => {
    const sorted = [...rs].sort((a, b) =>
      lowerIsBetter ? value(a) - value(b) : value(b) - value(a)
    );
    const ratios = rs.map((r, i) => value(r) / value(runs[0][i])).sort((a, b) => a - b);
    return { best: sorted[0], ratio: ratios[Math.floor(ratios.length / 2)] };
  });
}

async function spawnCase(spec: string, pin: boolean): Promise<unknown> {
  return (await pairedCases([spec], pin))[0].best;
}

async function spawnOnce(spec: string, pin: boolean): Promise<unknown> {
  const argv = [
    Deno.execPath(),
    "run",
    ...FLAGS,
    SELF,
    "--case",
    spec,
    ...(QUICK ? ["--quick"] : []),
  ];
  const cmd = pin
    ? new Deno.Command("taskset", { args: ["-c", "0", ...argv] })
    : new Deno.Command(argv[0], { args: argv.slice(1) });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`case ${spec} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

async function main(): Promise<void> {
  const pin = await hasTaskset();
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const rows: string[][] = [[
    "case",
    "transport",
    "kind",
    "result",
    "bare floor",
    "ratio",
    "target",
  ]];
  console.error(`round trips ${pin ? "pinned with taskset -c 0" : "NOT pinned (no taskset)"}`);
  for (const transport of ["unix", "tcp"] as const) {
    const kinds = ["bare", "bytes", "json"] as const;
    const results = await pairedCases(kinds.map((k) => `rt:${k}:${transport}`), pin);
    const bare = results[0].best as RoundTrip;
    rows.push([
      "rtt 64 B (µs, median/p90)",
      transport,
      "bare",
      `${fmt(bare.median)} / ${fmt(bare.p90)}`,
      "",
      "",
      "",
    ]);
    for (let k = 1; k < kinds.length; k++) {
      const r = results[k].best as RoundTrip;
      rows.push([
        "rtt 64 B (µs, median/p90)",
        transport,
        kinds[k],
        `${fmt(r.median)} / ${fmt(r.p90)}`,
        fmt(bare.median),
        `${fmt(results[k].ratio, 2)}x`,
        "≤ 1.5x",
      ]);
    }
  }
  for (const kind of ["bytes", "json"] as const) {
    const r = await spawnCase(`rt:${kind}:local`, pin) as { median: number; p90: number };
    rows.push([
      "rtt 64 B (µs, median/p90)",
      "local",
      kind,
      `${fmt(r.median)} / ${fmt(r.p90)}`,
      "",
      "",
      "",
    ]);
  }
  for (const size of [64, 4096]) {
    for (const transport of ["unix", "tcp"] as const) {
      // 4 KiB: also the floor of a receiver that hands bytes on (a fresh buffer per read).
      const kinds = size === 64
        ? ["bare", "bytes", "json"] as const
        : ["bare", "bytes", "json", "bare-fresh"] as const;
      const results = await pairedCases(kinds.map((k) => `tput:${k}:${transport}:${size}`), false);
      const bare = results[0].best as number;
      const unit = size === 64
        ? (x: number) => `${fmt(x / 1e6, 2)} M msg/s`
        : (x: number) => `${fmt(x * size / 1e9, 2)} GB/s`;
      rows.push([`one-way ${size} B`, transport, "bare", unit(bare), "", "", ""]);
      for (let k = 1; k < kinds.length; k++) {
        rows.push([
          `one-way ${size} B`,
          transport,
          kinds[k],
          unit(results[k].best as number),
          unit(bare),
          `${fmt(results[k].ratio, 3)}`,
          size === 64 ? "≥ 2 M msg/s" : kinds[k] === "bare-fresh" ? "" : "≥ 0.5 of bare",
        ]);
      }
    }
    for (const kind of ["bytes", "json"] as const) {
      const r = await spawnCase(`tput:${kind}:local:${size}`, false) as number;
      rows.push([
        `one-way ${size} B`,
        "local",
        kind,
        `${fmt(r / 1e6, 2)} M msg/s`,
        "",
        "",
        "≥ 3 M msg/s",
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join(" | "));
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--case");
  if (at >= 0) console.log(JSON.stringify(await runCase(Deno.args[at + 1])));
  else await main();
}
