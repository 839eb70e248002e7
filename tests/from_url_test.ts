/**
 * The package imported from an `http:` URL, the way JSR serves it (bare
 * specifiers rewritten to what `deno.json` maps them to): the demo, which
 * starts host and proc processes from `workerCommand()`, runs to the end.
 * @module
 */

import { assert, assertStringIncludes } from "@std/assert";
import { ROOT } from "./_support.ts";

/** Serves the package's files over HTTP, with import-map keys rewritten as JSR does. */
async function servePackage(): Promise<Deno.HttpServer<Deno.NetAddr> & { origin: string }> {
  const imports: Record<string, string> =
    JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).imports;
  const quoted = /(["'])([^"'\s]+)\1/g;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..") || !/\.(ts|js|json)$/.test(path)) {
      return new Response("not found", { status: 404 });
    }
    let text: string;
    try {
      text = await Deno.readTextFile(`${ROOT}${path.slice(1)}`);
    } catch {
      return new Response("not found", { status: 404 });
    }
    text = text.replace(
      quoted,
      (all, q, spec) => spec in imports ? `${q}${imports[spec]}${q}` : all,
    );
    const type = path.endsWith(".ts") ? "application/typescript" : "application/javascript";
    return new Response(text, { headers: { "content-type": type } });
  });
  return Object.assign(server, { origin: `http://127.0.0.1:${server.addr.port}` });
}

Deno.test("the demo runs from an http: URL: its hosts and procs load the package from there too", async () => {
  await using server = await servePackage();
  const { port } = server.addr;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--allow-run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      `--allow-import=127.0.0.1:${port}`,
      `${server.origin}/bootstrap.ts`,
      "demo",
      "--hosts",
      "1",
      "--procs",
      "1",
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, `exit ${out.code}\n${stdout}\n${stderr}`);
  assertStringIncludes(stdout, "hello from greeter[0]", "the actor in the proc answered");
  assertStringIncludes(stdout, "failed 0, killed 0");
});
