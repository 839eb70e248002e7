/**
 * Declaring typed configuration attributes.
 * @module
 */

import { formatDuration, parseDuration } from "./duration.ts";

/** The value kinds an attribute can hold. */
export type AttrKind = "duration" | "bool" | "int" | "string";

/** TypeScript type of each {@linkcode AttrKind}; durations are milliseconds. */
export interface AttrValueOf {
  /** Milliseconds. */
  duration: number;
  /** A boolean. */
  bool: boolean;
  /** A safe integer. */
  int: number;
  /** Text. */
  string: string;
}

/** A declared configuration attribute. */
export interface Attr<K extends AttrKind = AttrKind> {
  /** Wire name, e.g. `hyperactor::channel::message_delivery_timeout`. */
  readonly key: string;
  /** Environment variable read by the Env layer, if any. */
  readonly env?: string;
  /** Value kind. */
  readonly kind: K;
  /** Value when no layer sets one. */
  readonly default: AttrValueOf[K];
  /** What the attribute controls. */
  readonly doc: string;
  /** Whether it travels to child processes in bootstrap payloads (default true). */
  readonly propagate: boolean;
}

/**
 * Declares an attribute.
 *
 * @param spec The attribute's key, kind, default, env var and doc.
 * @returns The frozen attribute.
 * @throws {TypeError} When the default does not match the kind.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { defineAttr } from "./attr.ts";
 * const a = defineAttr({ key: "demo::x", kind: "int", default: 3, doc: "demo" });
 * assertEquals(a.propagate, true);
 * ```
 */
export function defineAttr<K extends AttrKind>(
  spec: Omit<Attr<K>, "propagate"> & { propagate?: boolean },
): Attr<K> {
  if (!isValueOfKind(spec.kind, spec.default)) {
    throw new TypeError(`Invalid default for attr ${spec.key}: ${String(spec.default)}`);
  }
  return Object.freeze({ ...spec, propagate: spec.propagate ?? true });
}

/**
 * Checks that `value` is a valid value of `kind`.
 * @param kind The expected kind.
 * @param value Any value.
 * @returns Whether it fits.
 */
export function isValueOfKind(kind: AttrKind, value: unknown): boolean {
  switch (kind) {
    case "duration":
      return typeof value === "number" && Number.isFinite(value) && value >= 0;
    case "int":
      return Number.isSafeInteger(value);
    case "bool":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
  }
}

/** A textual value (e.g. from the environment) that does not fit its attribute. */
export class AttrParseError extends Error {
  /** The attribute's wire key. */
  readonly key: string;
  /** The environment variable the text came from, if any. */
  readonly variable?: string;
  /** The rejected text. */
  readonly text: string;
  /**
   * Creates an AttrParseError.
   * @param attr The attribute.
   * @param text The rejected text.
   * @param options Cause.
   */
  constructor(attr: Attr, text: string, options?: ErrorOptions) {
    const where = attr.env ? `environment variable ${attr.env}` : `config key ${attr.key}`;
    super(`Cannot parse ${where}: "${text}" is not a valid ${attr.kind}`, options);
    this.name = "AttrParseError";
    this.key = attr.key;
    this.variable = attr.env;
    this.text = text;
  }
}

/**
 * Parses the textual form of an attribute value (env var syntax: bools accept
 * `0/1/true/false`, durations `10s`/`500ms`, ints decimal).
 *
 * @param attr The attribute.
 * @param text The text.
 * @returns The typed value.
 * @throws {AttrParseError} Naming the variable when the text does not fit.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { defineAttr, parseAttrText } from "./attr.ts";
 * const t = defineAttr({ key: "demo::t", kind: "duration", default: 0, doc: "demo" });
 * assertEquals(parseAttrText(t, "2m"), 120_000);
 * ```
 */
export function parseAttrText<K extends AttrKind>(attr: Attr<K>, text: string): AttrValueOf[K] {
  const t = text.trim();
  switch (attr.kind) {
    case "duration":
      try {
        return parseDuration(t) as AttrValueOf[K];
      } catch (cause) {
        throw new AttrParseError(attr, text, { cause });
      }
    case "bool": {
      const l = t.toLowerCase();
      if (l === "1" || l === "true") return true as AttrValueOf[K];
      if (l === "0" || l === "false") return false as AttrValueOf[K];
      throw new AttrParseError(attr, text);
    }
    case "int": {
      if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
        throw new AttrParseError(attr, text);
      }
      return Number(t) as AttrValueOf[K];
    }
    default:
      return text as AttrValueOf[K];
  }
}

/**
 * Formats a value in the textual form {@linkcode parseAttrText} accepts.
 * @param attr The attribute.
 * @param value A value of the attribute's kind.
 * @returns Its text.
 */
export function formatAttrValue<K extends AttrKind>(attr: Attr<K>, value: AttrValueOf[K]): string {
  if (attr.kind === "duration") return formatDuration(value as number);
  if (attr.kind === "bool") return value ? "1" : "0";
  return String(value);
}
