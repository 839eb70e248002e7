/**
 * The package's public surface stays what `mod.ts` promises (API-1..API-3):
 * a root of everyday names, every `deno.json` export resolving, and nothing
 * declared in a folder-private `_` file reachable from any entry point.
 * Reads the tree and `deno doc --json`; starts no proc.
 */
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;

/** The `exports` map of `deno.json`. */
async function entryPoints(): Promise<Record<string, string>> {
  const json = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return json.exports as Record<string, string>;
}

interface DocSymbol {
  name: string;
  declarations: { location: { filename: string } }[];
}

/** `deno doc --json` of `files` (paths relative to the root), symbols per file URL. */
async function docSymbols(files: string[]): Promise<Map<string, DocSymbol[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...files],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `deno doc --json failed:\n${stderr}`);
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const nodes = json.nodes as Record<string, { symbols: DocSymbol[] }>;
  return new Map(Object.entries(nodes).map(([file, node]) => [file, node.symbols]));
}

/** Every `.ts` file of the tree (relative paths), `.git` and `node_modules` aside. */
async function sourceFiles(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      files.push(...await sourceFiles(`${path}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      files.push(path);
    }
  }
  return files.sort();
}

function isPrivateFile(path: string): boolean {
  return (path.split("/").pop() ?? "").startsWith("_");
}

Deno.test("API-1: the root module exports between 60 and 90 names", async () => {
  const symbols = await docSymbols(["mod.ts"]);
  const names = new Set([...symbols.values()].flat().map((s) => s.name));
  assert(
    names.size >= 60 && names.size <= 90,
    `API-1: mod.ts exports ${names.size} names: ${[...names].sort().join(", ")}`,
  );
  for (const name of ["HostMesh", "ProcMesh", "ActorMesh", "context", "serve", "WatchCell"]) {
    assert(names.has(name), `API-1: mod.ts must export ${name}`);
  }
  for (const name of names) {
    assert(!name.startsWith("_"), `API-1: mod.ts exports the private name ${name}`);
    assert(!/ForTesting$/.test(name), `API-1: mod.ts exports the test rig ${name}`);
    assert(!/^is[A-Z]/.test(name), `API-1: mod.ts exports the message guard ${name}`);
  }
});

Deno.test("API-2: every deno.json export resolves to a documented module", async () => {
  const exports = await entryPoints();
  for (const sub of ["./config", "./channel", "./actor", "./host", "./launcher", "./bootstrap"]) {
    assert(sub in exports, `API-2: deno.json must export ${sub}`);
  }
  for (const sub of ["./ndslice", "./mesh", "./testing", "./v0"]) {
    assert(sub in exports, `API-2: deno.json must export ${sub}`);
  }
  const files = Object.values(exports);
  for (const file of files) {
    const stat = await Deno.stat(`${ROOT}${file}`);
    assert(stat.isFile, `API-2: ${file} is not a file`);
  }
  const symbols = await docSymbols(files); // fails when a module graph does not resolve
  for (const file of files) {
    const url = new URL(file, `file://${ROOT}`).href;
    assert((symbols.get(url) ?? []).length > 0, `API-2: ${file} exports nothing`);
  }
});

Deno.test("API-3: no public file re-exports from a _ file", async () => {
  const offenders: string[] = [];
  const reExport = /^export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s+from\s+"([^"]+)"/gm;
  for (const file of await sourceFiles()) {
    if (isPrivateFile(file)) continue; // a private helper may re-export another
    const text = await Deno.readTextFile(`${ROOT}${file}`);
    for (const match of text.matchAll(reExport)) {
      if (isPrivateFile(match[1])) offenders.push(`${file}: ${match[0].split("\n")[0]}`);
    }
  }
  assertEquals(offenders, [], "API-3: public files must not re-export _ files");
});

Deno.test("API-3: nothing declared in a _ file is reachable from an entry point", async () => {
  const files = Object.values(await entryPoints());
  const symbols = await docSymbols(files);
  const leaks: string[] = [];
  for (const [entry, list] of symbols) {
    for (const symbol of list) {
      for (const { location } of symbol.declarations) {
        const declared = location.filename.slice(`file://${ROOT}`.length);
        if (isPrivateFile(declared)) {
          leaks.push(`${entry.slice(`file://${ROOT}`.length)}: ${symbol.name} (${declared})`);
        }
      }
    }
  }
  assertEquals(leaks, [], "API-3: entry points must not export symbols of _ files");
});
