/**
 * Import cycles: scans every `.ts` file of the package (tests included, doc
 * examples not) for relative `import` / `export … from` edges, `import type`
 * and `import("…")` types included, and reports each strongly connected
 * component of more than one file. `actor/` must have none; the other layers
 * may only keep the cycles listed in {@linkcode KNOWN_CYCLES} (debt to pay
 * off: delete an entry when its cycle is gone, never add one).
 * @module
 */

import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const SKIP_DIRS = new Set([".git", ".ci", "node_modules", "coverage"]);

/**
 * Cycles that predate the cycle test, by the files they span (a cycle found
 * later must lie within one entry). `actor/` is never listed.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [
  [
    "bootstrap/_exit_monitor.ts",
    "bootstrap/_launch_proc.ts",
    "bootstrap/_proc_stdio.ts",
    "bootstrap/manager.ts",
  ],
  ["bootstrap/_v0_rank.ts", "bootstrap/v0_allocator.ts"],
  [
    "mesh/host_agent/_keepalive.ts",
    "mesh/host_agent/_teardown.ts",
    "mesh/host_agent/host_agent.ts",
  ],
  [
    "mesh/_mesh_fence.ts",
    "mesh/actor_mesh.ts",
    "mesh/call.ts",
    "mesh/host_mesh/_query.ts",
    "mesh/host_mesh/_spawn.ts",
    "mesh/host_mesh/host_mesh_ref.ts",
    "mesh/proc_mesh.ts",
    "mesh/supervision/host_lost.ts",
    "mesh/supervision/host_watch.ts",
    "mesh/supervision/keepalive.ts",
    "mesh/supervision/registry.ts",
  ],
];

/** Every `.ts` file under the package root, as root-relative paths. */
function listSources(dir: URL = ROOT, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) {
      if (SKIP_DIRS.has(entry.name)) continue;
      out.push(...listSources(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push(`${prefix}${entry.name}`);
    }
  }
  return out.sort();
}

/** The source without comments (so doc examples' imports are not edges). */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const IMPORT =
  /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)?\s*from\s*["']([^"']+)["']|(?:^|[;\n}])\s*import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** Resolves `spec` relative to `from` (both root-relative); null when not relative. */
function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return null;
  const parts = from.split("/").slice(0, -1);
  for (const part of spec.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/** The import graph: file → the files it imports (relative edges only). */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const src = stripComments(Deno.readTextFileSync(new URL(file, ROOT)));
    const deps = new Set<string>();
    for (const m of src.matchAll(IMPORT)) {
      const target = resolve(file, m[1] ?? m[2] ?? m[3]);
      if (target !== null && target !== file && known.has(target)) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

function describe(component: string[], graph: Map<string, string[]>): string {
  const inside = new Set(component);
  return component.map((f) => `  ${f} -> ${graph.get(f)!.filter((d) => inside.has(d)).join(", ")}`)
    .join("\n");
}

const graph = importGraph(listSources());
const found = cycles(graph);

Deno.test("import cycles: the scanner finds a cycle, type-only edges included", () => {
  const g = new Map([["a.ts", ["b.ts"]], ["b.ts", ["a.ts"]], ["c.ts", ["a.ts"]]]);
  assertEquals(cycles(g), [["a.ts", "b.ts"]]);
  const src = stripComments(
    '// import { x } from "./no.ts";\nimport type { A } from "./a.ts";\n' +
      'export * from "../b.ts";\ntype T = import("./c.ts").C;\n/* import "./no2.ts"; */',
  );
  const specs = [...src.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
  assertEquals(specs, ["./a.ts", "../b.ts", "./c.ts"]);
});

Deno.test("import cycles: actor/ has none (type-only edges included)", () => {
  const inActor = found.filter((c) => c.some((f) => f.startsWith("actor/")));
  assertEquals(
    inActor.map((c) => describe(c, graph)),
    [],
    "actor/ must have no import cycle",
  );
});

Deno.test("import cycles: no layer has a cycle beyond the known ones", () => {
  const fresh = found.filter((c) => !KNOWN_CYCLES.some((k) => c.every((f) => k.includes(f))));
  assertEquals(
    fresh.map((c) => describe(c, graph)),
    [],
    "a new import cycle: cut it (shared types in a file both sides import)",
  );
});
