import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { ChannelAddr } from "../channel/addr.ts";
import { serve } from "../channel/mod.ts";
import type { MessageEnvelope } from "../actor/envelope.ts";
import { DialMailboxRouter } from "../actor/transport/dial_router.ts";
import { serveMailbox } from "../actor/transport/mailbox_server.ts";
import { ActorRef } from "../actor/port.ts";
import { Proc } from "../actor/proc.ts";
import { ProcId } from "../actor/reference.ts";
import { BootstrapCommand } from "../launcher/command.ts";
import { BootstrapProcManager } from "../bootstrap/manager.ts";
import { Region } from "../ndslice/region.ts";
import { ProcMesh } from "../mesh/proc_mesh.ts";
import type { ProcAgent } from "../mesh/proc_agent/proc_agent.ts";
import { isAlive, PERMISSIONS } from "./_support.ts";

const FIXTURE = new URL("./fixtures/proc_agent_child.ts", import.meta.url).pathname;

Deno.test({
  name: "PA-3: StopAll in a real bootstrap child ends in Stopped(exit=0) with no stray process",
  permissions: {
    run: true,
    read: true,
    write: true,
    net: true,
    env: true,
    sys: true,
    ffi: true,
  },
  async fn() {
    const deadline = AbortSignal.timeout(60_000);
    const command = BootstrapCommand.fromPath(Deno.execPath(), ["run", ...PERMISSIONS, FIXTURE]);
    await using manager = new BootstrapProcManager(command);
    // The "host back-end": routes whatever the child forwards by direct addressing.
    const backendRouter = new DialMailboxRouter();
    const backend = await serve<MessageEnvelope>(ChannelAddr.any("unix"));
    const backendLoop = serveMailbox(backend, backendRouter);
    await using client = await Proc.direct(ChannelAddr.any("unix"), "client");
    using cx = client.instance("client");
    let pid: number | undefined;
    try {
      const procId = new ProcId(backend.addr, "pa_child-0");
      const handle = await manager.spawn(procId, backend.addr, {
        createRank: 0,
        clientConfigOverride: {},
      });
      await handle.ready({ signal: deadline });
      pid = manager.pids.get(procId.toString()) ?? [...manager.pids.values()][0];
      assert(pid !== undefined && await isAlive(pid), "the child runs");
      const addr = handle.addr()!;
      (client.forwarder as DialMailboxRouter).bind(procId, addr);
      const agent = ActorRef.attest<ProcAgent>(handle.agentRef()!.actorId);
      assertEquals(agent.actorId.name, "proc_agent");

      const mesh = ProcMesh.fromRanks(Region.parse("procs=1/1"), [{ procId, agent }]);
      const actors = await mesh.spawn(cx, "echo", "pa_fixture::Echo", { signal: deadline });
      const { ref, receiver } = cx.openOncePort<string>();
      actors.cast(cx, "Echo" as never, ref as never);
      const reply = await receiver.recv({ signal: deadline });
      assertStringIncludes(reply, `,echo[0] pid=${pid}`);

      agent.send(cx, "StopAll", { kind: "StopAll", reason: "test over" });
      const exit = await handle.wait({ signal: deadline });
      assertEquals(exit.kind, "Stopped", `PA-3: exit status ${JSON.stringify(exit)}`);
      assertEquals((exit as { exitCode: number }).exitCode, 0, "PA-3: exit code 0");
      assert(!(await isAlive(pid)), "PA-3: no stray process");
      assertEquals(cx.undeliverables.tryRecv(), undefined, "PA-3: StopAll never replies");
    } finally {
      await backendRouter.flush(); // acks of forwarded replies, before anything closes
      backendLoop.stop("test over");
      await backendLoop.done;
      await backendRouter.close();
    }
  },
});
