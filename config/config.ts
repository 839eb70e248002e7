/**
 * Layered configuration: each attribute's value comes from the highest layer
 * that sets it.
 *
 * ## Invariants (CF-*)
 * - **CF-2 (precedence).** A read returns the value of the highest layer that
 *   sets the attribute, in the order TestOverride > Env > Runtime > File >
 *   ClientOverride > Default.
 * - **CF-3 (scoped override).** A `config.override()` is undone when its
 *   handle is disposed, restoring exactly the previous TestOverride entry.
 * - **CF-4 (named env errors).** A malformed environment value fails the read
 *   of that attribute with an {@linkcode AttrParseError} naming the variable;
 *   other attributes are unaffected.
 * - **CF-5 (snapshot round trip).** `fromSnapshot(snapshot())` rebuilds the
 *   same effective values; unknown keys in a snapshot are ignored.
 *
 * @module
 */

import {
  type Attr,
  type AttrKind,
  AttrParseError,
  type AttrValueOf,
  isValueOfKind,
  parseAttrText,
} from "./attr.ts";
import * as declared from "./attrs.ts";

/** Configuration layers, highest precedence first. */
export const CONFIG_SOURCES = [
  "TestOverride",
  "Env",
  "Runtime",
  "File",
  "ClientOverride",
] as const;

/** A configuration layer (the Default layer is the attributes' declared defaults). */
export type ConfigSource = typeof CONFIG_SOURCES[number];

/** A JSON snapshot of attribute values keyed by wire name. */
export type ConfigSnapshot = Record<string, string | number | boolean>;

/** Every declared attribute, by wire key. */
export const ALL_ATTRS: ReadonlyMap<string, Attr> = new Map(
  Object.values(declared).map((a) => [a.key, a as Attr]),
);

/** A snapshot value that does not fit its attribute. */
export class ConfigValueError extends Error {
  /** The attribute's wire key. */
  readonly key: string;
  /**
   * Creates a ConfigValueError.
   * @param key Wire key.
   * @param value The rejected value.
   */
  constructor(key: string, value: unknown) {
    super(`Cannot set config key ${key}: ${JSON.stringify(value)} has the wrong type`);
    this.name = "ConfigValueError";
    this.key = key;
  }
}

/**
 * A layered configuration store. Most code uses the process-global
 * {@linkcode config}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Config } from "./config.ts";
 * import { MESH_TERMINATE_TIMEOUT } from "./attrs.ts";
 *
 * const cfg = new Config({ env: {} });
 * assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 10_000);
 * cfg.setLayer("ClientOverride", { [MESH_TERMINATE_TIMEOUT.key]: 2_000 });
 * assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 2_000);
 * {
 *   using _o = cfg.override(MESH_TERMINATE_TIMEOUT, 5);
 *   assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 5);
 * }
 * assertEquals(cfg.get(MESH_TERMINATE_TIMEOUT), 2_000);
 * ```
 */
export class Config {
  #layers = new Map<ConfigSource, Map<string, unknown>>();
  #envSource: (() => Record<string, string | undefined>) | Record<string, string | undefined>;
  #envLoaded = false;
  #envErrors = new Map<string, AttrParseError>();
  #generation = 0;

  /**
   * Creates a Config.
   * @param options `env`: the environment to read (default: `Deno.env`, read lazily on first use).
   */
  constructor(options: { env?: Record<string, string | undefined> } = {}) {
    this.#envSource = options.env ?? readProcessEnv;
    for (const source of CONFIG_SOURCES) this.#layers.set(source, new Map());
  }

  /**
   * A counter bumped by every change that may alter an effective value
   * (layer writes, overrides and their disposal, env (re)loads): hot paths
   * cache a value and re-read it only when the generation moved.
   * @returns The current generation.
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Config } from "./config.ts";
   * import { MESH_TERMINATE_TIMEOUT } from "./attrs.ts";
   * const cfg = new Config({ env: {} });
   * const before = cfg.generation;
   * cfg.setLayer("ClientOverride", { [MESH_TERMINATE_TIMEOUT.key]: 2_000 });
   * assert(cfg.generation !== before);
   * ```
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Reads an attribute's effective value (CF-2).
   * @param attr The attribute.
   * @returns Its value.
   * @throws {AttrParseError} When its environment variable is malformed (CF-4).
   */
  get<K extends AttrKind>(attr: Attr<K>): AttrValueOf[K] {
    this.#loadEnv();
    for (const source of CONFIG_SOURCES) {
      const layer = this.#layers.get(source)!;
      if (layer.has(attr.key)) return layer.get(attr.key) as AttrValueOf[K];
      if (source === "Env") {
        const error = this.#envErrors.get(attr.key);
        if (error) throw error; // CF-4
      }
    }
    return attr.default;
  }

  /**
   * Replaces a layer wholesale with the known keys of `values`.
   * @param source The layer.
   * @param values Values keyed by wire name; unknown keys are ignored.
   * @throws {ConfigValueError} When a value has the wrong type.
   */
  setLayer(source: ConfigSource, values: ConfigSnapshot): void {
    const next = new Map<string, unknown>();
    for (const [key, value] of Object.entries(values)) {
      const attr = ALL_ATTRS.get(key);
      if (!attr) continue; // CF-5: unknown keys are skipped
      if (!isValueOfKind(attr.kind, value)) throw new ConfigValueError(key, value);
      next.set(key, value);
    }
    if (source === "Env") this.#envLoaded = true;
    this.#layers.set(source, next);
    this.#generation++;
  }

  /**
   * Sets one attribute in a layer.
   * @param attr The attribute.
   * @param value Its value.
   * @param options `source`: the layer.
   * @throws {ConfigValueError} When `value` is not of the attribute's kind.
   */
  set<K extends AttrKind>(
    attr: Attr<K>,
    value: AttrValueOf[K],
    options: { source: ConfigSource },
  ): void {
    const { source } = options;
    if (!isValueOfKind(attr.kind, value)) throw new ConfigValueError(attr.key, value);
    this.#layers.get(source)!.set(attr.key, value);
    this.#generation++;
  }

  /**
   * Empties a layer.
   * @param source The layer.
   */
  clearLayer(source: ConfigSource): void {
    this.#layers.set(source, new Map());
    this.#generation++;
  }

  /**
   * Sets a TestOverride value until the returned handle is disposed (CF-3).
   * @param attr The attribute.
   * @param value Its value.
   * @returns A handle for `using`.
   */
  override<K extends AttrKind>(attr: Attr<K>, value: AttrValueOf[K]): Disposable {
    const layer = this.#layers.get("TestOverride")!;
    const had = layer.has(attr.key);
    const previous = layer.get(attr.key);
    this.set(attr, value, { source: "TestOverride" });
    return {
      [Symbol.dispose]: () => {
        const current = this.#layers.get("TestOverride")!;
        if (had) current.set(attr.key, previous);
        else current.delete(attr.key);
        this.#generation++;
      },
    };
  }

  /**
   * Re-reads the Env layer from the environment.
   */
  reloadEnv(): void {
    this.#envLoaded = false;
    this.#loadEnv();
  }

  /**
   * Problems found in the environment (one per malformed variable).
   * @returns The parse errors, each naming its variable.
   */
  envErrors(): AttrParseError[] {
    this.#loadEnv();
    return [...this.#envErrors.values()];
  }

  /**
   * Every attribute's effective value, defaults included (CF-5).
   * @param options `propagatableOnly`: only attributes that travel to children.
   * @returns Values keyed by wire name; malformed env values fall back to lower layers.
   */
  snapshot(options: { propagatableOnly?: boolean } = {}): ConfigSnapshot {
    const out: ConfigSnapshot = {};
    for (const attr of ALL_ATTRS.values()) {
      if (options.propagatableOnly && !attr.propagate) continue;
      out[attr.key] = this.#getLenient(attr);
    }
    return out;
  }

  /**
   * The snapshot of attributes that travel to child processes.
   * @returns Values keyed by wire name.
   */
  propagatableSnapshot(): ConfigSnapshot {
    return this.snapshot({ propagatableOnly: true });
  }

  #getLenient(attr: Attr): string | number | boolean {
    try {
      return this.get(attr);
    } catch {
      for (const source of CONFIG_SOURCES) {
        const layer = this.#layers.get(source)!;
        if (layer.has(attr.key)) return layer.get(attr.key) as string | number | boolean;
      }
      return attr.default;
    }
  }

  #loadEnv(): void {
    if (this.#envLoaded) return;
    this.#envLoaded = true;
    const env = typeof this.#envSource === "function" ? this.#envSource() : this.#envSource;
    const layer = new Map<string, unknown>();
    this.#envErrors.clear();
    for (const attr of ALL_ATTRS.values()) {
      if (!attr.env) continue;
      const text = env[attr.env];
      if (text === undefined) continue;
      try {
        layer.set(attr.key, parseAttrText(attr, text));
      } catch (error) {
        if (!(error instanceof AttrParseError)) throw error;
        this.#envErrors.set(attr.key, error);
      }
    }
    this.#layers.set("Env", layer);
    this.#generation++;
  }
}

function readProcessEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const attr of ALL_ATTRS.values()) {
    if (!attr.env) continue;
    try {
      out[attr.env] = Deno.env.get(attr.env);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
    }
  }
  return out;
}

/**
 * The process-global configuration.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attrs, config } from "./mod.ts";
 * using _o = config.override(attrs.MESH_TAIL_LOG_LINES, 5);
 * assertEquals(config.get(attrs.MESH_TAIL_LOG_LINES), 5);
 * ```
 */
export const config: Config = new Config();
