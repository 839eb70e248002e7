/**
 * Authentication benchmark (issue 13): link setup time and round-trip
 * latency of tcp and unix channels with the AU-1..AU-4 handshake next to the
 * same links without authentication (`--insecure` mode), in one process and
 * one run. Setup = `dial()` + first `send()` acknowledged + `close()`; round
 * trip = a ping over one link and the pong over another, on established
 * links. Secure and plain phases alternate for ROUNDS rounds; the report
 * gives medians (per-link / per-round-trip), the added setup time and the
 * round-trip ratio. Targets: ≤ 1 ms added per link, round trip ≤ 1.05x.
 *
 * Run: `deno run --allow-read --allow-write --allow-net --allow-env bench/auth_bench.ts [--quick]`
 * @module
 */

import { ChannelAddr, type ChannelServer, dial, serve, type Transport } from "../channel/mod.ts";
import { channelSecrets, setChannelSecret } from "../channel/secret.ts";

const QUICK = Deno.args.includes("--quick");
const ROUNDS = QUICK ? 3 : 7;
const LINKS = QUICK ? 50 : 200;
const PINGS = QUICK ? 500 : 2000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** @returns ms per link: dial, first message acknowledged, close. */
async function setupMs(transport: Transport): Promise<number> {
  await using server = await serve<number>(ChannelAddr.any(transport));
  const times: number[] = [];
  for (let i = 0; i < LINKS; i++) {
    const t0 = performance.now();
    const tx = dial<number>(server.addr);
    await tx.send(i);
    times.push(performance.now() - t0);
    await server.recv();
    await tx.close();
  }
  return median(times);
}

/** @returns µs per round trip on established links. */
async function roundTripUs(transport: Transport): Promise<number> {
  await using a = await serve<number>(ChannelAddr.any(transport));
  await using b = await serve<number>(ChannelAddr.any(transport));
  await using ab = dial<number>(b.addr);
  await using ba = dial<number>(a.addr);
  const pingPong = async (n: number, rx1: ChannelServer<number>, rx2: ChannelServer<number>) => {
    for (let i = 0; i < n; i++) {
      ab.post(i);
      await rx1.recv();
      ba.post(i);
      await rx2.recv();
    }
  };
  await pingPong(100, b, a); // warm-up: links set up
  const t0 = performance.now();
  await pingPong(PINGS, b, a);
  return (performance.now() - t0) * 1000 / PINGS;
}

const secure = channelSecrets()![0];
const results: Record<string, { secure: number[]; plain: number[] }> = {};
const record = (key: string, mode: "secure" | "plain", v: number) => {
  (results[key] ??= { secure: [], plain: [] })[mode].push(v);
};
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of round % 2 ? ["plain", "secure"] as const : ["secure", "plain"] as const) {
    setChannelSecret(mode === "secure" ? secure : null);
    for (const transport of ["tcp", "unix"] as const) {
      record(`${transport} setup ms`, mode, await setupMs(transport));
      record(`${transport} round trip µs`, mode, await roundTripUs(transport));
    }
  }
}
setChannelSecret(secure);

console.log(`auth bench: ${ROUNDS} rounds, ${LINKS} links, ${PINGS} round trips per round`);
console.log("case                   | with auth | without | added / ratio | target");
for (const [key, { secure: s, plain: p }] of Object.entries(results)) {
  const ms = median(s);
  const mp = median(p);
  const setup = key.includes("setup");
  const delta = setup ? `+${(ms - mp).toFixed(3)} ms` : `${(ms / mp).toFixed(3)}x`;
  const target = setup ? "≤ +1 ms" : "≤ 1.05x";
  console.log(
    `${key.padEnd(22)} | ${ms.toFixed(3).padStart(9)} | ${mp.toFixed(3).padStart(7)} | ${
      delta.padStart(13)
    } | ${target}`,
  );
}
