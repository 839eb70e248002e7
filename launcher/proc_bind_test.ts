import { assert, assertEquals, assertThrows } from "@std/assert";
import { ProcBind, UnknownProcBindKeyError, wrapCommand } from "./proc_bind.ts";

const numa = { numaAvailable: () => true };
const noNuma = { numaAvailable: () => false };

Deno.test("ProcBind.fromMap() accepts the four keys from a record or a Map", () => {
  const all = { cpunodebind: "0", membind: "1", physcpubind: "2-3", cpus: "4" };
  assertEquals(ProcBind.fromMap(all).toJSON(), all);
  assertEquals(ProcBind.fromMap(new Map([["cpus", "0,2"]])).toJSON(), { cpus: "0,2" });
  assert(ProcBind.fromMap({}).isEmpty);
});

Deno.test("ProcBind.fromMap() rejects an unknown key with a typed error naming it", () => {
  const err = assertThrows(
    () => ProcBind.fromMap({ cpus: "1", numa: "0" }),
    UnknownProcBindKeyError,
  );
  assertEquals(err.key, "numa");
  assert(err.message.includes('"numa"'), err.message);
});

Deno.test("ProcBind rejects empty or non-string values", () => {
  assertThrows(() => new ProcBind({ cpus: "" }), TypeError, "cpus");
  assertThrows(() => ProcBind.fromMap({ membind: 3 as unknown as string }), TypeError, "membind");
});

Deno.test("ProcBind.equals() and hasNumaKeys", () => {
  assert(new ProcBind({ cpus: "1" }).equals(ProcBind.fromMap({ cpus: "1" })));
  assert(!new ProcBind({ cpus: "1" }).equals(new ProcBind({ cpus: "2" })));
  assert(!new ProcBind({ cpus: "1" }).hasNumaKeys);
  assert(new ProcBind({ physcpubind: "1" }).hasNumaKeys);
});

Deno.test("wrapCommand() uses numactl with only the present keys on a NUMA machine", () => {
  const bind = new ProcBind({ cpunodebind: "0", physcpubind: "1-2", cpus: "9" });
  assertEquals(wrapCommand("/bin/deno", ["run", "x.ts"], { bind, ...numa }), {
    program: "numactl",
    args: ["--cpunodebind=0", "--physcpubind=1-2", "/bin/deno", "run", "x.ts"],
    wrapper: "numactl",
  });
  const all = new ProcBind({ physcpubind: "3", membind: "1", cpunodebind: "0" });
  assertEquals(wrapCommand("p", [], { bind: all, ...numa }).args, [
    "--cpunodebind=0",
    "--membind=1",
    "--physcpubind=3",
    "p",
  ]);
});

Deno.test("wrapCommand() falls back to taskset without NUMA, or with only cpus", () => {
  const expected = { program: "taskset", args: ["-c", "0-1", "p", "a"], wrapper: "taskset" };
  assertEquals(
    wrapCommand("p", ["a"], { bind: new ProcBind({ membind: "0", cpus: "0-1" }), ...noNuma }),
    expected,
  );
  let probed = false;
  const probe = { numaAvailable: () => (probed = true) };
  assertEquals(
    wrapCommand("p", ["a"], { bind: new ProcBind({ cpus: "0-1" }), ...probe }),
    expected,
  );
  assert(!probed, "the NUMA probe runs only when numactl keys are present");
});

Deno.test("wrapCommand() leaves the command unchanged without an applicable binding", () => {
  assertEquals(wrapCommand("p", ["a"], numa), { program: "p", args: ["a"] });
  assertEquals(wrapCommand("p", ["a"], { bind: new ProcBind(), ...numa }), {
    program: "p",
    args: ["a"],
  });
  assertEquals(wrapCommand("p", ["a"], { bind: new ProcBind({ membind: "0" }), ...noNuma }), {
    program: "p",
    args: ["a"],
  });
});
