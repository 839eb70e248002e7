import { assert, assertEquals, assertThrows } from "@std/assert";
import { BootstrapCommand, BootstrapCommandParseError } from "./command.ts";

Deno.test("BootstrapCommand.equals() compares program, arg0, args in order, env in any order", () => {
  const a = new BootstrapCommand({
    program: "p",
    arg0: "x",
    args: ["1", "2"],
    env: { A: "1", B: "2" },
  });
  assert(
    a.equals(
      new BootstrapCommand({ program: "p", arg0: "x", args: ["1", "2"], env: { B: "2", A: "1" } }),
    ),
  );
  assert(
    !a.equals(new BootstrapCommand({ program: "p", arg0: "x", args: ["2", "1"], env: a.env })),
  );
  assert(!a.equals(new BootstrapCommand({ program: "p", args: a.args, env: a.env })));
  assert(!a.equals(a.withEnv({ C: "3" })));
  assert(!a.equals(a.withEnv({ A: "9" })));
  assert(!a.equals(new BootstrapCommand({ program: "q", arg0: "x", args: a.args, env: a.env })));
});

Deno.test("BootstrapCommand is immutable; withEnv()/withArgs() return copies", () => {
  const a = BootstrapCommand.fromPath("p", ["x"]);
  const b = a.withEnv({ K: "v" }).withArgs(["y"]);
  assertEquals([a.args, a.env], [["x"], {}]);
  assertEquals([b.args, b.env, b.program], [["y"], { K: "v" }, "p"]);
  assert(Object.isFrozen(a) && Object.isFrozen(a.args) && Object.isFrozen(a.env));
});

Deno.test("withV8Flags() inserts --v8-flags right after run, keeps program, arg0 and env, and leaves other commands alone", () => {
  const run = new BootstrapCommand({
    program: "/bin/deno",
    arg0: "deno",
    args: ["run", "--v8-flags=--lazy", "--allow-net", "main.ts", "run"],
    env: { A: "1" },
  });
  const eager = run.withV8Flags(["--no-lazy", "--max-lazy"]);
  assertEquals(eager.args, [
    "run",
    "--v8-flags=--no-lazy,--max-lazy",
    "--v8-flags=--lazy",
    "--allow-net",
    "main.ts",
    "run",
  ]);
  assertEquals([eager.program, eager.arg0, eager.env], ["/bin/deno", "deno", { A: "1" }]);
  assertEquals(run.args[1], "--v8-flags=--lazy", "the original is unchanged");
  assert(run.withV8Flags([]) === run, "no flags: the same command");
  const compiled = BootstrapCommand.fromPath("/srv/server", ["run"].slice(1));
  assert(compiled.withV8Flags(["--no-lazy"]) === compiled, "not a deno run command");
  const scriptNamedRun = BootstrapCommand.fromPath("/srv/server", ["serve", "run"]);
  assert(scriptNamedRun.withV8Flags(["--no-lazy"]) === scriptNamedRun);
});

Deno.test("BootstrapCommand round-trips through plain JSON data", () => {
  const a = new BootstrapCommand({
    program: "/bin/deno",
    arg0: "deno",
    args: ["run", "a b"],
    env: { Z: "1", A: "2" },
  });
  const data = a.toJSON();
  assertEquals(data, {
    program: "/bin/deno",
    arg0: "deno",
    args: ["run", "a b"],
    env: { A: "2", Z: "1" },
  });
  assert(BootstrapCommand.fromJSON(JSON.parse(JSON.stringify(a))).equals(a));
  assert(BootstrapCommand.fromJSON(JSON.stringify(a)).equals(a));
  assert(BootstrapCommand.fromJSON({ program: "p" }).equals(BootstrapCommand.fromPath("p")));
  assertEquals(BootstrapCommand.fromPath("p").toJSON().arg0, null);
});

Deno.test("BootstrapCommand.fromJSON() rejects malformed data with a typed error", () => {
  const bad: unknown[] = [
    "{not json",
    null,
    [],
    42,
    { program: "" },
    { program: 1 },
    { program: "p", args: "x" },
    { program: "p", args: [1] },
    { program: "p", env: { A: 1 } },
    { program: "p", env: { "A=B": "1" } },
    { program: "p", arg0: 5 },
  ];
  for (const data of bad) {
    const err = assertThrows(() => BootstrapCommand.fromJSON(data), BootstrapCommandParseError);
    assertEquals(err.input, data);
    assert(err.message.startsWith("Cannot parse bootstrap command"), err.message);
  }
});

Deno.test("BootstrapCommand constructor rejects bad arguments with TypeError", () => {
  assertThrows(() => BootstrapCommand.fromPath(""), TypeError, '""');
  assertThrows(() => new BootstrapCommand({ program: "p", env: { "": "x" } }), TypeError);
});

Deno.test("BootstrapCommand.toString() is a shell-like display", () => {
  const c = new BootstrapCommand({ program: "/bin/x", args: ["a", "it's"], env: { V: "1 2" } });
  assertEquals(c.toString(), `V='1 2' /bin/x a 'it'"'"'s'`);
});

const base = { execPath: "/opt/deno", mainModule: "file:///srv/app%20x/main.ts" };

Deno.test("BootstrapCommand.current() keeps run flags verbatim and the script's absolute path", () => {
  const cmd = BootstrapCommand.current({
    ...base,
    cmdline: [
      "deno",
      "run",
      "--allow-net",
      "-c",
      "deno.json",
      "--v8-flags=--x",
      "main.ts",
      "a",
      "-b",
    ],
    args: ["a", "-b"],
  });
  assertEquals(cmd.program, "/opt/deno");
  assertEquals(cmd.arg0, undefined);
  assertEquals(cmd.args, [
    "run",
    "--allow-net",
    "-c",
    "deno.json",
    "--v8-flags=--x",
    "/srv/app x/main.ts",
    "a",
    "-b",
  ]);
  assertEquals(cmd.env, {});
});

Deno.test("BootstrapCommand.current() handles `deno script.ts` without a subcommand", () => {
  const cmd = BootstrapCommand.current({ ...base, cmdline: ["deno", "-A", "main.ts"], args: [] });
  assertEquals(cmd.args, ["run", "-A", "/srv/app x/main.ts"]);
});

Deno.test("BootstrapCommand.current() keeps only permission/config flags of other subcommands", () => {
  const cmd = BootstrapCommand.current({
    ...base,
    cmdline: [
      "deno",
      "test",
      "--doc",
      "--allow-read=/tmp",
      "--config",
      "d.json",
      "--filter",
      "x",
      "-A",
      "a_test.ts",
      "--",
      "z",
    ],
    args: ["z"],
  });
  assertEquals(cmd.args, [
    "run",
    "--allow-read=/tmp",
    "--config",
    "d.json",
    "-A",
    "/srv/app x/main.ts",
    "z",
  ]);
});

Deno.test("BootstrapCommand.current() re-runs a compiled binary with its arguments only", () => {
  const cmd = BootstrapCommand.current({
    ...base,
    cmdline: ["/opt/app", "x", "y"],
    args: ["x", "y"],
  });
  assertEquals(cmd.args, ["x", "y"]);
});

Deno.test("BootstrapCommand.current() carries the given env", () => {
  const cmd = BootstrapCommand.current({
    ...base,
    cmdline: ["deno", "run", "m.ts"],
    args: [],
    env: { K: "v" },
  });
  assertEquals(cmd.env, { K: "v" });
  assertEquals(cmd.args, ["run", "/srv/app x/main.ts"]);
});
