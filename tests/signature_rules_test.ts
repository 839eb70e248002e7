/**
 * The public signature rules of the house style (`STYLE.md`, "Naming"),
 * checked on what `deno doc --json` reports for every public entry point
 * (`mod.ts`, each layer's `*\/mod.ts`, and every path of `deno.json`
 * `exports`):
 *
 * - **SIG-1 (two positionals).** An exported function, a public method or
 *   constructor of an exported class, or a method of an exported interface
 *   takes at most two positional parameters, optionally followed by one
 *   options object. The last parameter is an options object when it is
 *   named `options` or `opts`, when its type's name ends in `Options`, or
 *   when its type is an object literal. A first parameter named `cx` (the
 *   calling actor's context, Monarch's implicit `&Instance`) is not counted:
 *   `send(cx, type, body, options)` has two positionals.
 * - **SIG-2 (no bare numbers in a row).** No such signature has two
 *   parameters of type `number` next to each other (`(timeoutMs,
 *   maxInFlight)` reads the same both ways round).
 *
 * A signature that breaks a rule must be in {@linkcode ALLOWED} with the
 * reason it is kept; the test fails on anything else. (An entry that no
 * longer matches anything — the symbol left the public API — is harmless;
 * drop it when you notice.)
 * @module
 */

import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url);

/**
 * Kept on purpose, by signature key (`Class.method`, `Class::staticMethod`,
 * `new Class`, `Interface#method`, `function`) → why.
 */
const ALLOWED: Record<string, string> = {
  // Typed errors: the constructor takes the data the error carries, in the
  // order its message reads; the library constructs them, callers catch them.
  "new BootstrapModeError": "typed error fields",
  "new CallError": "typed error fields",
  "new ChannelError": "typed error fields",
  "new ExtentError": "typed error fields",
  "new HostLostError": "typed error fields",
  "new HostMeshRefParseError": "typed error fields",
  "new NdsliceParseError": "typed error fields",
  "new ProcCreationError": "typed error fields",
  "new RankStatusWaitError": "typed error fields",
  "new ReadyError": "typed error fields",
  "new RequestError": "typed error fields",
  "new SystemdUnavailableError": "typed error fields",
  "new V0AllocatorError": "typed error fields",
  // Value ids: the constructor takes the id's parts in the order of its
  // canonical text (`ADDR,PROC,NAME[PID]`, `ACTOR[INDEX]`); built everywhere
  // inside the runtime, parsed (`ActorId.parse`) by users.
  "new ActorId": "id parts in canonical-text order",
  "new PortId": "id parts in canonical-text order",
  // ndslice's affine map (offset, sizes, strides), Monarch's `Slice::new`.
  "new Slice": "the slice's three defining arrays",
  // The ProcManager contract: the third argument is the manager's per-proc
  // configuration object (type parameter `C`), an options object by role.
  "ProcManager#spawn": "per-proc config object of the manager contract",
  "BootstrapProcManager.spawn": "per-proc config object of the manager contract",
  // The per-message path: an options object here would cost one allocation
  // per message (per hop, per frame) on the paths `bench/channel_bench.ts`
  // and `bench/mesh_bench.ts` measure; these are the runtime's plumbing, not
  // calls a user writes (`ActorRef.send` / `ActorMesh.cast` wrap them).
  "MessageSender#postMessage": "per-message hot path",
  "Requester#postMessage": "per-message hot path (the MessageSender method a request posts with)",
  "Mailbox.deliver": "per-message hot path",
  "postEnvelope": "per-message hot path",
  "bounce": "per-message hot path",
  "writeVarint": "per-frame hot path (encodes every frame header)",
};

/** Public entry points: the root, each layer's mod.ts, and deno.json's exports. */
async function entryPoints(): Promise<string[]> {
  const paths = new Set<string>(["mod.ts"]);
  for await (const entry of Deno.readDir(ROOT)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    try {
      await Deno.stat(new URL(`${entry.name}/mod.ts`, ROOT));
      paths.add(`${entry.name}/mod.ts`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const exports = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
  for (const path of Object.values(exports ?? {}) as string[]) paths.add(path.replace(/^\.\//, ""));
  return [...paths].sort();
}

// deno-lint-ignore no-explicit-any
type Json = any;

interface Param {
  name: string;
  type: Json;
}

function paramOf(p: Json): Param {
  const inner = p.kind === "assign" ? p.left : p;
  return {
    name: inner?.name ?? (p.kind === "rest" ? "...rest" : p.kind),
    type: inner?.tsType ?? p.tsType,
  };
}

function isNumber(type: Json): boolean {
  return type?.kind === "keyword" && type.value === "number";
}

function isOptions(p: Param): boolean {
  return p.name === "options" || p.name === "opts" ||
    /Options$/.test(p.type?.repr ?? "") || p.type?.kind === "typeLiteral";
}

/** The rules a parameter list breaks (empty when none). */
function violations(raw: Json[]): string[] {
  const params = raw.map(paramOf);
  const out: string[] = [];
  let positional = params;
  if (positional.length > 0 && isOptions(positional[positional.length - 1])) {
    positional = positional.slice(0, -1);
  }
  if (positional[0]?.name === "cx") positional = positional.slice(1);
  if (positional.length > 2) out.push("SIG-1");
  if (params.some((p, i) => i > 0 && isNumber(p.type) && isNumber(params[i - 1].type))) {
    out.push("SIG-2");
  }
  return out;
}

/** Every public signature of `entry`, keyed as in {@linkcode ALLOWED}, with its breaks. */
async function scan(entry: string, found: Map<string, string>): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno doc ${entry}: ${new TextDecoder().decode(out.stderr)}`);
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const check = (key: string, params: Json[], loc: Json) => {
    const broken = violations(params);
    if (broken.length === 0) return;
    const names = params.map((p) => paramOf(p).name).join(", ");
    const where = String(loc?.filename ?? "").replace(ROOT.href, "") + `:${loc?.line}`;
    found.set(key, `${key}(${names}) breaks ${broken.join(", ")} at ${where}`);
  };
  for (const node of Object.values(doc.nodes) as Json[]) {
    for (const symbol of node.symbols ?? []) {
      for (const decl of symbol.declarations ?? []) {
        const def = decl.def ?? {};
        if (decl.kind === "function") check(symbol.name, def.params ?? [], decl.location);
        if (decl.kind === "class") {
          for (const c of def.constructors ?? []) {
            if (c.accessibility === "private" || c.accessibility === "protected") continue;
            check(`new ${symbol.name}`, c.params ?? [], c.location);
          }
          for (const m of def.methods ?? []) {
            if (m.accessibility === "private" || m.accessibility === "protected") continue;
            const sep = m.isStatic ? "::" : ".";
            check(`${symbol.name}${sep}${m.name}`, m.functionDef?.params ?? [], m.location);
          }
        }
        if (decl.kind === "interface") {
          for (const m of def.methods ?? []) {
            check(`${symbol.name}#${m.name}`, m.params ?? [], m.location);
          }
        }
      }
    }
  }
}

Deno.test("SIG-1 / SIG-2: public signatures take at most two positionals plus options, never two numbers in a row", async () => {
  const found = new Map<string, string>();
  for (const entry of await entryPoints()) await scan(entry, found);
  const unexpected = [...found].filter(([key]) => !(key in ALLOWED)).map(([, text]) => text);
  assertEquals(unexpected.sort(), [], "SIG-1 / SIG-2: fold the extra positionals into options");
});

Deno.test("SIG-1: the rule counts positionals before an options object, not cx", () => {
  const p = (name: string, repr: string, kind = "typeRef") => ({
    kind: "identifier",
    name,
    tsType: kind === "keyword" ? { kind, value: repr, repr } : { kind, repr },
  });
  const num = (name: string) => p(name, "number", "keyword");
  assertEquals(
    violations([p("cx", "Context"), p("type", "string", "keyword"), p("body", "M")]),
    [],
  );
  assertEquals(violations([p("a", "A"), p("b", "B"), p("options", "X")]), []);
  assertEquals(violations([p("a", "A"), p("b", "B"), p("c", "C")]), ["SIG-1"]);
  assertEquals(violations([p("cx", "Context"), num("timeoutMs"), num("maxInFlight")]), ["SIG-2"]);
  assertEquals(violations([p("a", "A"), p("b", "B"), p("c", "C"), p("o", "StopOptions")]), [
    "SIG-1",
  ]);
});
