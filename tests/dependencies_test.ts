/**
 * The dependency tree a user downloads: the entry point's static graph
 * leaves the systemd launcher (and its D-Bus npm package) out (BS-45), and
 * the lock file holds the small maintained set the README names.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ROOT } from "./_support.ts";

interface Info {
  modules: { specifier: string }[];
}

Deno.test("BS-45: bootstrap.ts's static module graph has no systemd launcher and no D-Bus package", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${ROOT}deno.json`, `${ROOT}bootstrap.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info: Info = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers = info.modules.map((m) => m.specifier);
  assert(specifiers.some((s) => s.endsWith("/bootstrap/manager.ts")), "the graph was read");
  assertEquals(specifiers.filter((s) => /systemd|dbus/.test(s)), [], "BS-45");
});

Deno.test("the lock file holds the maintained D-Bus fork and none of the old tool chain", async () => {
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}deno.lock`)) as {
    npm: Record<string, unknown>;
  };
  const names = Object.keys(lock.npm).map((k) => k.replace(/@[^@]+$/, ""));
  assert(names.includes("@particle/dbus-next"), names.join(", "));
  const unwanted = [
    "dbus-next",
    "usocket",
    "node-gyp",
    "request",
    "tough-cookie",
    "form-data",
    "tar",
  ];
  assertEquals(names.filter((n) => unwanted.includes(n)), []);
  assert(names.length <= 20, `${names.length} npm packages: ${names.join(", ")}`);
});
