/**
 * TL-1..TL-3 end to end: a `bootstrap.ts host --addr tls:127.0.0.1:0` daemon
 * serving over TLS, and a client attaching to it, spawning procs and actors,
 * and shutting it down.
 */
import { assertEquals } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { WORKER_PERMISSIONS } from "../cli/worker.ts";
import { readFirstLine } from "./_support.ts";
import { makeTestPki } from "./_tls_support.ts";

const BOOTSTRAP = new URL("../bootstrap.ts", import.meta.url).pathname;

Deno.test({
  name:
    "TL-1: a host daemon on tls: serves a client that spawns procs and actors and shuts it down",
  sanitizeResources: false, // piped daemon stdout is drained by a detached reader
  async fn() {
    const pki = await makeTestPki();
    const tlsEnv = {
      HYPERMESH_TLS_CERT_FILE: pki.certFile,
      HYPERMESH_TLS_KEY_FILE: pki.keyFile,
      HYPERMESH_TLS_CA_FILE: pki.caFile,
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...WORKER_PERMISSIONS,
        BOOTSTRAP,
        "host",
        "--addr",
        "tls:127.0.0.1:0",
        "--command-worker",
      ],
      env: tlsEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    using _c = config.override(attrs.TLS_CA_FILE, pki.caFile);
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const line = await readFirstLine(reader);
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      const addr = /^ready (tls:\S+)/.exec(line)?.[1];
      if (addr === undefined) throw new Error(`daemon did not start: ${line}`);
      const cx = await context();
      const ref = HostMeshRef.fromHosts("tls", [addr]);
      const procs = await ref.spawn(cx, "p", Extent.unity());
      const actors = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const { ref: port, receiver } = cx.openPort<Greeting>();
      actors.cast(cx, "Greet", { text: "hi", reply: port });
      const reply = await receiver.recv({ timeoutMs: 20_000 });
      receiver.close();
      assertEquals(typeof reply.pid, "number");
      const report = await HostMesh.take(ref).shutdown(cx);
      assertEquals(report.failed, []);
      assertEquals((await child.status).code, 0, "the daemon exits 0 after ShutdownHost");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
      await shutdownContext();
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});
