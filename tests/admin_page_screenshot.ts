/**
 * Takes the README's screenshot of the admin web page (`docs/admin_page.png`):
 * a 4×4 process mesh served by `serveAdmin`, the page in headless Chromium at
 * 1280×800, one proc SIGKILLed after `--before` seconds,
 * the shot `--after` seconds later (so the chart shows both).
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env --allow-sys \
 *   --allow-ffi tests/admin_page_screenshot.ts [--out docs/admin_page.png] [--before 40] [--after 20]
 * ```
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { context, shutdownContext } from "../actor/context.ts";
import type { AdminNode } from "../mesh/admin.ts";
import { serveAdmin } from "../mesh/admin/server.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { Extent } from "../ndslice/extent.ts";
import { Chromium } from "./_cdp.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { ROOT, workerFixtureCommand } from "./_support.ts";

const args = parseArgs(Deno.args, {
  string: ["out", "before", "after"],
  default: { out: `${ROOT}docs/admin_page.png`, before: "40", after: "20" },
});
const pause = (s: string) => new Promise((r) => setTimeout(r, Number(s) * 1000));

setUnhandledMeshFailureHook(() => {});
const cx = await context();
{
  await using hosts = await HostMesh.process(
    Extent.of({ hosts: 4 }),
    workerFixtureCommand("supervision_worker.ts"),
  );
  const procs = await hosts.spawn(cx, "trainer", Extent.of({ procs: 4 }));
  await procs.spawn(cx, "worker", CRASHER);
  await using server = await serveAdmin([hosts.ref], cx, { addr: "127.0.0.1:0", pollMs: 500 });
  await using browser = await Chromium.launch({ width: 1280, height: 800 });
  const page = await browser.newPage();
  await page.navigate(server.pageUrl);
  await page.waitFor(
    `document.querySelectorAll('.proc[data-status="Running"]').length === 16`,
    "16 Running procs",
  );
  await pause(args.before);
  const tree: AdminNode = await (await fetch(`${server.url}/v1/tree`, {
    headers: { authorization: `Bearer ${server.token}` },
  })).json();
  const victim = tree.children[1].children.find((p) => p.nodeType === "proc")!;
  Deno.kill(Number(victim.properties.pid), "SIGKILL");
  await page.waitFor(`document.querySelector('.proc[data-status="Failed"]')`, "a Failed proc");
  // Unfold one running proc to show its actors.
  await page.evaluate(`document.querySelector('.proc[data-status="Running"] .row').click()`);
  await pause(args.after);
  // Down to the lowest box, to keep the file small.
  const used = await page.evaluate<number>(
    `Math.max(...[...document.querySelectorAll(".host, #failures, #legend")]
      .map((e) => e.getBoundingClientRect().bottom)) + 8`,
  );
  const bytes = await page.screenshot(args.out, Math.ceil(used));
  console.log(`${args.out}: ${bytes} bytes`);
  await browser.close();
  await server.close();
  await hosts.shutdown(cx);
}
await shutdownContext();
