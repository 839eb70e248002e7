import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { encodeBase64 } from "@std/encoding/base64";
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import { attrs } from "../config/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import {
  type Bootstrap,
  BOOTSTRAP_MODE_ENV,
  BootstrapModeError,
  defaultBootstrap,
  fromEnvSafeString,
  readBootstrapMode,
  toEnvSafeString,
} from "./mode.ts";

const procId = ProcId.parse("tcp:localhost:26600,foo_0");
const unixAddr = ChannelAddr.parse("unix:@any_abc");

function procMode(config?: ConfigSnapshot): Bootstrap {
  const mode: Bootstrap = {
    kind: "Proc",
    procId,
    backendAddr: ChannelAddr.parse("tcp:localhost:0"),
    callbackAddr: unixAddr,
    socketDirPath: "notexist",
  };
  if (config) mode.config = config;
  return mode;
}

function hostMode(config?: ConfigSnapshot): Bootstrap {
  const mode: Bootstrap = { kind: "Host", addr: unixAddr, exitOnShutdown: false };
  if (config) mode.config = config;
  return mode;
}

function b64(json: string): string {
  return encodeBase64(new TextEncoder().encode(json));
}

function roundTrip(value: Bootstrap): Bootstrap {
  const safe = toEnvSafeString(value);
  const round = fromEnvSafeString(safe);
  // BS-2: re-encoding the decoded value is stable.
  assertEquals(toEnvSafeString(round), safe, "BS-2: env-safe round-trip should be stable");
  return round;
}

const snapshot: ConfigSnapshot = {
  [attrs.MESH_TAIL_LOG_LINES.key]: 123,
  [attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG.key]: false,
};

Deno.test("BS-2: toEnvSafeString() round trips Proc and default modes without config", () => {
  for (const value of [defaultBootstrap(), procMode()]) {
    const round = roundTrip(value);
    assertEquals(round.kind, value.kind);
    assertEquals(round.config, undefined);
    if (round.kind === "Proc" && value.kind === "Proc") {
      assert(round.procId.equals(value.procId));
      assert(round.backendAddr.equals(value.backendAddr));
      assert(round.callbackAddr.equals(value.callbackAddr));
      assertEquals(round.socketDirPath, "notexist");
    }
  }
});

Deno.test("BS-2: toEnvSafeString() round trips a Host mode without config", () => {
  const round = roundTrip(hostMode());
  assertEquals(round.kind, "Host");
  if (round.kind !== "Host") return;
  assertEquals(round.config, undefined);
  assertEquals(round.command, undefined);
  assertEquals(round.exitOnShutdown, false);
  assert(round.addr.equals(unixAddr));
});

Deno.test("BS-2: toEnvSafeString() round trips the config snapshot of every mode", () => {
  for (
    const value of [
      procMode(snapshot),
      hostMode(snapshot),
      { kind: "V0ProcMesh", config: snapshot } as Bootstrap,
    ]
  ) {
    const round = roundTrip(value);
    assertEquals(round.kind, value.kind);
    assertEquals(round.config?.[attrs.MESH_TAIL_LOG_LINES.key], 123);
    assertEquals(round.config?.[attrs.MESH_BOOTSTRAP_ENABLE_PDEATHSIG.key], false);
  }
});

Deno.test("BS-2: toEnvSafeString() writes serde's externally tagged snake_case JSON", () => {
  const text = atob(toEnvSafeString(procMode({ z: "1", a: 2 })));
  assertEquals(
    text,
    '{"Proc":{"proc_id":"tcp:localhost:26600,foo_0","backend_addr":"tcp:localhost:0",' +
      '"callback_addr":"unix:@any_abc","socket_dir_path":"notexist","config":{"a":2,"z":"1"}}}',
  );
  assertEquals(
    atob(toEnvSafeString(hostMode())),
    '{"Host":{"addr":"unix:@any_abc","command":null,"config":null,"exit_on_shutdown":false}}',
  );
  assertEquals(atob(toEnvSafeString(defaultBootstrap())), '{"V0ProcMesh":{"config":null}}');
});

Deno.test("BS-2: toEnvSafeString() is independent of key insertion order", () => {
  const a = toEnvSafeString(procMode({ x: 1, y: true, "10": "n" }));
  const b = toEnvSafeString(procMode({ "10": "n", y: true, x: 1 }));
  assertEquals(a, b);
  const cmd1 = { program: "/bin/deno", args: ["run"], env: { B: "2", A: "1" } };
  const cmd2 = { program: "/bin/deno", args: ["run"], env: { A: "1", B: "2" }, arg0: null };
  assertEquals(
    toEnvSafeString({ kind: "Host", addr: unixAddr, command: cmd1, exitOnShutdown: true }),
    toEnvSafeString({ kind: "Host", addr: unixAddr, command: cmd2, exitOnShutdown: true }),
  );
});

Deno.test("BS-2: toEnvSafeString() round trips a Host command", () => {
  const command = { program: "/bin/deno", arg0: "x", args: ["run", "-A", "m.ts"], env: { K: "v" } };
  const round = roundTrip({ kind: "Host", addr: unixAddr, command, exitOnShutdown: true });
  if (round.kind !== "Host") throw new Error("expected Host");
  assertEquals(round.command, command);
  assertEquals(round.exitOnShutdown, true);
});

Deno.test("toEnvSafeString() rejects non-finite config values", () => {
  assertThrows(
    () => toEnvSafeString({ kind: "V0ProcMesh", config: { n: NaN } }),
    TypeError,
    '"n"',
  );
});

Deno.test("BS-5: fromEnvSafeString() rejects invalid base64", () => {
  for (const text of ["!!!", "abc", "YQ", "YQ=", "Y Q==", "YQ==\n"]) {
    const err = assertThrows(() => fromEnvSafeString(text), BootstrapModeError);
    assertEquals(err.variant, "Base64", `BS-5: ${JSON.stringify(text)}`);
    assertStringIncludes(err.message, BOOTSTRAP_MODE_ENV);
  }
});

Deno.test("BS-5: fromEnvSafeString() rejects invalid UTF-8 and names the variable", () => {
  const text = encodeBase64(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
  const err = assertThrows(() => fromEnvSafeString(text, "MY_VAR"), BootstrapModeError);
  assertEquals(err.variant, "Utf8");
  assertEquals(err.variable, "MY_VAR");
  assertStringIncludes(err.message, "MY_VAR");
});

Deno.test("BS-5: fromEnvSafeString() rejects invalid JSON", () => {
  for (const json of ["", "{", "nope", '{"Proc":}']) {
    const err = assertThrows(() => fromEnvSafeString(b64(json)), BootstrapModeError);
    assertEquals(err.variant, "Json", `BS-5: ${JSON.stringify(json)}`);
  }
});

Deno.test("BS-5: fromEnvSafeString() rejects bad fields and names them", () => {
  const cases: [string, string][] = [
    ["[]", "(variant)"],
    ['{"Nope":{}}', "(variant)"],
    ['{"Proc":{},"Host":{}}', "(variant)"],
    ['{"Proc":1}', "Proc"],
    ['{"Proc":{"proc_id":"bad"}}', "Proc.proc_id"],
    [
      '{"Proc":{"proc_id":"unix:@a,p","backend_addr":"tcp:nope","callback_addr":"unix:@c",' +
      '"socket_dir_path":"/x"}}',
      "Proc.backend_addr",
    ],
    [
      '{"Proc":{"proc_id":"unix:@a,p","backend_addr":"unix:@b","callback_addr":"unix:@c",' +
      '"socket_dir_path":7}}',
      "Proc.socket_dir_path",
    ],
    ['{"Host":{"addr":"unix:@a"}}', "Host.exit_on_shutdown"],
    [
      '{"Host":{"addr":"unix:@a","exit_on_shutdown":true,"command":{"args":[]}}}',
      "Host.command.program",
    ],
    ['{"V0ProcMesh":{"config":[1]}}', "V0ProcMesh.config"],
    ['{"V0ProcMesh":{"config":{"k":{"x":1}}}}', "V0ProcMesh.config.k"],
  ];
  for (const [json, field] of cases) {
    const err = assertThrows(() => fromEnvSafeString(b64(json)), BootstrapModeError);
    assertEquals(err.variant, "Field", `BS-5: ${json}`);
    assertEquals(err.field, field, `BS-5: ${json}`);
    assertStringIncludes(err.message, `"${field}"`);
    assertStringIncludes(err.message, BOOTSTRAP_MODE_ENV);
  }
});

Deno.test("fromEnvSafeString() treats missing optional fields as absent", () => {
  const mode = fromEnvSafeString(b64('{"Host":{"addr":"unix:@a","exit_on_shutdown":false}}'));
  assertEquals(mode.kind, "Host");
  assertEquals(mode.config, undefined);
  assertEquals(fromEnvSafeString(b64('{"V0ProcMesh":{}}')), { kind: "V0ProcMesh" });
});

Deno.test("readBootstrapMode() reads the mode variable", () => {
  const vars = new Map<string, string>();
  const env = { get: (key: string) => vars.get(key) };
  assertEquals(readBootstrapMode(env), undefined);
  vars.set(BOOTSTRAP_MODE_ENV, toEnvSafeString(procMode(snapshot)));
  assertEquals(readBootstrapMode(env)?.kind, "Proc");
  vars.set(BOOTSTRAP_MODE_ENV, "!!!");
  const err = assertThrows(() => readBootstrapMode(env), BootstrapModeError);
  assertStringIncludes(err.message, "HYPERACTOR_MESH_BOOTSTRAP_MODE");
});
