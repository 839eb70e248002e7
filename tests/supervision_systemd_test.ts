/**
 * Supervision with the systemd launcher (SV-11): a proc running as a
 * transient `systemd --user` unit, SIGKILLed from outside, reaches the
 * mesh's owner as a `ProcExit` MeshFailure. Needs a user manager (start one
 * with `eval "$(bash tests/support/systemd_user.sh start)"`); skipped without
 * one, except under `CI`.
 * @module
 */

import { assertEquals } from "@std/assert";
import { deadline } from "@std/async/deadline";
import { context, shutdownContext } from "../actor/context.ts";
import { attrs, config } from "../config/mod.ts";
import { Extent } from "../ndslice/extent.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { systemdSuite } from "./_systemd_support.ts";
import { workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

const managerTest = await systemdSuite("systemd supervision tests");

managerTest(
  "SV-11: a SIGKILLed proc of a systemd unit reaches its owner as a ProcExit MeshFailure",
  async () => {
    using _kind = config.override(attrs.MESH_PROC_LAUNCHER_KIND, "systemd");
    const cx = await context();
    let hosts: HostMesh | undefined;
    try {
      hosts = await HostMesh.process(Extent.of({ hosts: 1 }), WORKER);
      const procs = await hosts.ref.spawn(cx, "svsd", Extent.of({ procs: 2 }));
      const crashers = await procs.spawn(cx, "crasher", CRASHER);
      const failures = procs.failures();
      const { ref, receiver } = cx.openPort<number>();
      crashers.values()[1].send(cx, "Pid", { reply: ref });
      const pid = await receiver.recv({ timeoutMs: 20_000 });
      receiver.close();
      Deno.kill(pid, "SIGKILL");
      const r = await deadline(failures.next(), 20_000);
      const f = r.value!;
      assertEquals([f.kind, f.meshName, f.rank], ["ProcExit", procs.name, 1], "SV-11");
      assertEquals(f.procId, procs.rank(1).procId.key, "SV-11: names the proc");
      assertEquals(f.status.kind, "Failed", `SV-11: ${f.reason}`);
      await failures.return!();
      await hosts.shutdown(cx);
      hosts = undefined;
    } finally {
      if (hosts !== undefined) await hosts.shutdown(cx);
      await shutdownContext();
    }
  },
);
