/**
 * The host daemon as a `Type=notify` systemd service (`deploy/systemd/`), run by the real
 * private user manager (`eval "$(bash tests/support/systemd_user.sh start --install)"`):
 * the `--user` unit is installed as the README says (paths rewritten with `sed`), into the
 * manager's runtime unit directory (`$XDG_RUNTIME_DIR/systemd/user`, private to that
 * manager), with a drop-in giving a loopback address, the demo worker and a test secret.
 * Without a reachable manager the test is skipped with a message, except under `CI`.
 * @module
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import {
  addChannelSecret,
  ChannelSecret,
  channelSecrets,
  setChannelSecret,
} from "../channel/secret.ts";
import { GREETER_TYPE, type Greeting } from "../cli/demo_actor.ts";
import { processState } from "../launcher/_proc_state.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { Extent } from "../ndslice/extent.ts";
import { systemdSuite } from "./_systemd_support.ts";
import { ROOT, survivors } from "./_support.ts";

const managerTest = await systemdSuite("systemd host service tests");
const UNIT = "hypermesh-host.service";

async function systemctl(...args: string[]): Promise<string> {
  const out = await new Deno.Command("systemctl", {
    args: ["--user", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`systemctl --user ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function show(): Promise<Record<string, string>> {
  const text = await systemctl(
    "show",
    "-p",
    "ActiveState,SubState,Result,MainPID,StatusText,ExecMainStatus",
    UNIT,
  );
  return Object.fromEntries(
    text.trim().split("\n").map((l) => {
      const at = l.indexOf("=");
      return [l.slice(0, at), l.slice(at + 1)];
    }),
  );
}

/** The README's install recipe: the unit with its paths pointed at this checkout and deno. */
async function installedUnitText(): Promise<string> {
  const text = await Deno.readTextFile(`${ROOT}deploy/systemd/user/${UNIT}`);
  return text
    .replaceAll("%h/hypermesh", ROOT.replace(/\/$/, ""))
    .replaceAll("%h/.deno/bin/deno", Deno.execPath());
}

managerTest(
  "SN-1: the --user unit starts the host daemon as Type=notify, is attached, runs an actor, and stops inactive with no process left",
  async () => {
    const runtime = Deno.env.get("XDG_RUNTIME_DIR");
    assert(runtime !== undefined, "the user manager's XDG_RUNTIME_DIR is exported");
    const unitDir = `${runtime}/systemd/user`;
    const work = await Deno.makeTempDir({ prefix: "hm_unit_" });
    const secretText = [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16))
      .join("");
    const previous = channelSecrets();
    let pids: number[] = [];
    try {
      await Deno.writeTextFile(`${work}/secret`, `${secretText}\n`, { mode: 0o600 });
      await Deno.chmod(`${work}/secret`, 0o600);
      await Deno.mkdir(`${unitDir}/${UNIT}.d`, { recursive: true });
      await Deno.writeTextFile(`${unitDir}/${UNIT}`, await installedUnitText());
      await Deno.writeTextFile(
        `${unitDir}/${UNIT}.d/test.conf`,
        [
          "[Service]",
          "Environment=HYPERMESH_HOST_ADDR=tcp:localhost:0",
          "Environment=HYPERMESH_HOST_BIND=tcp:127.0.0.1:0",
          "Environment=HYPERMESH_HOST_ARGS=--command-worker",
          `Environment=HYPERMESH_SECRET_FILE=${work}/secret`,
          "Restart=no",
          "",
        ].join("\n"),
      );
      await systemctl("daemon-reload");
      // Type=notify: `start` returns once the daemon sent READY=1 (SN-1).
      await systemctl("start", UNIT);
      const started = await show();
      assertEquals(started.ActiveState, "active", "SN-1: active once started");
      const m = /^serving (tcp:localhost:\d+)$/.exec(started.StatusText);
      assert(m !== null, `SN-1: STATUS names the served address: ${started.StatusText}`);
      const addr = m![1];
      const mainPid = Number(started.MainPID);

      addChannelSecret(ChannelSecret.fromText(secretText)); // the daemon's secret, from its file
      const cx = await context();
      const mesh = await HostMesh.attach(cx, "service", [addr]);
      const procs = await mesh.ref.spawn(cx, "workers", Extent.of({ procs: 2 }));
      const greeters = await procs.spawn(cx, "greeter", GREETER_TYPE);
      const replies = await greeters.call(cx, "Greet", { text: "unit" }, { timeoutMs: 20_000 });
      const greetings = [...replies.values()] as Greeting[];
      assertEquals(greetings.length, 2);
      for (const g of greetings) assertMatch(g.actor, new RegExp(`^${addr},`));
      pids = [mainPid, ...greetings.map((g) => g.pid)];
      for (const pid of pids) assertEquals(await processState(pid), "alive");
      // Stopped with its procs running: SIGTERM reaches the daemon only (KillMode=mixed),
      // which stops its procs and exits 0.
      await systemctl("stop", UNIT);
      const stopped = await show();
      assertEquals(
        [stopped.ActiveState, stopped.Result, stopped.ExecMainStatus],
        ["inactive", "success", "0"],
        "the unit stops cleanly: the daemon exits 0 on SIGTERM",
      );
      // PID 1 reaps lazily: a zombie counts as gone.
      assertEquals(await survivors(pids), [], "no process of the unit is left");
    } finally {
      await shutdownContext();
      setChannelSecret(previous?.[0] ?? null);
      await systemctl("stop", UNIT).catch(() => {});
      await Deno.remove(`${unitDir}/${UNIT}.d`, { recursive: true }).catch(() => {});
      await Deno.remove(`${unitDir}/${UNIT}`).catch(() => {});
      await systemctl("daemon-reload").catch(() => {});
      await systemctl("reset-failed", UNIT).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
);
