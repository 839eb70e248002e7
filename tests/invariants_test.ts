/**
 * The invariant registry, checked by scanning the tree (see `STYLE.md`,
 * "Invariants get IDs"):
 *
 * - an invariant is DEFINED by a bullet `- **ID (name).**` in the
 *   `## Invariants (PREFIX-*)` section of the module doc of exactly one
 *   non-test `.ts` module, the one that enforces it; every other mention is
 *   by plain ID (a bold `**ID` anywhere else restates it);
 * - a prefix (`CH`, `MB`, …) belongs to one layer (top-level folder);
 * - every defined ID is named by a test (a string in a `*_test.ts` file:
 *   the test's name or an assertion message; `X-1..X-4` names each), and
 *   every ID a test names is defined;
 * - an ID given up is listed on a `Retired: ID, ID..ID` line of a module doc
 *   (with the reason) and is never defined or named by a test again.
 *
 * Pure file reads, no processes: well under a second.
 * @module
 */

import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const SKIP_DIRS = new Set([".git", ".ci", "node_modules", "coverage"]);

/** The shape of an ID: `CH-5`, `LN-S3`, `MA-R1`. */
const ID_SHAPE = "[A-Z]{2,3}-[A-Z]?\\d+";
/** A definition bullet: `- **ID (name).**` at the start of a doc line. */
const DEFINITION = new RegExp(`^\\s*\\*\\s+-\\s+\\*\\*(${ID_SHAPE}) \\([^)]+\\)\\.\\*\\*`, "gm");
/** Any bold ID (`**ID …`), definition or restatement. */
const BOLD = new RegExp(`\\*\\*(${ID_SHAPE})\\b`, "g");
/** A retirement line: `Retired: SV-30..SV-37, HO-14 (why).` */
const RETIRED = /^\s*\*?\s*-?\s*Retired:\s*([^\n(]*)/gm;

interface Source {
  path: string;
  text: string;
}

function listSources(dir: URL = ROOT, prefix = ""): Source[] {
  const out: Source[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) {
      if (SKIP_DIRS.has(entry.name)) continue;
      out.push(...listSources(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.isFile && /\.(ts|md)$/.test(entry.name)) {
      const path = `${prefix}${entry.name}`;
      out.push({ path, text: Deno.readTextFileSync(new URL(entry.name, dir)) });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The string literals of a source (comments dropped, code outside strings dropped). */
function strings(src: string): string {
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
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1) + "\n";
      i = j + 1;
    } else {
      i++;
    }
  }
  return out;
}

/** Every ID `text` names, ranges (`SV-4..SV-6`, `SV-4..6`) expanded. */
function namedIds(text: string): string[] {
  const re = new RegExp(
    `\\b([A-Z]{2,3})-([A-Z]?)(\\d+)(?:\\s*\\.\\.\\s*(?:\\1-)?\\2?(\\d+))?\\b`,
    "g",
  );
  const ids: string[] = [];
  for (const m of text.matchAll(re)) {
    const from = Number(m[3]);
    const to = m[4] === undefined ? from : Number(m[4]);
    for (let n = from; n <= to && n - from < 100; n++) ids.push(`${m[1]}-${m[2]}${n}`);
  }
  return ids;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "(root)" : path.slice(0, slash);
}

const sources = listSources();
const isTest = (s: Source) => s.path.endsWith("_test.ts");
const modules = sources.filter((s) => s.path.endsWith(".ts") && !isTest(s));

/** ID → the modules defining it. */
const definitions = new Map<string, string[]>();
/** Definitions outside an `## Invariants (PREFIX-*)` section of their doc comment. */
const unsectioned: string[] = [];
/** ID → every file with a bold mention of it. */
const bolds = new Map<string, string[]>();
const retired = new Set<string>();
for (const s of modules) {
  for (const m of s.text.matchAll(DEFINITION)) {
    push(definitions, m[1], s.path);
    const before = s.text.slice(0, m.index);
    const doc = before.slice(before.lastIndexOf("/**"));
    const section = [...doc.matchAll(/## Invariants \(([^)]*)\)/g)].at(-1)?.[1] ?? "";
    if (!new RegExp(`\\b${m[1].split("-")[0]}-\\*`).test(section)) {
      unsectioned.push(`${m[1]}: ${s.path}`);
    }
  }
  for (const m of s.text.matchAll(RETIRED)) for (const id of namedIds(m[1])) retired.add(id);
}
for (const s of sources.filter((s) => !isTest(s))) {
  for (const m of s.text.matchAll(BOLD)) push(bolds, m[1], s.path);
}
const prefixes = new Set([...definitions.keys(), ...retired].map((id) => id.split("-")[0]));

/** ID → the test files naming it (in strings), for prefixes in use. */
const tested = new Map<string, string[]>();
for (const s of sources.filter(isTest)) {
  for (const id of new Set(namedIds(strings(s.text)))) {
    if (prefixes.has(id.split("-")[0])) push(tested, id, s.path);
  }
}

Deno.test("invariants: the scanner reads definitions, ranges and test strings", () => {
  const doc = "/**\n * ## Invariants (XX-*)\n * - **XX-1 (one).** A.\n * - **XX-2.** bad\n */";
  assertEquals([...doc.matchAll(DEFINITION)].map((m) => m[1]), ["XX-1"]);
  const retiredLine = " * Retired: XX-3, XX-5..XX-6 (why, XX-9).";
  assertEquals(namedIds([...retiredLine.matchAll(RETIRED)][0][1]), ["XX-3", "XX-5", "XX-6"]);
  assertEquals(namedIds("SV-4..SV-6, LN-S1..3 and MA-R1"), [
    "SV-4",
    "SV-5",
    "SV-6",
    "LN-S1",
    "LN-S2",
    "LN-S3",
    "MA-R1",
  ]);
  assertEquals(namedIds(strings('// XX-9\nDeno.test("XX-1: a", () => assert(x, `XX-2`));')), [
    "XX-1",
    "XX-2",
  ]);
});

Deno.test("invariants: the tree defines some", () => {
  assertEquals(definitions.size > 100, true, `only ${definitions.size} definitions found`);
});

Deno.test("invariants: each ID is defined in exactly one module", () => {
  const many = [...definitions].filter(([, files]) => files.length > 1);
  assertEquals(many.map(([id, files]) => `${id}: ${files.join(", ")}`), []);
});

Deno.test("invariants: each definition is in an `## Invariants (PREFIX-*)` section", () => {
  assertEquals(unsectioned, []);
});

Deno.test("invariants: a bold ID appears only in its definition (others reference it by ID)", () => {
  const restated = [...bolds].filter(([id, files]) => {
    const home = definitions.get(id);
    return home === undefined || files.length !== 1 || files[0] !== home[0];
  });
  assertEquals(restated.map(([id, files]) => `${id}: ${files.join(", ")}`), []);
});

Deno.test("invariants: no prefix is used by two layers", () => {
  const layers = new Map<string, Set<string>>();
  for (const [id, files] of definitions) {
    const prefix = id.split("-")[0];
    for (const f of files) layers.set(prefix, (layers.get(prefix) ?? new Set()).add(layerOf(f)));
  }
  const shared = [...layers].filter(([, set]) => set.size > 1);
  assertEquals(shared.map(([p, set]) => `${p}-: ${[...set].join(", ")}`), []);
});

Deno.test("invariants: every defined ID is named by a test", () => {
  const untested = [...definitions.keys()].filter((id) => !tested.has(id)).sort();
  assertEquals(untested.map((id) => `${id} (${definitions.get(id)!.join(", ")})`), []);
});

Deno.test("invariants: every ID a test names is defined, none is retired", () => {
  const undefinedIds = [...tested.keys()].filter((id) => !definitions.has(id)).sort();
  assertEquals(undefinedIds.map((id) => `${id} (${tested.get(id)!.join(", ")})`), []);
});

Deno.test("invariants: a retired ID is not defined again", () => {
  assertEquals([...retired].filter((id) => definitions.has(id)).sort(), []);
});
