/**
 * The layer picture of `ARCHITECTURE.md`, checked over the import graph.
 *
 * Every `.ts` module of the library (test files and test utilities of a
 * layer included; `tests/`, `bench/` and `examples/` excluded) belongs to
 * the layer of its folder, per {@linkcode LAYERS} (lowest first). Every
 * static, type-only, side-effect and dynamic import with a relative
 * specifier is an edge; comments are ignored.
 *
 * - **LY-1 (imports point down).** A module imports only modules of its own
 *   layer group or of a lower layer: never a higher layer, never a sibling
 *   group of the same rank (`host/` and `launcher/` know nothing of each
 *   other), and never a module outside the library (`tests/`, `bench/`):
 *   test helpers never run in a user's process.
 * - **LY-2 (the picture is complete).** Every library folder belongs to a
 *   layer, so a new folder is placed in the picture before it is used.
 *
 * Run `deno run --allow-read tests/layering_test.ts` to print the
 * folder-level edges (what `ARCHITECTURE.md` draws).
 * @module
 */

import { assertEquals } from "@std/assert";

/** One layer group: a name and the folders (or root files) it owns. */
interface Layer {
  /** Rank: a module may import ranks strictly lower, and its own group. */
  rank: number;
  /** Group name. */
  name: string;
  /** Repository-relative folders (`x/`) or files it owns; the longest match wins. */
  paths: string[];
}

/** The layers, lowest first (siblings share a rank). */
export const LAYERS: readonly Layer[] = [
  { rank: 0, name: "internal", paths: ["internal/"] },
  { rank: 1, name: "config", paths: ["config/"] },
  { rank: 2, name: "channel", paths: ["channel/"] },
  { rank: 3, name: "actor", paths: ["actor/"] }, // actor/transport/ included
  { rank: 4, name: "host", paths: ["host/"] },
  { rank: 4, name: "launcher", paths: ["launcher/"] },
  { rank: 5, name: "bootstrap", paths: ["bootstrap/"] },
  { rank: 6, name: "ndslice", paths: ["ndslice/"] },
  { rank: 7, name: "mesh/resource", paths: ["mesh/resource/"] },
  // proc_agent, host_agent, host_mesh, supervision and the mesh files refer to each other.
  { rank: 8, name: "mesh", paths: ["mesh/"] },
  { rank: 9, name: "cli", paths: ["cli/"] },
  { rank: 10, name: "entry", paths: ["mod.ts", "bootstrap.ts", "v0.ts"] },
  // Test helpers (the timer warm-up, rigs): nothing a user process loads imports them.
  { rank: 11, name: "testing", paths: ["testing/", "testing.ts"] },
];

const ROOT = new URL("../", import.meta.url);
const EXCLUDED = ["tests/", "bench/", "examples/", ".ci/", ".git/", "node_modules/"];

/**
 * The layer owning `path`, by longest matching folder or file.
 * @param path A repository-relative path.
 * @returns The layer, or `undefined` for a path outside the picture.
 */
export function layerOf(path: string): Layer | undefined {
  let best: Layer | undefined;
  let bestLength = -1;
  for (const layer of LAYERS) {
    for (const p of layer.paths) {
      const hit = p.endsWith("/") ? path.startsWith(p) : path === p;
      if (hit && p.length > bestLength) [best, bestLength] = [layer, p.length];
    }
  }
  return best;
}

async function* modules(dir = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir || ".", ROOT))) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) {
      if (!EXCLUDED.includes(`${path}/`)) yield* modules(`${path}/`);
    } else if (entry.isFile && path.endsWith(".ts")) {
      yield path;
    }
  }
}

/** Removes comments (block and line), keeping strings intact enough for specifiers. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const SPECIFIERS = [
  /\bfrom\s*["']([^"']+)["']/g, // import … from, export … from
  /^\s*import\s*["']([^"']+)["']/gm, // side-effect import
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, // dynamic import
];

/** One import edge. */
export interface Edge {
  /** Importing module (repository-relative). */
  from: string;
  /** Imported module (repository-relative). */
  to: string;
}

/**
 * Every relative import edge of the library's modules.
 * @returns The edges.
 */
export async function importEdges(): Promise<Edge[]> {
  const edges: Edge[] = [];
  for await (const from of modules()) {
    const source = stripComments(await Deno.readTextFile(new URL(from, ROOT)));
    for (const pattern of SPECIFIERS) {
      for (const match of source.matchAll(pattern)) {
        const specifier = match[1];
        if (!specifier.startsWith(".")) continue;
        const target = new URL(specifier, new URL(from, ROOT));
        edges.push({ from, to: target.pathname.slice(ROOT.pathname.length) });
      }
    }
  }
  return edges;
}

/**
 * The edges that break LY-1.
 * @param edges Import edges.
 * @returns One line per upward or sibling edge.
 */
export function violations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === undefined || a === b) continue; // not a library module, or its own layer
    if (b === undefined) out.push(`${from} (${a.name}) -> ${to} (outside the library)`);
    else if (b.rank >= a.rank) out.push(`${from} (${a.name}) -> ${to} (${b.name})`);
  }
  return out;
}

Deno.test("LY-1: every import points down the layer picture (or stays in its own layer)", async () => {
  const edges = await importEdges();
  assertEquals(edges.length > 500, true, `too few edges found: ${edges.length}`);
  assertEquals(violations(edges), [], "LY-1: upward or sibling imports");
});

Deno.test("LY-2: every library module belongs to a layer", async () => {
  const outside: string[] = [];
  for await (const path of modules()) if (layerOf(path) === undefined) outside.push(path);
  assertEquals(outside, [], "LY-2: place these folders in LAYERS and ARCHITECTURE.md");
});

Deno.test("LY-1 (control): upward and sibling edges are reported, downward ones are not", () => {
  const edges: Edge[] = [
    { from: "launcher/native.ts", to: "host/host.ts" }, // sibling
    { from: "channel/local.ts", to: "actor/proc.ts" }, // upward
    { from: "mesh/resource/status.ts", to: "mesh/proc_agent/proc_agent.ts" }, // upward
    { from: "mesh/host_mesh/host_mesh.ts", to: "launcher/native.ts" }, // down
    { from: "mesh/host_agent/host_agent.ts", to: "mesh/host_mesh/_serve.ts" }, // same layer
    { from: "cli/demo.ts", to: "tests/_support.ts" }, // a test helper in a user process
    { from: "tests/_support.ts", to: "mesh/host_mesh/host_mesh.ts" }, // tests may import anything
    { from: "mod.ts", to: "testing/timer_warmup.ts" }, // the warm-up in a user process
    { from: "testing/mod.ts", to: "mod.ts" }, // test helpers may use the root API
  ];
  assertEquals(violations(edges).length, 5);
});

if (import.meta.main) {
  const counts = new Map<string, number>();
  const folder = (p: string) => p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ".";
  for (const { from, to } of await importEdges()) {
    if (folder(from) === folder(to)) continue;
    const key = `${folder(from)} -> ${folder(to)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of [...counts].sort()) console.log(`${String(n).padStart(4)} ${key}`);
}
