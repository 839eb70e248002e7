/**
 * Shared by the spawn, mesh and systemd benchmarks: the raw floor (bare Deno
 * children that connect back over a unix socket, `_bare_child.ts`) and the
 * median / p10–p90 summary every report prints.
 * @module
 */

const BARE_CHILD = new URL("./_bare_child.ts", import.meta.url).pathname;
/** The permissions every bare floor child runs with (the floors' own children share them). */
export const BARE_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
];

/**
 * Spawns `n` bare Deno children at once (the cheapest way: no `detached`) and
 * resolves once each has connected back and written its byte.
 * @param n How many.
 * @returns The children, running until {@linkcode stopBareChildren}.
 */
export async function spawnBareChildren(n: number): Promise<Deno.ChildProcess[]> {
  return (await spawnBare(n, false)).children;
}

/** Bare children that keep their connection and exit when they read a byte on it. */
export interface BareMessageChildren {
  /** The processes. */
  children: Deno.ChildProcess[];
  /** One accepted connection per child (in accept order). */
  conns: Deno.Conn[];
}

/**
 * As {@linkcode spawnBareChildren}, but each child keeps its connection open
 * and calls `Deno.exit(0)` the moment it reads a byte on it: the floor of any
 * stop that is a message to a Deno process (it must wake, run JavaScript and
 * exit), where SIGTERM's default action needs no user code at all.
 * @param n How many.
 * @returns The children and their connections, running until
 * {@linkcode stopBareChildrenByMessage}.
 */
export function spawnBareMessageChildren(n: number): Promise<BareMessageChildren> {
  return spawnBare(n, true);
}

async function spawnBare(n: number, keep: boolean): Promise<BareMessageChildren> {
  const dir = Deno.makeTempDirSync({ prefix: "bare-" });
  const path = `${dir}/cb.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const conns: Deno.Conn[] = [];
  try {
    const children = Array.from({ length: n }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", ...BARE_FLAGS, BARE_CHILD],
        env: { BARE_CALLBACK: path, BARE_EXIT_ON_MESSAGE: keep ? "1" : "0" },
        stdin: "null",
      }).spawn());
    for (let i = 0; i < n; i++) {
      const conn = await listener.accept();
      await conn.read(new Uint8Array(1));
      if (keep) conns.push(conn);
      else conn.close();
    }
    return { children, conns };
  } finally {
    listener.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Writes one byte to each child of {@linkcode spawnBareMessageChildren} and
 * waits for every exit.
 * @param bare The children and their connections.
 */
export async function stopBareChildrenByMessage(bare: BareMessageChildren): Promise<void> {
  const byte = new Uint8Array([1]);
  await Promise.all(bare.conns.map((c) => c.write(byte)));
  await Promise.all(bare.children.map((child) => child.status));
  for (const c of bare.conns) c.close();
}

/**
 * SIGTERMs bare children and waits for every exit.
 * @param children From {@linkcode spawnBareChildren}.
 */
export async function stopBareChildren(children: Deno.ChildProcess[]): Promise<void> {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => child.status));
}

/**
 * Median, p10 and p90 of `xs` (nearest rank).
 * @param xs Samples.
 * @returns The three figures.
 */
export function stats(xs: number[]): { median: number; p10: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9) };
}

/**
 * `median X ms (p10 Y – p90 Z)`.
 * @param xs Samples in milliseconds.
 * @returns The line.
 */
export function fmtStats(xs: number[]): string {
  const { median, p10, p90 } = stats(xs);
  return `median ${median.toFixed(1)} ms (p10 ${p10.toFixed(1)} – p90 ${p90.toFixed(1)})`;
}
