import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ALL_ATTRS, Config, ConfigValueError } from "./config.ts";
import { AttrParseError, defineAttr, formatAttrValue, parseAttrText } from "./attr.ts";
import {
  HOST_SPAWN_READY_TIMEOUT,
  MESH_BOOTSTRAP_ENABLE_PDEATHSIG,
  MESH_TAIL_LOG_LINES,
  MESH_TERMINATE_TIMEOUT,
} from "./attrs.ts";

Deno.test("CF-2: layers apply in precedence TestOverride > Env > Runtime > File > ClientOverride > Default", () => {
  const cfg = new Config({ env: { HYPERACTOR_MESH_TERMINATE_TIMEOUT: "4s" } });
  const key = MESH_TERMINATE_TIMEOUT.key;
  cfg.setLayer("ClientOverride", { [key]: 1 });
  cfg.setLayer("File", { [key]: 2 });
  cfg.setLayer("Runtime", { [key]: 3 });
  assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 4_000, "CF-2: Env beats Runtime");
  using _o = cfg.override(MESH_TERMINATE_TIMEOUT, 5);
  assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 5, "CF-2: TestOverride beats Env");
});

Deno.test("CF-2: lower layers show through when higher ones are cleared", () => {
  const cfg = new Config({ env: {} });
  const key = MESH_TERMINATE_TIMEOUT.key;
  assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 10_000, "default");
  cfg.setLayer("ClientOverride", { [key]: 1 });
  cfg.setLayer("Runtime", { [key]: 3 });
  assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 3);
  cfg.clearLayer("Runtime");
  assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 1);
});

Deno.test("CF-3: nested overrides restore exactly on dispose", () => {
  const cfg = new Config({ env: {} });
  {
    using _a = cfg.override(MESH_TAIL_LOG_LINES, 1);
    {
      using _b = cfg.override(MESH_TAIL_LOG_LINES, 2);
      assertEquals(cfg.get(MESH_TAIL_LOG_LINES), 2);
    }
    assertEquals(cfg.get(MESH_TAIL_LOG_LINES), 1, "CF-3: inner restored the outer value");
  }
  assertEquals(cfg.get(MESH_TAIL_LOG_LINES), 0, "CF-3: outer restored the default");
});

Deno.test("CF-4: a malformed env value fails only that attribute, naming the variable", () => {
  const cfg = new Config({
    env: {
      HYPERACTOR_HOST_SPAWN_READY_TIMEOUT: "soon",
      HYPERACTOR_MESH_TAIL_LOG_LINES: "12",
    },
  });
  const error = assertThrows(() => cfg.get(HOST_SPAWN_READY_TIMEOUT), AttrParseError);
  assertEquals(error.variable, "HYPERACTOR_HOST_SPAWN_READY_TIMEOUT", "CF-4");
  assertEquals(error.message.includes("HYPERACTOR_HOST_SPAWN_READY_TIMEOUT"), true, "CF-4");
  assertEquals(cfg.get(MESH_TAIL_LOG_LINES), 12, "CF-4: other attributes unaffected");
  assertEquals(cfg.envErrors().length, 1);
  assertEquals(cfg.snapshot()[HOST_SPAWN_READY_TIMEOUT.key], 30_000, "snapshot falls back");
});

Deno.test("CF-5: fromSnapshot(snapshot()) rebuilds the effective values; unknown keys ignored", () => {
  const a = new Config({ env: { HYPERACTOR_MESH_BOOTSTRAP_ENABLE_PDEATHSIG: "false" } });
  a.setLayer("ClientOverride", { [MESH_TAIL_LOG_LINES.key]: 7 });
  const snapshot = JSON.parse(JSON.stringify(a.propagatableSnapshot()));
  const b = new Config({ env: {} });
  b.setLayer("ClientOverride", { ...snapshot, "no::such::key": 1 });
  for (const attr of ALL_ATTRS.values()) {
    if (attr.propagate) assertEquals(b.get(attr), a.get(attr), `CF-5: ${attr.key}`);
  }
  assertEquals(b.get(MESH_BOOTSTRAP_ENABLE_PDEATHSIG), false);
});

Deno.test("Config.setLayer() rejects a value of the wrong type", () => {
  const cfg = new Config({ env: {} });
  const error = assertThrows(
    () => cfg.setLayer("Runtime", { [MESH_TERMINATE_TIMEOUT.key]: "10s" }),
    ConfigValueError,
  );
  assertEquals(error.key, MESH_TERMINATE_TIMEOUT.key);
});

Deno.test("parseAttrText() accepts the env syntaxes and formatAttrValue() inverts it", () => {
  const b = defineAttr({ key: "t::b", kind: "bool", default: false, doc: "" });
  for (const [text, value] of [["1", true], ["TRUE", true], ["0", false], ["false", false]]) {
    assertEquals(parseAttrText(b, text as string), value);
  }
  assertInstanceOf(assertThrows(() => parseAttrText(b, "yes")), AttrParseError);
  const i = defineAttr({ key: "t::i", kind: "int", default: 0, doc: "" });
  assertEquals(parseAttrText(i, " -12 "), -12);
  assertThrows(() => parseAttrText(i, "1.5"), AttrParseError);
  assertThrows(() => parseAttrText(i, "99999999999999999999"), AttrParseError);
  const d = defineAttr({ key: "t::d", kind: "duration", default: 0, doc: "" });
  assertEquals(parseAttrText(d, formatAttrValue(d, 90_500)), 90_500);
  assertEquals(formatAttrValue(b, true), "1");
});

Deno.test("defineAttr() rejects a default of the wrong kind", () => {
  assertThrows(
    () => defineAttr({ key: "t::x", kind: "int", default: 1.5 as number, doc: "" }),
    TypeError,
  );
});

Deno.test("every declared attribute has a unique key and env var", () => {
  const envs = new Set<string>();
  for (const attr of ALL_ATTRS.values()) {
    if (attr.env) {
      assertEquals(envs.has(attr.env), false, `duplicate env ${attr.env}`);
      envs.add(attr.env);
    }
  }
  assertEquals(ALL_ATTRS.size >= 30, true);
});
