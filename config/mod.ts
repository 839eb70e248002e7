/**
 * Typed configuration attributes, layered sources and duration parsing.
 *
 * Every knob hypermesh reads is declared once in {@linkcode attrs} with its
 * default, environment variable and meaning, and read through the layered
 * process-global {@linkcode config}: TestOverride > Env > Runtime > File >
 * ClientOverride > Default.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { attrs, config, parseDuration } from "./mod.ts";
 * assertEquals(config.get(attrs.MESH_ORPHAN_TIMEOUT) >= 0, true);
 * assertEquals(parseDuration("2m"), 120_000);
 * ```
 * @module
 */

export * from "./attr.ts";
export * from "./duration.ts";
export * from "./config.ts";
import * as attrs from "./attrs.ts";
export { attrs };
