import { assertEquals, assertThrows } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { attrs, config } from "../config/mod.ts";
import { BootstrapModeError, toEnvSafeString } from "./mode.ts";
import { applyWarmStart, parseWarmStart, WARM_START_LABEL } from "./_warm_start.ts";

Deno.test("parseWarmStart() reads {mode, env}", () => {
  assertEquals(parseWarmStart('{"mode":"e30=","env":{"A":"1","B":""}}'), {
    mode: "e30=",
    env: { A: "1", B: "" },
  });
});

Deno.test("parseWarmStart() names the bad part of a malformed line", () => {
  const cases: [string, string, string | undefined][] = [
    ["not json", "Json", undefined],
    ['{"env":{}}', "Field", "mode"],
    ['{"mode":"x","env":[]}', "Field", "env"],
    ['{"mode":"x","env":{"A":1}}', "Field", "env.A"],
    ['{"mode":"x","env":{"A=B":"1"}}', "Field", "env.A=B"],
    ["null", "Field", "mode"],
  ];
  for (const [line, variant, field] of cases) {
    const error = assertThrows(() => parseWarmStart(line), BootstrapModeError);
    assertEquals([error.variant, error.field, error.variable], [variant, field, WARM_START_LABEL]);
  }
});

Deno.test("BS-30: applyWarmStart() sets the cold launch's env, drops the warm marker, reloads config", () => {
  const keys = [
    "HYPERMESH_BOOTSTRAP_WARM",
    "HYPERACTOR_MESH_BOOTSTRAP_MODE",
    "HYPERACTOR_PROCESS_NAME",
    attrs.MESH_TAIL_LOG_LINES.env!,
  ];
  const saved = keys.map((k) => Deno.env.get(k));
  try {
    Deno.env.set("HYPERMESH_BOOTSTRAP_WARM", "1");
    const mode = toEnvSafeString({
      kind: "Proc",
      procId: new ProcId(ChannelAddr.parse("unix:@warm"), "p0"),
      backendAddr: ChannelAddr.parse("unix:@backend"),
      callbackAddr: ChannelAddr.parse("unix:@callback"),
      socketDirPath: "/tmp/x",
    });
    const proc = applyWarmStart({
      mode,
      env: { HYPERACTOR_PROCESS_NAME: "p0 @ h", [attrs.MESH_TAIL_LOG_LINES.env!]: "17" },
    });
    assertEquals([proc.kind, proc.procId.name, proc.socketDirPath], ["Proc", "p0", "/tmp/x"]);
    assertEquals(Deno.env.get("HYPERMESH_BOOTSTRAP_WARM"), undefined);
    assertEquals(Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_MODE"), mode);
    assertEquals(Deno.env.get("HYPERACTOR_PROCESS_NAME"), "p0 @ h");
    assertEquals(config.get(attrs.MESH_TAIL_LOG_LINES), 17, "the Env layer is re-read");
  } finally {
    keys.forEach((k, i) =>
      saved[i] === undefined ? Deno.env.delete(k) : Deno.env.set(k, saved[i]!)
    );
    config.reloadEnv();
  }
});

Deno.test("applyWarmStart() refuses a mode other than Proc, changing nothing", () => {
  const before = Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_MODE");
  const error = assertThrows(
    () => applyWarmStart({ mode: toEnvSafeString({ kind: "V0ProcMesh" }), env: { Z_WARM: "1" } }),
    BootstrapModeError,
  );
  assertEquals(error.field, "mode");
  assertEquals(Deno.env.get("Z_WARM"), undefined);
  assertEquals(Deno.env.get("HYPERACTOR_MESH_BOOTSTRAP_MODE"), before);
});

Deno.test("LN-23: applyWarmStart() unsets what the warm child's command set and the launch's did not", () => {
  const keys = [
    "HYPERMESH_BOOTSTRAP_WARM",
    "HYPERACTOR_MESH_BOOTSTRAP_MODE",
    "Z_WARM_ONLY",
    "Z_PER_PROC",
  ];
  const saved = keys.map((k) => Deno.env.get(k));
  try {
    Deno.env.set("Z_WARM_ONLY", "pool");
    const mode = toEnvSafeString({
      kind: "Proc",
      procId: new ProcId(ChannelAddr.parse("unix:@warm"), "p1"),
      backendAddr: ChannelAddr.parse("unix:@backend"),
      callbackAddr: ChannelAddr.parse("unix:@callback"),
      socketDirPath: "/tmp/x",
    });
    const start = parseWarmStart(
      JSON.stringify({ mode, env: { Z_PER_PROC: "yes" }, unset: ["Z_WARM_ONLY"] }),
    );
    assertEquals(start.unset, ["Z_WARM_ONLY"]);
    applyWarmStart(start);
    assertEquals(Deno.env.get("Z_WARM_ONLY"), undefined, "LN-23: unset");
    assertEquals(Deno.env.get("Z_PER_PROC"), "yes");
  } finally {
    keys.forEach((k, i) =>
      saved[i] === undefined ? Deno.env.delete(k) : Deno.env.set(k, saved[i]!)
    );
    config.reloadEnv();
  }
});

Deno.test("LN-23: parseWarmStart() rejects a malformed unset list", () => {
  for (const unset of ['"A"', "[1]", '["A=B"]', '[""]']) {
    const error = assertThrows(
      () => parseWarmStart(`{"mode":"e30=","env":{},"unset":${unset}}`),
      BootstrapModeError,
    );
    assertEquals(error.field, "unset");
  }
});

Deno.test("BS-49: warmUpChannels() leaves no directory and no unload listener behind", async () => {
  // In a fresh process: this test process may have its runtime directory already.
  const script = `
    import { warmUpChannels } from ${
    JSON.stringify(new URL("./_warm_start.ts", import.meta.url).href)
  };
    let unloads = 0;
    const add = globalThis.addEventListener.bind(globalThis);
    globalThis.addEventListener = (type, ...rest) => { if (type === "unload") unloads++; return add(type, ...rest); };
    await warmUpChannels();
    const base = Deno.env.get("XDG_RUNTIME_DIR") ?? Deno.env.get("TMPDIR") ?? "/tmp";
    const left = [...Deno.readDirSync(base)].filter((e) => e.name.startsWith("hypermesh-" + Deno.pid + "-"));
    console.log(JSON.stringify({ unloads, left: left.length }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-config",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      script,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.code, 0);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), { unloads: 0, left: 0 });
});
