/**
 * Folder-private: how every subcommand reads its arguments and reports
 * failures, so they all behave alike.
 *
 * - `--help` / `-h` prints the subcommand's help on stdout and exits 0.
 * - An unknown flag, a stray argument, a missing or malformed value is a
 *   {@linkcode UsageError}: one line naming it on stderr, then the usage,
 *   exit 2.
 * - Any other failure is one human line on stderr (`demo: <what happened>`),
 *   exit 1; the class name and stack only with `HYPERMESH_DEBUG=1`.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage.
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";

/** Bad command-line input or setup (exit 2). */
export class UsageError extends Error {
  /** Whether the usage text follows the message (not for a bad secret file, say). */
  readonly showUsage: boolean;
  /**
   * @param message One line naming the bad input.
   * @param options `showUsage` (default true), `cause`.
   */
  constructor(message: string, options: ErrorOptions & { showUsage?: boolean } = {}) {
    super(message, options);
    this.name = "UsageError";
    this.showUsage = options.showUsage ?? true;
  }
}

/** One flag of a subcommand. */
export interface FlagSpec {
  /** `string` takes a value (`--hosts 2`, `--hosts=2`); `boolean` does not. */
  kind: "string" | "boolean";
  /** The value's name in the help (`N`, `PATH`). */
  value?: string;
  /** One line of help. */
  help: string;
}

/** What a subcommand accepts. */
export interface CommandSpec {
  /** The subcommand's name. */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Flags by name (without `--`). `help` is always accepted. */
  flags: Record<string, FlagSpec>;
  /** Positional arguments, in order (`rest`: the last takes one or more). */
  positionals?: { name: string; help: string; rest?: true; optional?: true }[];
  /** Extra help text (examples), printed after the flags. */
  more?: string;
}

/** Parsed arguments. */
export interface ParsedCommand {
  /** `true` when `--help` / `-h` was given (nothing else was checked). */
  help: boolean;
  /** Flag values: strings, or `true` for a boolean flag that was given. */
  flags: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/**
 * The help text of a subcommand.
 * @param spec The subcommand.
 * @returns Usage, summary, flags, positionals and `more`.
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { helpText } from "./_args.ts";
 * const text = helpText({ name: "x", summary: "Does x.", flags: { n: { kind: "string", value: "N", help: "how many" } } });
 * assertStringIncludes(text, "--n N");
 * ```
 */
export function helpText(spec: CommandSpec): string {
  const positional = (spec.positionals ?? []).map((p) => {
    const name = `<${p.name}>${p.rest ? "..." : ""}`;
    return p.optional ? `[${name}]` : name;
  });
  const lines = [
    `Usage: bootstrap.ts ${spec.name} [flags]${
      positional.length ? " " + positional.join(" ") : ""
    }`,
    "",
    spec.summary,
  ];
  if ((spec.positionals ?? []).length > 0) {
    lines.push("", "Arguments:");
    for (const p of spec.positionals!) lines.push(`  <${p.name}>`.padEnd(24) + p.help);
  }
  lines.push("", "Flags:");
  const flags: [string, FlagSpec][] = [
    ...Object.entries(spec.flags),
    ["help", { kind: "boolean", help: "Show this text." }],
  ];
  for (const [name, f] of flags) {
    const head = `  --${name}${f.kind === "string" ? ` ${f.value ?? "VALUE"}` : ""}`;
    lines.push(head.padEnd(24) + f.help);
  }
  if (spec.more !== undefined) lines.push("", spec.more);
  return lines.join("\n");
}

function nearest(name: string, known: string[]): string | undefined {
  return known.find((k) => k.startsWith(name) || name.startsWith(k));
}

/**
 * Parses `args` strictly against `spec` (see the module doc).
 * @param args The arguments after the subcommand's name.
 * @param spec The subcommand.
 * @returns The parsed arguments.
 * @throws {UsageError} For an unknown flag, a stray or missing argument, or a
 * flag without its value.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseCommand, UsageError } from "./_args.ts";
 * const spec = { name: "x", summary: "", flags: { hosts: { kind: "string" as const, help: "" } } };
 * assertEquals(parseCommand(["--hosts", "3"], spec).flags.hosts, "3");
 * assertThrows(() => parseCommand(["--host", "3"], spec), UsageError, "unknown flag --host (did you mean --hosts?)");
 * ```
 */
export function parseCommand(args: string[], spec: CommandSpec): ParsedCommand {
  if (args.includes("--help") || args.includes("-h")) {
    return { help: true, flags: {}, positionals: [] };
  }
  const names = Object.keys(spec.flags);
  const strings = names.filter((n) => spec.flags[n].kind === "string");
  const booleans = names.filter((n) => spec.flags[n].kind === "boolean");
  const unknown: string[] = [];
  const parsed = parseArgs(args, {
    string: strings,
    boolean: booleans,
    unknown: (arg: string) => {
      if (arg.startsWith("-")) unknown.push(arg.replace(/=.*$/, ""));
      return !arg.startsWith("-"); // keep positionals
    },
  });
  if (unknown.length > 0) {
    const flag = unknown[0];
    const guess = nearest(flag.replace(/^-+/, ""), names);
    throw new UsageError(`unknown flag ${flag}${guess ? ` (did you mean --${guess}?)` : ""}`);
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const name of strings) {
    const value = parsed[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.at(-1) : value;
    if (typeof text !== "string" || text === "") throw new UsageError(`--${name} needs a value`);
    flags[name] = text;
  }
  for (const name of booleans) if (parsed[name] === true) flags[name] = true;
  const positionals = parsed._.map(String);
  const wanted = spec.positionals ?? [];
  const required = wanted.filter((p) => !p.optional).length;
  const rest = wanted.at(-1)?.rest === true;
  if (positionals.length < required) {
    throw new UsageError(`missing <${wanted[positionals.length].name}>`);
  }
  if (!rest && positionals.length > wanted.length) {
    throw new UsageError(`unexpected argument "${positionals[wanted.length]}"`);
  }
  return { help: false, flags, positionals };
}

/**
 * An integer flag value within `[min, max]`.
 * @param flag The flag's name (for the message).
 * @param text The value as given.
 * @param min Least allowed.
 * @param max Most allowed.
 * @returns The number.
 * @throws {UsageError} When `text` is not such an integer.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { integerFlag, UsageError } from "./_args.ts";
 * assertEquals(integerFlag("procs", "4", 1, 64), 4);
 * assertThrows(() => integerFlag("procs", "abc", 1, 64), UsageError, '--procs must be an integer from 1 to 64, not "abc"');
 * ```
 */
export function integerFlag(flag: string, text: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/**
 * A duration flag in ms (1 ms to 1 h), or `fallbackMs` when absent.
 * @param parsed The parsed arguments.
 * @param flag The flag's name.
 * @param fallbackMs The default.
 * @returns The duration.
 * @throws {UsageError} When the value is not such an integer.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { msFlag } from "./_args.ts";
 * assertEquals(msFlag({ help: false, flags: { timeout: "250" }, positionals: [] }, "timeout", 5_000), 250);
 * assertEquals(msFlag({ help: false, flags: {}, positionals: [] }, "timeout", 5_000), 5_000);
 * ```
 */
export function msFlag(parsed: ParsedCommand, flag: string, fallbackMs: number): number {
  const value = parsed.flags[flag];
  return value === undefined ? fallbackMs : integerFlag(flag, String(value), 1, 3_600_000);
}

/**
 * Whether `HYPERMESH_DEBUG=1` asks for class names and stacks.
 * @returns The flag (false without env access).
 */
export function debugErrors(): boolean {
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: "HYPERMESH_DEBUG" }).state;
    return state === "granted" && Deno.env.get("HYPERMESH_DEBUG") === "1";
  } catch {
    return false;
  }
}

/**
 * One human line for a failure: its message (and its cause's, when the
 * message does not already say it), no class name and no stack, unless
 * `HYPERMESH_DEBUG=1`.
 * @param error What was thrown.
 * @returns The text.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeError } from "./_args.ts";
 * assertEquals(describeError(new RangeError("Invalid --hosts: 0")), "Invalid --hosts: 0");
 * ```
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (debugErrors()) return error.stack ?? `${error.name}: ${error.message}`;
  let text = error.message.split("\n")[0];
  const cause = error.cause;
  if (cause instanceof Error && !text.includes(cause.message.split("\n")[0])) {
    text += `: ${cause.message.split("\n")[0]}`;
  }
  return text;
}

/**
 * Runs a subcommand body with the shared behaviour (see the module doc).
 * @param spec The subcommand.
 * @param args The arguments after its name.
 * @param body Runs with the parsed arguments and returns the exit code;
 * may throw {@linkcode UsageError} for semantic checks of values.
 * @returns The exit code.
 */
export async function runCommand(
  spec: CommandSpec,
  args: string[],
  body: (parsed: ParsedCommand) => Promise<number>,
): Promise<number> {
  let parsed: ParsedCommand;
  try {
    parsed = parseCommand(args, spec);
    if (parsed.help) {
      console.log(helpText(spec));
      return 0;
    }
    return await body(parsed);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage = error.showUsage ? `\n\n${helpText(spec)}` : "";
      console.error(`${spec.name}: ${error.message}${usage}`);
      return 2;
    }
    console.error(`${spec.name}: ${describeError(error)}`);
    return 1;
  }
}
