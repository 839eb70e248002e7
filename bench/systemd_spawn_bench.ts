/**
 * launch → exit latency of a trivial program (`/bin/true`): the systemd launcher (transient
 * unit over D-Bus, including unit cleanup before `exit` resolves) next to the raw floor,
 * `Deno.Command`. Needs a user manager (`tests/support/systemd_user.sh start`); without
 * one only the native case runs.
 * @module
 */

import { BootstrapCommand } from "../launcher/command.ts";
import type { LaunchOptions } from "../launcher/types.ts";
import { SystemdProcLauncher, SystemdUnavailableError } from "../launcher/systemd.ts";

const PROGRAM = "/bin/true";

async function systemdAvailable(): Promise<boolean> {
  try {
    await using _l = await SystemdProcLauncher.connect();
    return true;
  } catch (error) {
    if (!(error instanceof SystemdUnavailableError)) throw error;
    console.log(`systemd bench skipped: ${error.message}`);
    return false;
  }
}

const options: LaunchOptions = {
  bootstrapPayload: "",
  processName: "bench @ localhost",
  command: new BootstrapCommand({ program: PROGRAM }),
  wantStdio: false,
  tailLines: 0,
};

Deno.bench(
  { name: "native: Deno.Command /bin/true spawn→exit", group: "spawn", baseline: true },
  async () => {
    await new Deno.Command(PROGRAM, { stdout: "null", stderr: "null" }).output();
  },
);

let n = 0;
Deno.bench({
  name: "systemd: transient unit /bin/true launch→exit",
  group: "spawn",
  ignore: !(await systemdAvailable()),
  async fn(b) {
    await using launcher = await SystemdProcLauncher.connect();
    b.start();
    const { exit } = await launcher.launch(`bench-${Deno.pid}-${n++}`, options);
    await exit;
    b.end();
  },
});
