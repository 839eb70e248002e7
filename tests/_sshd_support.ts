/**
 * A test-private OpenSSH server on a loopback port: fresh host and user keys
 * in a temp directory, key-only login, its own config and known_hosts, run in
 * the foreground (`sshd -D -e`) as a child of the test and killed at the end.
 * Needs `/usr/sbin/sshd` (Debian `openssh-server`; `.ci/run` installs it) and
 * root (it logs in as the current user, which is root here).
 * @module
 */

const SSHD = "/usr/sbin/sshd";

/** Whether an sshd binary is installed. */
export function haveSshd(): boolean {
  try {
    return Deno.statSync(SSHD).isFile;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running test sshd. */
export interface TestSshd extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  port: number;
  /** The login (the current user). */
  user: string;
  /** The client's private key. */
  identityFile: string;
  /** `ssh` options: no user config, this server's known_hosts, strict checking. */
  sshOptions: string[];
  /** The sshd process. */
  child: Deno.ChildProcess;
}

/**
 * Starts a test sshd on 127.0.0.1.
 * @returns The server; dispose it to kill it and remove its files.
 */
export async function startSshd(): Promise<TestSshd> {
  const dir = await Deno.makeTempDir({ prefix: "hm_sshd_" });
  await Deno.chmod(dir, 0o700);
  await Deno.mkdir("/run/sshd", { recursive: true }); // privilege separation directory
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/user_key`]);
  await Deno.copyFile(`${dir}/user_key.pub`, `${dir}/authorized_keys`);
  const user = (await run("id", ["-un"])).trim();
  const port = freePort();
  const hostPub = (await Deno.readTextFile(`${dir}/host_key.pub`)).trim();
  await Deno.writeTextFile(`${dir}/known_hosts`, `[127.0.0.1]:${port} ${hostPub}\n`);
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding no",
      "X11Forwarding no",
      "PrintMotd no",
      "LogLevel QUIET", // the readiness probe would log a closed connection
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(SSHD, {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  // Ready when the port accepts (a real event: the listener exists).
  for (let i = 0;; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      break;
    } catch (error) {
      if (i >= 200) {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`Cannot start the test sshd on port ${port}: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    port,
    user,
    identityFile: `${dir}/user_key`,
    sshOptions: [
      "-F",
      "/dev/null",
      "-o",
      `UserKnownHostsFile=${dir}/known_hosts`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "LogLevel=ERROR",
    ],
    child,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
