/**
 * The gate of the systemd suites: a test that needs the `systemd --user`
 * manager is skipped with a message when none is reachable, except under `CI`,
 * where it fails (CI starts a manager with `tests/support/systemd_user.sh`).
 * @module
 */

import { SystemdProcLauncher, SystemdUnavailableError } from "../launcher/systemd.ts";

const CI = Deno.env.get("CI") !== undefined && Deno.env.get("CI") !== "";

async function unavailable(): Promise<string | undefined> {
  try {
    await using _launcher = await SystemdProcLauncher.connect({
      signal: AbortSignal.timeout(5_000),
    });
    return undefined;
  } catch (error) {
    if (error instanceof SystemdUnavailableError) return `${error.variant}: ${error.message}`;
    throw error;
  }
}

/**
 * Probes the user manager once and returns the registrar for `suite`'s tests.
 * @param suite Shown in the skip message.
 * @returns `managerTest(name, fn)`: registers a test needing the manager.
 */
export async function systemdSuite(
  suite: string,
): Promise<(name: string, fn: () => Promise<void>) => void> {
  const skip = await unavailable();
  if (skip !== undefined && !CI) {
    console.log(
      `${suite} skipped (${skip}); start a manager with ` +
        `eval "$(bash tests/support/systemd_user.sh start)"`,
    );
  }
  return (name, fn) =>
    Deno.test({
      name,
      ignore: skip !== undefined && !CI,
      fn: async () => {
        if (skip !== undefined) throw new Error(`Cannot run systemd tests in CI: ${skip}`);
        await fn();
      },
    });
}
