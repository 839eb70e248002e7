/**
 * `Bootstrap` modes: how a mesh process starts up, and their env-safe form.
 *
 * Port of `hyperactor_mesh::bootstrap::Bootstrap` with `to_env_safe_string` /
 * `from_env_safe_string`. The parent puts the encoded mode into
 * {@linkcode BOOTSTRAP_MODE_ENV}; the child reads it with
 * {@linkcode readBootstrapMode}. The wire text is base64 (standard alphabet,
 * padded) of a JSON document shaped like serde's externally tagged enum with
 * snake_case fields, e.g.
 * `{"Proc":{"proc_id":"unix:/a,p","backend_addr":"unix:/b","callback_addr":"unix:/c","socket_dir_path":"/run/x","config":null}}`.
 * Addresses and ids travel in their canonical text forms.
 *
 * This module owns the bootstrap environment: every variable name a bootstrap
 * child reads ({@linkcode BOOTSTRAP_MODE_ENV}, {@linkcode BOOTSTRAP_ADDR_ENV},
 * {@linkcode WARM_ENV}, {@linkcode PARENT_PID_ENV}, …) is imported from here,
 * and {@linkcode isBootstrapChild} is the one "am I a bootstrap child?" test.
 *
 * ## Invariants (BS-*)
 * - **BS-2 (deterministic env encoding).** {@linkcode toEnvSafeString} emits
 *   fields in declaration order and map keys (config, command env) sorted, so
 *   equal modes encode to the same string and re-encoding a decoded mode
 *   gives back the decoded string.
 * - **BS-5 (typed decode errors).** {@linkcode fromEnvSafeString} rejects bad
 *   base64, bad UTF-8, bad JSON and bad fields with a
 *   {@linkcode BootstrapModeError} naming the variable (and the field).
 *
 * @module
 */

/**
 * The platform's base64 (`Uint8Array.fromBase64` / `#toBase64`, standard
 * alphabet, padded): this module is on every proc child's start-up path, and
 * importing `@std/encoding` from the `deno-std` npm package there starts the
 * npm resolver in each child (~3 MB of RSS per proc, `bench/memory_bench.ts`).
 */
const base64 = Uint8Array as unknown as {
  fromBase64(text: string): Uint8Array;
  prototype: { toBase64(this: Uint8Array): string };
};
const encodeBase64 = (bytes: Uint8Array): string => base64.prototype.toBase64.call(bytes);
const decodeBase64 = (text: string): Uint8Array => base64.fromBase64(text);
import { ChannelAddr } from "../channel/addr.ts";
import { ProcId } from "../actor/reference.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import {
  BOOTSTRAP_MODE_ENV,
  LOG_CHANNEL_ENV,
  PDEATHSIG_ARMED_ENV,
  PROCESS_NAME_ENV,
  WARM_ENV,
  WATCH_PID_ENV,
} from "../launcher/types.ts";

// The variables a launcher writes are declared by the launcher layer, which
// sits below this one (it delivers them without knowing what they mean);
// every module above the launcher imports them from here.
export {
  BOOTSTRAP_MODE_ENV,
  LOG_CHANNEL_ENV,
  PDEATHSIG_ARMED_ENV,
  PROCESS_NAME_ENV,
  WARM_ENV,
  WATCH_PID_ENV,
};

/** Env var carrying the v0 allocator's address to a v0 child. */
export const BOOTSTRAP_ADDR_ENV = "HYPERACTOR_MESH_BOOTSTRAP_ADDR";
/** Env var carrying a v0 child's index at its allocator. */
export const BOOTSTRAP_INDEX_ENV = "HYPERACTOR_MESH_INDEX";
/** Env var in which a parent passes its pid to the child (closes the start-up race, BS-3). */
export const PARENT_PID_ENV = "HYPERACTOR_MESH_PARENT_PID";

/** Where bootstrap variables are read. */
export interface EnvReader {
  /** Reads a variable. */
  get(key: string): string | undefined;
}

/**
 * This process's environment, read without ever prompting: a variable whose
 * read access is not already granted reads as unset.
 * @returns The reader.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { processEnv } from "./mode.ts";
 * assertEquals(processEnv().get("HYPERMESH_DOC_SURELY_UNSET"), undefined);
 * ```
 */
export function processEnv(): EnvReader {
  return {
    get(key: string): string | undefined {
      try {
        if (Deno.permissions.querySync({ name: "env", variable: key }).state !== "granted") {
          return undefined;
        }
        return Deno.env.get(key);
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * Whether the environment asks this process to run as a bootstrap child: a
 * bootstrap mode ({@linkcode BOOTSTRAP_MODE_ENV}), a v0 allocator address
 * ({@linkcode BOOTSTRAP_ADDR_ENV}) or the warm-child marker
 * ({@linkcode WARM_ENV}`=1`) is set. The one place this is decided.
 * @param env Where to read (default {@linkcode processEnv}).
 * @returns Whether this is a bootstrap child.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isBootstrapChild } from "./mode.ts";
 * assert(!isBootstrapChild({ get: () => undefined }));
 * assert(isBootstrapChild({ get: (k) => k === "HYPERMESH_BOOTSTRAP_WARM" ? "1" : undefined }));
 * ```
 */
export function isBootstrapChild(env: EnvReader = processEnv()): boolean {
  return env.get(BOOTSTRAP_MODE_ENV) !== undefined || env.get(BOOTSTRAP_ADDR_ENV) !== undefined ||
    env.get(WARM_ENV) === "1";
}

/**
 * Plain-data form of a bootstrap command inside a `Host` mode (serde field
 * names). A `BootstrapCommand` from `launcher/command.ts` is assignable to it;
 * rebuild one with `BootstrapCommand.fromJSON(mode.command)`.
 */
export interface BootstrapCommandJson {
  /** Program path. */
  readonly program: string;
  /** argv[0] override; absent or `null` when none. */
  readonly arg0?: string | null;
  /** Arguments after argv[0]. */
  readonly args: readonly string[];
  /** Extra environment. */
  readonly env: Readonly<Record<string, string>>;
}

/** Bootstrap as a proc hosted by a `BootstrapProcManager`. */
export interface ProcBootstrap {
  /** Discriminant. */
  kind: "Proc";
  /** The proc to bootstrap. */
  procId: ProcId;
  /** Where messages for non-local procs are forwarded. */
  backendAddr: ChannelAddr;
  /** Where the child reports `(addr, agent)` once serving. */
  callbackAddr: ChannelAddr;
  /** Directory holding the procs' socket files (direct local dialing). */
  socketDirPath: string;
  /** Parent's config, installed as the `ClientOverride` layer. */
  config?: ConfigSnapshot;
}

/** Bootstrap as a host running a `BootstrapProcManager` and a host agent. */
export interface HostBootstrap {
  /** Discriminant. */
  kind: "Host";
  /** Where to serve the host. */
  addr: ChannelAddr;
  /** Command for the host's procs (default: the current command). */
  command?: BootstrapCommandJson;
  /** Parent's config, installed as the `ClientOverride` layer. */
  config?: ConfigSnapshot;
  /** Exit the process after handling a shutdown request. */
  exitOnShutdown: boolean;
}

/** Bootstrap as a legacy v0 proc (allocator protocol). */
export interface V0ProcMeshBootstrap {
  /** Discriminant. */
  kind: "V0ProcMesh";
  /** Parent's config, installed as the `ClientOverride` layer. */
  config?: ConfigSnapshot;
}

/** How a mesh process starts up. */
export type Bootstrap = ProcBootstrap | HostBootstrap | V0ProcMeshBootstrap;

/** Which decoding step failed. */
export type BootstrapModeErrorVariant = "Base64" | "Utf8" | "Json" | "Field";

/** A bootstrap mode string that cannot be decoded (BS-5). */
export class BootstrapModeError extends Error {
  /** Which step failed. */
  readonly variant: BootstrapModeErrorVariant;
  /** The environment variable (or label) the text came from. */
  readonly variable: string;
  /** For `Field`: the offending field path, e.g. `Proc.proc_id`. */
  readonly field?: string;

  /**
   * Creates the error.
   * @param variant Which step failed.
   * @param variable The variable the text came from.
   * @param detail What is wrong.
   * @param options `field` for `Field` errors, `cause`.
   */
  constructor(
    variant: BootstrapModeErrorVariant,
    variable: string,
    detail: string,
    options: ErrorOptions & { field?: string } = {},
  ) {
    const where = options.field === undefined ? "" : ` field "${options.field}"`;
    super(`Cannot decode ${variable}:${where} ${detail}`, { cause: options.cause });
    this.name = "BootstrapModeError";
    this.variant = variant;
    this.variable = variable;
    if (options.field !== undefined) this.field = options.field;
  }
}

/**
 * The default mode (the seed's `Bootstrap::default()`): `V0ProcMesh` without config.
 * @returns A fresh default mode.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { defaultBootstrap } from "./mode.ts";
 * assertEquals(defaultBootstrap(), { kind: "V0ProcMesh" });
 * ```
 */
export function defaultBootstrap(): Bootstrap {
  return { kind: "V0ProcMesh" };
}

/**
 * Encodes a mode for an environment variable (BS-2).
 * @param mode The mode.
 * @returns Base64 of the canonical JSON document.
 * @throws {TypeError} When a config value is not a string, finite number or boolean.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { fromEnvSafeString, toEnvSafeString } from "./mode.ts";
 * const s = toEnvSafeString({ kind: "V0ProcMesh", config: { b: 1, a: true } });
 * assertEquals(atob(s), '{"V0ProcMesh":{"config":{"a":true,"b":1}}}');
 * assertEquals(toEnvSafeString(fromEnvSafeString(s)), s);
 * ```
 */
export function toEnvSafeString(mode: Bootstrap): string {
  return encodeBase64(new TextEncoder().encode(toJsonText(mode)));
}

/**
 * Decodes the output of {@linkcode toEnvSafeString} (BS-5).
 * @param text The env-safe string.
 * @param variable Name used in error messages.
 * @returns The mode.
 * @throws {BootstrapModeError} For bad base64, UTF-8, JSON or fields.
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { BootstrapModeError, fromEnvSafeString } from "./mode.ts";
 * const err = assertThrows(() => fromEnvSafeString("!!!"), BootstrapModeError);
 * assertEquals(err.variant, "Base64");
 * assertEquals(fromEnvSafeString(btoa('{"V0ProcMesh":{"config":null}}')), { kind: "V0ProcMesh" });
 * ```
 */
export function fromEnvSafeString(text: string, variable: string = BOOTSTRAP_MODE_ENV): Bootstrap {
  if (typeof text !== "string" || !BASE64.test(text)) {
    throw new BootstrapModeError("Base64", variable, "not standard padded base64");
  }
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(text);
  } catch (error) {
    throw new BootstrapModeError("Base64", variable, "not standard padded base64", {
      cause: error,
    });
  }
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new BootstrapModeError("Utf8", variable, "payload is not valid UTF-8", { cause: error });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (error) {
    throw new BootstrapModeError("Json", variable, `payload is not JSON: ${errorText(error)}`, {
      cause: error,
    });
  }
  return fromJsonDoc(doc, variable);
}

/**
 * Reads the mode from {@linkcode BOOTSTRAP_MODE_ENV}.
 * @param env Where to read (default `Deno.env`).
 * @returns The mode, or `undefined` when the variable is unset.
 * @throws {BootstrapModeError} When the variable is set but malformed.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readBootstrapMode, toEnvSafeString } from "./mode.ts";
 * const vars = new Map([["HYPERACTOR_MESH_BOOTSTRAP_MODE", toEnvSafeString({ kind: "V0ProcMesh" })]]);
 * assertEquals(readBootstrapMode({ get: (k: string) => vars.get(k) }), { kind: "V0ProcMesh" });
 * assertEquals(readBootstrapMode({ get: () => undefined }), undefined);
 * ```
 */
export function readBootstrapMode(
  env: { get(key: string): string | undefined } = Deno.env,
): Bootstrap | undefined {
  const text = env.get(BOOTSTRAP_MODE_ENV);
  if (text === undefined) return undefined;
  return fromEnvSafeString(text, BOOTSTRAP_MODE_ENV);
}

// Standard alphabet with canonical padding, as Rust's BASE64_STANDARD accepts.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// BS-2: fixed field order, sorted map keys, no whitespace.
function toJsonText(mode: Bootstrap): string {
  switch (mode.kind) {
    case "Proc":
      return `{"Proc":{"proc_id":${str(mode.procId.toString())},"backend_addr":${
        str(mode.backendAddr.toString())
      },"callback_addr":${str(mode.callbackAddr.toString())},"socket_dir_path":${
        str(mode.socketDirPath)
      },"config":${configText(mode.config)}}}`;
    case "Host":
      return `{"Host":{"addr":${str(mode.addr.toString())},"command":${
        commandText(mode.command)
      },"config":${configText(mode.config)},"exit_on_shutdown":${mode.exitOnShutdown === true}}}`;
    case "V0ProcMesh":
      return `{"V0ProcMesh":{"config":${configText(mode.config)}}}`;
    default:
      throw new TypeError(`Invalid bootstrap mode kind: ${(mode as { kind: unknown }).kind}`);
  }
}

function str(value: string): string {
  return JSON.stringify(value);
}

function sortedRecord(record: Readonly<Record<string, unknown>>, what: string): string {
  const keys = Object.keys(record).sort(); // BS-2
  const parts = keys.map((key) => {
    const value = record[key];
    const ok = typeof value === "string" || typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!ok) throw new TypeError(`Invalid ${what} value for "${key}": ${String(value)}`);
    return `${str(key)}:${JSON.stringify(value)}`;
  });
  return `{${parts.join(",")}}`;
}

function configText(config: ConfigSnapshot | undefined): string {
  return config === undefined ? "null" : sortedRecord(config, "config");
}

function commandText(command: BootstrapCommandJson | undefined): string {
  if (command === undefined) return "null";
  const arg0 = command.arg0 === undefined || command.arg0 === null ? "null" : str(command.arg0);
  const args = `[${[...command.args].map((a) => str(a)).join(",")}]`;
  const env = sortedRecord(command.env ?? {}, "command env");
  return `{"program":${str(command.program)},"arg0":${arg0},"args":${args},"env":${env}}`;
}

type Doc = Record<string, unknown>;

function isObject(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fromJsonDoc(doc: unknown, variable: string): Bootstrap {
  const fail = (field: string, detail: string, cause?: unknown): never => {
    throw new BootstrapModeError("Field", variable, detail, { field, cause });
  };
  if (!isObject(doc) || Object.keys(doc).length !== 1) {
    return fail("(variant)", 'expected one of {"Proc":…}, {"Host":…}, {"V0ProcMesh":…}');
  }
  const [variant] = Object.keys(doc);
  const body = doc[variant];
  if (!isObject(body)) return fail(variant, "expected an object");
  const field = (name: string) => `${variant}.${name}`;
  const text = (name: string): string => {
    const value = body[name];
    if (typeof value !== "string") return fail(field(name), "expected a string");
    return value;
  };
  const addr = (name: string): ChannelAddr => {
    try {
      return ChannelAddr.parse(text(name));
    } catch (error) {
      if (error instanceof BootstrapModeError) throw error;
      return fail(field(name), errorText(error), error);
    }
  };
  const config = (): ConfigSnapshot | undefined => {
    const value = body.config;
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) return fail(field("config"), "expected an object or null");
    const out: ConfigSnapshot = {};
    for (const key of Object.keys(value).sort()) {
      const v = value[key];
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        return fail(`${field("config")}.${key}`, "expected a string, number or boolean");
      }
      out[key] = v;
    }
    return out;
  };
  const withConfig = <T extends Bootstrap>(mode: T): T => {
    const cfg = config();
    if (cfg !== undefined) mode.config = cfg;
    return mode;
  };
  switch (variant) {
    case "Proc": {
      let procId: ProcId;
      try {
        procId = ProcId.parse(text("proc_id"));
      } catch (error) {
        if (error instanceof BootstrapModeError) throw error;
        return fail(field("proc_id"), errorText(error), error);
      }
      return withConfig<ProcBootstrap>({
        kind: "Proc",
        procId,
        backendAddr: addr("backend_addr"),
        callbackAddr: addr("callback_addr"),
        socketDirPath: text("socket_dir_path"),
      });
    }
    case "Host": {
      const exit = body.exit_on_shutdown;
      if (typeof exit !== "boolean") return fail(field("exit_on_shutdown"), "expected a boolean");
      const mode: HostBootstrap = { kind: "Host", addr: addr("addr"), exitOnShutdown: exit };
      const command = commandFrom(body.command, field("command"), fail);
      if (command !== undefined) mode.command = command;
      return withConfig(mode);
    }
    case "V0ProcMesh":
      return withConfig<V0ProcMeshBootstrap>({ kind: "V0ProcMesh" });
    default:
      return fail("(variant)", `unknown variant "${variant}"`);
  }
}

function commandFrom(
  value: unknown,
  field: string,
  fail: (field: string, detail: string) => never,
): BootstrapCommandJson | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return fail(field, "expected an object or null");
  const { program, arg0, args, env } = value;
  if (typeof program !== "string" || program === "") {
    return fail(`${field}.program`, "expected a non-empty string");
  }
  if (arg0 !== undefined && arg0 !== null && typeof arg0 !== "string") {
    return fail(`${field}.arg0`, "expected a string or null");
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    return fail(`${field}.args`, "expected an array of strings");
  }
  if (!isObject(env) || !Object.values(env).every((v) => typeof v === "string")) {
    return fail(`${field}.env`, "expected an object of strings");
  }
  const sortedEnv: Record<string, string> = {};
  for (const key of Object.keys(env).sort()) sortedEnv[key] = env[key] as string;
  const out: { program: string; arg0?: string; args: string[]; env: Record<string, string> } = {
    program,
    args: [...args],
    env: sortedEnv,
  };
  if (typeof arg0 === "string") out.arg0 = arg0;
  return out;
}
