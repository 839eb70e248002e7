import { assert, assertEquals, assertThrows } from "@std/assert";
import { BootstrapCommand } from "./command.ts";
import { CHANNEL_SECRET_ENV, channelSecrets } from "../channel/secret.ts";
import {
  BOOTSTRAP_MODE_ENV,
  formatProcessName,
  InvalidLauncherKindError,
  launchEnv,
  type LaunchOptions,
  LOG_CHANNEL_ENV,
  parseLauncherKind,
  PROCESS_NAME_ENV,
  ProcLauncherError,
} from "./types.ts";

Deno.test("parseLauncherKind() accepts native, systemd and empty, any case and padding", () => {
  for (const s of ["", "  ", "native", "NATIVE", " Native\n"]) {
    assertEquals(parseLauncherKind(s), "native");
  }
  for (const s of ["systemd", "SystemD", "\tsystemd "]) {
    assertEquals(parseLauncherKind(s), "systemd");
  }
});

Deno.test("parseLauncherKind() rejects other values with a typed error naming the value", () => {
  for (const s of ["docker", "native2", "system d"]) {
    const err = assertThrows(() => parseLauncherKind(s), InvalidLauncherKindError);
    assertEquals(err.value, s);
    assert(err.message.includes(`"${s}"`), err.message);
    assert(err instanceof TypeError);
    assertEquals(err.name, "InvalidLauncherKindError");
  }
});

Deno.test("formatProcessName() takes the name after the last top-level comma", () => {
  const opts = { processNameEnv: null, hostname: () => "box" };
  assertEquals(formatProcessName("unix:@abc,service", opts), "service @ box");
  assertEquals(
    formatProcessName("tcp:[::1]:4000,myprocs-2MuAHeDjLCEd", opts),
    "myprocs-2MuAHeDjLCEd @ box",
  );
  assertEquals(formatProcessName("tcp:[a,b]:1,p", opts), "p @ box");
  assertEquals(formatProcessName("bare", opts), "bare @ box");
});

Deno.test("formatProcessName() prefers the host part of HYPERACTOR_PROCESS_NAME", () => {
  const hostname = () => "fallback";
  assertEquals(
    formatProcessName("a,p", { processNameEnv: "agent @ node-3", hostname }),
    "p @ node-3",
  );
  assertEquals(formatProcessName("a,p", { processNameEnv: "x @ y @ z", hostname }), "p @ z");
  assertEquals(
    formatProcessName("a,p", { processNameEnv: "plainhost", hostname }),
    "p @ plainhost",
  );
  assertEquals(formatProcessName("a,p", { processNameEnv: "", hostname }), "p @ fallback");
});

Deno.test("formatProcessName() falls back to unknown_host when the hostname is unavailable", () => {
  const hostname = () => {
    throw new Deno.errors.NotCapable("no sys");
  };
  assertEquals(formatProcessName("a,p", { processNameEnv: null, hostname }), "p @ unknown_host");
});

Deno.test("formatProcessName() reads this process's env and hostname by default", () => {
  const saved = Deno.env.get(PROCESS_NAME_ENV);
  try {
    Deno.env.set(PROCESS_NAME_ENV, "service @ hostA");
    assertEquals(formatProcessName("unix:@x,w"), "w @ hostA");
    Deno.env.delete(PROCESS_NAME_ENV);
    assertEquals(formatProcessName("unix:@x,w"), `w @ ${Deno.hostname()}`);
  } finally {
    if (saved === undefined) Deno.env.delete(PROCESS_NAME_ENV);
    else Deno.env.set(PROCESS_NAME_ENV, saved);
  }
});

function options(extra: Partial<LaunchOptions> = {}): LaunchOptions {
  return {
    bootstrapPayload: "cGF5bG9hZA==",
    processName: "p @ h",
    command: BootstrapCommand.fromPath("deno").withEnv({
      Z: "z",
      A: "a",
      [BOOTSTRAP_MODE_ENV]: "stale",
    }),
    wantStdio: false,
    tailLines: 0,
    ...extra,
  };
}

Deno.test("LN-7: launchEnv() adds the bootstrap variables (and the secret) over the command env, keys sorted", () => {
  const env = launchEnv(options({ logChannel: "unix:@log" }));
  // AU-2: the child also gets this process's secret, unless it runs insecure.
  const secret = channelSecrets()?.[0];
  assertEquals(env, {
    A: "a",
    [LOG_CHANNEL_ENV]: "unix:@log",
    [BOOTSTRAP_MODE_ENV]: "cGF5bG9hZA==",
    [PROCESS_NAME_ENV]: "p @ h",
    ...(secret === undefined ? {} : { [CHANNEL_SECRET_ENV]: secret.toEnv() }),
    Z: "z",
  });
  assertEquals(Object.keys(env), [...Object.keys(env)].sort(), "LN-7: keys must be sorted");
});

Deno.test("LN-7: launchEnv() omits BOOTSTRAP_LOG_CHANNEL without a log channel", () => {
  assert(!(LOG_CHANNEL_ENV in launchEnv(options())));
});

Deno.test("ProcLauncherError carries variant, proc id and cause", () => {
  const cause = new Deno.errors.NotFound("x");
  const err = new ProcLauncherError("Terminate", "Cannot terminate proc p: gone", {
    procId: "p",
    cause,
  });
  assertEquals([err.variant, err.procId, err.cause], ["Terminate", "p", cause]);
  assertEquals(new ProcLauncherError("Other", "m").procId, undefined);
});
