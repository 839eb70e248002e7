/**
 * The admin web page (`mesh/admin/web/`) in a real headless Chromium,
 * driven over the DevTools protocol (`tests/_cdp.ts`), against a real 2×2
 * process mesh served by `serveAdmin`: the DOM lists every proc with its
 * status and pid; a SIGKILLed proc turns `Failed` (with its reason in the
 * failures panel) without a reload, from the `/v1/events` stream read with
 * the bearer token from the URL fragment; a SIGKILLed host turns
 * unreachable; a page opened later gets the earlier failure from the
 * replayed event window; without the token the page shows a 401 notice and
 * no tree.
 * Screenshots land in the test's
 * temp dir (kept when `HYPERMESH_KEEP_SCREENSHOTS` is set). Skipped only
 * when `chromium` is not installed (`which chromium`).
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { AdminNode } from "../mesh/admin.ts";
import { serveAdmin } from "../mesh/admin/server.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { Extent } from "../ndslice/extent.ts";
import { Chromium, chromiumPath } from "./_cdp.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

/** A JS string literal of `text`, for expressions sent to the page. */
const lit = (text: string) => JSON.stringify(text);

Deno.test({
  name:
    "AW-3, AW-4, AW-5, AW-7: the admin page in headless Chromium shows every proc of a 2×2 process mesh with its status, a SIGKILLed proc as failed and a SIGKILLed host as unreachable without a reload, and nothing without the token",
  ignore: chromiumPath() === null,
  async fn() {
    const previous = setUnhandledMeshFailureHook(() => {});
    const cx = await context();
    const dir = await Deno.makeTempDir({ prefix: "admin_page_test_" });
    try {
      await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), WORKER);
      const procs = await hosts.spawn(cx, "page", Extent.of({ procs: 2 }));
      await procs.spawn(cx, "crasher", CRASHER);
      await using server = await serveAdmin([hosts.ref], cx, {
        addr: "127.0.0.1:0",
        pollMs: 200,
        queryTimeoutMs: 2_000,
      });
      const res = await fetch(`${server.url}/v1/tree`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      const tree: AdminNode = await res.json();
      const nodes = tree.children.flatMap((h) => h.children.filter((p) => p.nodeType === "proc"));
      assertEquals(nodes.length, 4);

      await using browser = await Chromium.launch({ width: 1280, height: 800 });
      const page = await browser.newPage();
      await page.navigate(server.pageUrl); // the hex token in the fragment

      // Every proc is shown Running with its pid; the event stream is connected.
      await page.waitFor(
        `document.querySelectorAll('.proc[data-status="Running"]').length === 4 &&
          document.getElementById("live").classList.contains("on")`,
        "four Running procs and a live event stream",
      );
      const shown = await page.evaluate<{ id: string; status: string; text: string }[]>(
        `[...document.querySelectorAll(".proc")].map((p) =>
          ({ id: p.dataset.procId, status: p.dataset.status, text: p.textContent }))`,
      );
      assertEquals(new Set(shown.map((p) => p.id)), new Set(nodes.map((p) => p.identity)));
      for (const node of nodes) {
        const row = shown.find((p) => p.id === node.identity)!;
        assertStringIncludes(row.text, String(node.properties.pid));
        assertStringIncludes(row.text, "Running");
      }
      assertEquals(await page.evaluate(`document.querySelectorAll(".host").length`), 2);
      // A host folds and unfolds; a proc unfolds to its actors.
      const fold = `document.querySelector(".host .hhead").click()`;
      await page.evaluate(fold);
      assertEquals(await page.evaluate(`document.querySelectorAll(".proc").length`), 2);
      await page.evaluate(fold);
      assertEquals(await page.evaluate(`document.querySelectorAll(".proc").length`), 4);
      await page.evaluate(`document.querySelector(".proc .row").click()`);
      assertStringIncludes(
        await page.evaluate<string>(`document.querySelector(".proc.open .detail").textContent`),
        CRASHER,
      );
      await page.screenshot(`${dir}/admin_page_running.png`);

      // SIGKILL one proc: the page (not reloaded) shows it Failed, with its reason.
      await page.evaluate(`window.__noReload = "still here"`);
      const victim = nodes[1];
      Deno.kill(Number(victim.properties.pid), "SIGKILL");
      const selector = lit(`.proc[data-proc-id=${lit(victim.identity)}][data-status="Failed"]`);
      const failedText = await page.waitFor<string>(
        `document.querySelector(${selector})?.textContent`,
        "the killed proc as Failed",
      );
      assertStringIncludes(failedText, "Killed(sig=9)");
      // The failures panel has it from the event stream (not only from a refetched tree).
      const panel = await page.waitFor<string>(
        `document.querySelector('#failures li[data-source="event"][data-identity=${
          lit(victim.identity)
        }]')?.textContent`,
        "the failure event in the failures panel",
      );
      assertStringIncludes(panel, "Killed(sig=9)");
      assertEquals(await page.evaluate(`window.__noReload`), "still here");
      assertEquals(
        await page.evaluate(`document.querySelectorAll('.proc[data-status="Running"]').length`),
        3,
      );
      const bytes = await page.screenshot(`${dir}/admin_page_failure.png`);
      assert(bytes > 1_000, `a screenshot of ${bytes} bytes`);

      // SIGKILL a host: the page shows it unreachable (an error node), still without a reload.
      const deadHost = tree.children[1].identity;
      Deno.kill(hosts.pids[1], "SIGKILL");
      await page.waitFor(
        `document.querySelector('.host[data-status="Unreachable"][data-host=${lit(deadHost)}]') &&
          document.querySelector('#failures li[data-identity=${lit(deadHost)}]')`,
        "the killed host as unreachable",
      );
      assertEquals(await page.evaluate(`window.__noReload`), "still here");
      await page.screenshot(`${dir}/admin_page_host_down.png`);

      // AW-4: a page opened later gets the earlier failure from the replayed event window.
      const late = await browser.newPage();
      await late.navigate(server.pageUrl);
      await late.waitFor(
        `document.querySelector('#failures li[data-source="event"][data-identity=${
          lit(victim.identity)
        }]')`,
        "the earlier failure replayed to a new page",
      );

      // AW-5: without the token the page says so and shows nothing.
      const bare = await browser.newPage();
      await bare.navigate(`${server.url}/`);
      await bare.waitFor(
        `document.getElementById("summary").textContent.startsWith("401")`,
        "the 401 notice",
      );
      assertEquals(await bare.evaluate(`document.querySelectorAll(".host").length`), 0);

      await browser.close();
      await server.close();
      await hosts.shutdown(cx);
    } finally {
      // HYPERMESH_KEEP_SCREENSHOTS=1 keeps the shots (the path is printed).
      if (Deno.env.get("HYPERMESH_KEEP_SCREENSHOTS")) console.log(`screenshots in ${dir}`);
      else await Deno.remove(dir, { recursive: true });
      await shutdownContext();
      setUnhandledMeshFailureHook(previous);
    }
  },
});
