/**
 * `BootstrapCommand`: the program, argv and environment used to start procs.
 *
 * Port of `hyperactor_mesh::bootstrap::BootstrapCommand`. It travels inside
 * bootstrap payloads, so it is an immutable value with a plain-data JSON form.
 * @module
 */

import { readOwnCmdline } from "./_proc_state.ts";

/** Plain-data form of a {@linkcode BootstrapCommand} (serde field names). */
export interface BootstrapCommandData {
  /** Program path. */
  program: string;
  /** argv[0] override, `null` when absent. */
  arg0: string | null;
  /** Arguments after argv[0]. */
  args: string[];
  /** Extra environment for the child (added to the inherited one). */
  env: Record<string, string>;
}

/** Fields accepted by the {@linkcode BootstrapCommand} constructor. */
export interface BootstrapCommandInit {
  /** Program path (non-empty). */
  program: string;
  /** argv[0] override. */
  arg0?: string;
  /** Arguments; defaults to none. */
  args?: readonly string[];
  /** Extra environment; defaults to none. */
  env?: Readonly<Record<string, string>>;
}

/** Inputs of {@linkcode BootstrapCommand.current}, each defaulting to this process. */
export interface CurrentCommandOptions {
  /** This process's argv (default: `/proc/self/cmdline`, Linux). */
  cmdline?: readonly string[];
  /** Program (default: `Deno.execPath()`). */
  execPath?: string;
  /** Main module URL (default: `Deno.mainModule`). */
  mainModule?: string;
  /** Script arguments (default: `Deno.args`). */
  args?: readonly string[];
  /** Environment to carry (default: none; the child inherits ours anyway). */
  env?: Readonly<Record<string, string>>;
}

/**
 * Thrown by {@linkcode BootstrapCommand.fromJSON} for data that is not a
 * bootstrap command.
 */
export class BootstrapCommandParseError extends Error {
  /** The offending input. */
  readonly input: unknown;
  /**
   * Create the error.
   * @param detail what is wrong.
   * @param input the offending input.
   * @param options standard error options (`cause`).
   */
  constructor(detail: string, input: unknown, options?: ErrorOptions) {
    super(`Cannot parse bootstrap command: ${detail}`, options);
    this.name = "BootstrapCommandParseError";
    this.input = input;
  }
}

/** Deno subcommands after which flags are followed by a script. */
const SUBCOMMANDS = new Set([
  "run",
  "test",
  "bench",
  "serve",
  "eval",
  "repl",
  "check",
  "compile",
  "task",
  "install",
  "fmt",
  "lint",
  "doc",
  "info",
  "jupyter",
  "coverage",
]);

/** Flags that may take their value as the next argv element. */
const SEPARATE_VALUE = new Set([
  "-c",
  "--config",
  "--import-map",
  "--location",
  "--cert",
  "--seed",
  "--log-level",
  "--ext",
  "--filter",
  "--reporter",
  "--junit-path",
  "-L",
]);

/** Flags worth carrying over from a non-`run` subcommand (permissions and config). */
const CARRIED =
  /^(-A|--allow-all|--allow-[a-z-]+(=.*)?|--deny-[a-z-]+(=.*)?|--no-prompt|-c|--config(=.*)?|--no-config|--import-map(=.*)?|--lock(=.*)?|--no-lock|--frozen(=.*)?|--cached-only|--no-remote|--no-npm|--node-modules-dir(=.*)?|--vendor(=.*)?|--unstable(-[a-z-]+)?|--v8-flags=.*|--seed(=.*)?|--location(=.*)?|--cert(=.*)?|--unsafely-ignore-certificate-errors(=.*)?|--env-file(=.*)?|-q|--quiet|--log-level(=.*)?|--no-check|--check(=.*)?|--conditions(=.*)?|--preload(=.*)?|--ext(=.*)?)$/;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function scriptFromModule(mainModule: string): string {
  if (!mainModule.startsWith("file:")) return mainModule;
  const url = new URL(mainModule);
  return decodeURIComponent(url.pathname);
}

/**
 * Derive `deno` arguments that re-run this process: `run`, the flags it was
 * started with, its script and its arguments.
 */
function denoArgs(
  argv: readonly string[] | undefined,
  mainModule: string,
  scriptArgs: readonly string[],
): string[] {
  const script = scriptFromModule(mainModule);
  if (argv === undefined) return ["run", script, ...scriptArgs];
  // A `deno compile`d binary: argv is [binary, ...args].
  if (sameList(argv.slice(1), scriptArgs)) return [...scriptArgs];
  let sub = -1;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("-")) {
      if (SEPARATE_VALUE.has(a)) i++;
      continue;
    }
    sub = i;
    break;
  }
  if (sub < 0) return ["run", script, ...scriptArgs];
  const scriptAt = argv.length - scriptArgs.length - 1;
  let flags: string[];
  if (argv[sub] === "run" && scriptAt > sub) {
    flags = [...argv.slice(1, sub), ...argv.slice(sub + 1, scriptAt)];
  } else if (!SUBCOMMANDS.has(argv[sub])) {
    flags = argv.slice(1, sub); // `deno [flags] script.ts args…`
  } else {
    flags = [];
    const tokens = [...argv.slice(1, sub), ...argv.slice(sub + 1)];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === "--") break;
      if (!CARRIED.test(t)) continue;
      flags.push(t);
      if (SEPARATE_VALUE.has(t) && i + 1 < tokens.length) flags.push(tokens[++i]);
    }
  }
  return ["run", ...flags, script, ...scriptArgs];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The explicit permissions a bootstrap child runs with (a host daemon, a
 * proc, a warm child): everything the runtime uses, never `-A`.
 * `WORKER_PERMISSIONS` and the job daemons' command line are this list; the
 * bundled proc child drops `--allow-run`.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BOOTSTRAP_PERMISSIONS } from "./command.ts";
 * assert(!BOOTSTRAP_PERMISSIONS.includes("-A") && BOOTSTRAP_PERMISSIONS.includes("--allow-run"));
 * ```
 */
export const BOOTSTRAP_PERMISSIONS: readonly string[] = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
];

/**
 * How to start a bootstrap process: program, optional argv[0] override,
 * arguments and extra environment. Immutable; compare with
 * {@linkcode BootstrapCommand.equals}.
 *
 * @example Build, extend and round-trip through JSON
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { BootstrapCommand } from "./command.ts";
 *
 * const cmd = BootstrapCommand.fromPath("/usr/bin/env", ["true"]).withEnv({ A: "1" });
 * assertEquals(cmd.env, { A: "1" });
 * const back = BootstrapCommand.fromJSON(JSON.parse(JSON.stringify(cmd)));
 * assert(back.equals(cmd));
 * assertEquals(String(cmd), "A=1 /usr/bin/env true");
 * ```
 */
export class BootstrapCommand {
  /** Program path. */
  readonly program: string;
  /** argv[0] override (not honoured by the native launcher: `Deno.Command` cannot set it). */
  readonly arg0?: string;
  /** Arguments after argv[0]. */
  readonly args: readonly string[];
  /** Extra environment for the child. */
  readonly env: Readonly<Record<string, string>>;

  /**
   * Create a command; copies and freezes the inputs, env keys sorted.
   * @param init program, arg0, args and env.
   * @throws {TypeError} when program is empty or a field has the wrong type.
   */
  constructor(init: BootstrapCommandInit) {
    if (typeof init?.program !== "string" || init.program === "") {
      throw new TypeError(
        `Cannot create bootstrap command: invalid program ${JSON.stringify(init?.program)}`,
      );
    }
    if (init.arg0 !== undefined && typeof init.arg0 !== "string") {
      throw new TypeError(`Cannot create bootstrap command: invalid arg0 ${String(init.arg0)}`);
    }
    const args = [...(init.args ?? [])];
    for (const a of args) {
      if (typeof a !== "string") {
        throw new TypeError(`Cannot create bootstrap command: non-string argument ${String(a)}`);
      }
    }
    const env: Record<string, string> = {};
    for (const key of Object.keys(init.env ?? {}).sort()) {
      const value = init.env![key];
      if (typeof value !== "string" || key === "" || key.includes("=")) {
        throw new TypeError(`Cannot create bootstrap command: invalid env entry "${key}"`);
      }
      env[key] = value;
    }
    this.program = init.program;
    if (init.arg0 !== undefined) this.arg0 = init.arg0;
    this.args = Object.freeze(args);
    this.env = Object.freeze(env);
    Object.freeze(this);
  }

  /**
   * A command that re-runs this Deno process: `Deno.execPath()`, `run`, the
   * flags this process was started with (read from `/proc/self/cmdline`; when
   * started by another subcommand such as `test`, only permission and config
   * flags are kept), the main module's path and `Deno.args`. A `deno compile`d
   * binary is re-run with its arguments only. Without a readable cmdline (non
   * Linux, or no permission to read it nor to run `cat`), no flags are carried.
   * The environment is empty unless given: children inherit ours anyway.
   * @param options overrides for each input (for tests).
   * @returns the command.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   *
   * const cmd = BootstrapCommand.current({
   *   cmdline: ["deno", "run", "--allow-net", "main.ts", "x"],
   *   execPath: "/bin/deno",
   *   mainModule: "file:///srv/main.ts",
   *   args: ["x"],
   * });
   * assertEquals(cmd.args, ["run", "--allow-net", "/srv/main.ts", "x"]);
   * ```
   */
  static current(options: CurrentCommandOptions = {}): BootstrapCommand {
    const argv = options.cmdline ?? readOwnCmdline();
    const scriptArgs = options.args ?? Deno.args;
    return new BootstrapCommand({
      program: options.execPath ?? Deno.execPath(),
      args: denoArgs(argv, options.mainModule ?? Deno.mainModule, scriptArgs),
      env: options.env ?? {},
    });
  }

  /**
   * `deno run <flags> <module>`: a command that runs the module at `url`
   * with this Deno, whatever its URL is. A `file:` URL becomes a path; an
   * `http:`/`https:` URL (a package imported from JSR or any web server) is
   * passed as the URL, with `--allow-import=<its host>` so the child may load
   * the rest of the package from where it came.
   * @param url The module's URL (usually `new URL("./x.ts", import.meta.url)`).
   * @param flags Permission and other `deno run` flags.
   * @returns The command.
   * @throws {TypeError} For a URL that is neither `file:` nor `http(s):`.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * const local = BootstrapCommand.forModule("file:///srv/app/worker.ts", ["--allow-net"]);
   * assertEquals(local.args, ["run", "--allow-net", "/srv/app/worker.ts"]);
   * const remote = BootstrapCommand.forModule("https://jsr.io/@x/y/1.0.0/worker.ts", ["--allow-net"]);
   * assertEquals(remote.args, [
   *   "run", "--allow-net", "--allow-import=jsr.io:443", "https://jsr.io/@x/y/1.0.0/worker.ts",
   * ]);
   * ```
   */
  static forModule(url: string | URL, flags: readonly string[] = []): BootstrapCommand {
    const module = new URL(url);
    if (module.protocol === "file:") {
      return BootstrapCommand.fromPath(Deno.execPath(), [
        "run",
        ...flags,
        decodeURIComponent(module.pathname),
      ]);
    }
    if (module.protocol !== "http:" && module.protocol !== "https:") {
      throw new TypeError(`Cannot run a module from ${module.protocol} URL: ${module.href}`);
    }
    const port = module.port || (module.protocol === "https:" ? "443" : "80");
    return BootstrapCommand.fromPath(Deno.execPath(), [
      "run",
      ...flags,
      `--allow-import=${module.hostname}:${port}`,
      module.href,
    ]);
  }

  /**
   * A command running `program` with `args`, no arg0 and no extra env.
   * @param program program path.
   * @param args arguments.
   * @returns the command.
   * @throws {TypeError} for an empty program.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * assertEquals(BootstrapCommand.fromPath("/bin/true").args, []);
   * ```
   */
  static fromPath(program: string, args: readonly string[] = []): BootstrapCommand {
    return new BootstrapCommand({ program, args });
  }

  /**
   * Parse the plain-data form (an object, or its JSON text).
   * @param data output of {@linkcode BootstrapCommand.toJSON}.
   * @returns the command.
   * @throws {BootstrapCommandParseError} when the data is malformed.
   * @example
   * ```ts
   * import { assertThrows } from "@std/assert";
   * import { BootstrapCommand, BootstrapCommandParseError } from "./command.ts";
   * assertThrows(() => BootstrapCommand.fromJSON({ args: [] }), BootstrapCommandParseError);
   * ```
   */
  static fromJSON(data: unknown): BootstrapCommand {
    let value = data;
    if (typeof data === "string") {
      try {
        value = JSON.parse(data);
      } catch (error) {
        throw new BootstrapCommandParseError("invalid JSON text", data, { cause: error });
      }
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new BootstrapCommandParseError("expected an object", data);
    }
    const v = value as Record<string, unknown>;
    if (typeof v.program !== "string" || v.program === "") {
      throw new BootstrapCommandParseError("field program must be a non-empty string", data);
    }
    if (v.arg0 !== undefined && v.arg0 !== null && typeof v.arg0 !== "string") {
      throw new BootstrapCommandParseError("field arg0 must be a string or null", data);
    }
    const args = v.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      throw new BootstrapCommandParseError("field args must be an array of strings", data);
    }
    const env = v.env ?? {};
    if (
      typeof env !== "object" || env === null || Array.isArray(env) ||
      !Object.values(env).every((x) => typeof x === "string")
    ) {
      throw new BootstrapCommandParseError("field env must map strings to strings", data);
    }
    try {
      return new BootstrapCommand({
        program: v.program,
        arg0: typeof v.arg0 === "string" ? v.arg0 : undefined,
        args: args as string[],
        env: env as Record<string, string>,
      });
    } catch (error) {
      throw new BootstrapCommandParseError((error as Error).message, data, { cause: error });
    }
  }

  /**
   * A copy with `env` merged over this command's environment.
   * @param env variables to add or replace.
   * @returns the new command.
   * @throws {TypeError} for an invalid entry.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * const c = BootstrapCommand.fromPath("p").withEnv({ A: "1" }).withEnv({ A: "2", B: "3" });
   * assertEquals(c.env, { A: "2", B: "3" });
   * ```
   */
  withEnv(env: Readonly<Record<string, string>>): BootstrapCommand {
    return new BootstrapCommand({ ...this.#init(), env: { ...this.env, ...env } });
  }

  /**
   * A copy with different arguments.
   * @param args the new arguments.
   * @returns the new command.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * assertEquals(BootstrapCommand.fromPath("p", ["a"]).withArgs(["b"]).args, ["b"]);
   * ```
   */
  withArgs(args: readonly string[]): BootstrapCommand {
    return new BootstrapCommand({ ...this.#init(), args });
  }

  /**
   * A copy that passes `flags` to V8: for a `deno run` command (first
   * argument `run`), `--v8-flags=<flags>` is inserted right after `run`, so
   * any `--v8-flags` the command already carries comes later and wins (V8
   * applies flags in order). Any other command (a `deno compile`d binary,
   * another program) is returned unchanged; so is an empty `flags`.
   * @param flags V8 flags, e.g. `["--no-lazy"]`.
   * @returns the new command, or this one.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * const run = BootstrapCommand.fromPath("deno", ["run", "--allow-net", "main.ts"]);
   * assertEquals(run.withV8Flags(["--no-lazy"]).args, [
   *   "run", "--v8-flags=--no-lazy", "--allow-net", "main.ts",
   * ]);
   * const binary = BootstrapCommand.fromPath("./server", ["--port", "1"]);
   * assertEquals(binary.withV8Flags(["--no-lazy"]), binary);
   * ```
   */
  withV8Flags(flags: readonly string[]): BootstrapCommand {
    if (flags.length === 0 || this.args[0] !== "run") return this;
    return this.withArgs(["run", `--v8-flags=${flags.join(",")}`, ...this.args.slice(1)]);
  }

  /**
   * Value equality: program, arg0, args (in order) and env (any order).
   * @param other the command to compare with.
   * @returns whether they are equal.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * const a = new BootstrapCommand({ program: "p", env: { A: "1", B: "2" } });
   * assert(a.equals(new BootstrapCommand({ program: "p", env: { B: "2", A: "1" } })));
   * assert(!a.equals(BootstrapCommand.fromPath("p")));
   * ```
   */
  equals(other: BootstrapCommand): boolean {
    if (this === other) return true;
    if (!(other instanceof BootstrapCommand)) return false;
    const ka = Object.keys(this.env);
    const kb = Object.keys(other.env);
    return this.program === other.program && this.arg0 === other.arg0 &&
      sameList(this.args, other.args) && sameList(ka, kb) &&
      ka.every((k) => this.env[k] === other.env[k]);
  }

  /**
   * The plain-data form (env keys sorted, `arg0: null` when absent).
   * @returns JSON-ready data.
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * assertEquals(BootstrapCommand.fromPath("p").toJSON(), { program: "p", arg0: null, args: [], env: {} });
   * ```
   */
  toJSON(): BootstrapCommandData {
    return {
      program: this.program,
      arg0: this.arg0 ?? null,
      args: [...this.args],
      env: { ...this.env },
    };
  }

  /**
   * A shell-like display: `K=V … program args…`, quoted where needed.
   * @returns the display string (not guaranteed to be a runnable shell line).
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BootstrapCommand } from "./command.ts";
   * assertEquals(String(BootstrapCommand.fromPath("/bin/echo", ["a b"])), "/bin/echo 'a b'");
   * ```
   */
  toString(): string {
    const env = Object.entries(this.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    return [...env, shellQuote(this.program), ...this.args.map(shellQuote)].join(" ");
  }

  #init(): BootstrapCommandInit {
    return { program: this.program, arg0: this.arg0, args: this.args, env: this.env };
  }
}
