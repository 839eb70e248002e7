/**
 * TLS round trip vs plain tcp round trip through the channel API
 * (`serve()` / `dial()`, `send()` resolving on the server's ack), in the same
 * run, interleaved rounds; reports medians and the tls/tcp ratio (issue 13
 * target: ≤ 1.5x). The CA and certificate are made with `openssl`.
 *
 *     deno run --allow-run --allow-read --allow-write --allow-net --allow-env bench/tls_bench.ts
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import { ChannelAddr, dial, serve } from "../channel/mod.ts";
import { makeTestPki } from "../tests/_tls_support.ts";

const ROUNDS = 7;
const TRIPS = 500;

/** Median microseconds of one send-and-receive round trip on `transport`. */
async function roundTrip(transport: "tcp" | "tls"): Promise<number> {
  await using server = await serve<Uint8Array>(ChannelAddr.any(transport));
  await using tx = dial<Uint8Array>(server.addr);
  const msg = new Uint8Array(64);
  for (let i = 0; i < 50; i++) { // warm up: connect, handshake, JIT
    await tx.send(msg);
    await server.recv();
  }
  const samples: number[] = [];
  for (let i = 0; i < TRIPS; i++) {
    const t0 = performance.now();
    await tx.send(msg);
    await server.recv();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1] * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

if (import.meta.main) {
  const pki = await makeTestPki();
  try {
    using _c = config.override(attrs.TLS_CERT_FILE, pki.certFile);
    using _k = config.override(attrs.TLS_KEY_FILE, pki.keyFile);
    using _a = config.override(attrs.TLS_CA_FILE, pki.caFile);
    const tcp: number[] = [];
    const tls: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const a = await roundTrip("tcp");
      const b = await roundTrip("tls");
      tcp.push(a);
      tls.push(b);
      ratios.push(b / a);
    }
    console.log(`round trip 64 B through serve()/dial(), median of ${ROUNDS} rounds x ${TRIPS}`);
    console.log(`  tcp (floor)  ${median(tcp).toFixed(1)} µs`);
    console.log(`  tls          ${median(tls).toFixed(1)} µs`);
    console.log(`  tls / tcp    ${median(ratios).toFixed(2)}x (target <= 1.5x)`);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
}
