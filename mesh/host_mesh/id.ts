/**
 * Mesh identifiers of the host-mesh layer (the seed's `HostMeshId` /
 * `ProcMeshId` / `ResourceId`, reduced to their text form).
 *
 * A mesh id is a *singleton* `label` or an *instance* `label-<uid58>` (12
 * base-58 characters). Ids never contain `:`, `,` or `@`, so they fit the
 * `ID:HOSTS@REGION` text of a host mesh reference.
 *
 * @module
 */

const ALPHABET = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
const ID = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const LABEL_STRIP = /[^a-z0-9_-]/g;

/**
 * Whether `id` is a valid mesh id text (letters, digits, `_`, `-`; not
 * starting with `-`).
 * @param id The candidate.
 * @returns Whether valid.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isValidMeshId } from "./id.ts";
 * assert(isValidMeshId("test"));
 * assert(!isValidMeshId("a:b"));
 * ```
 */
export function isValidMeshId(id: string): boolean {
  return typeof id === "string" && id.length <= 200 && ID.test(id);
}

/**
 * Normalises a user label the way the seed's `Label::strip` does: lower
 * case, illegal characters dropped, leading non-letters trimmed, at most 63
 * characters; `"unnamed"` when nothing is left.
 * @param text Any text.
 * @returns A label.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stripLabel } from "./id.ts";
 * assertEquals(stripLabel("My Mesh!"), "mymesh");
 * assertEquals(stripLabel("--"), "unnamed");
 * ```
 */
export function stripLabel(text: string): string {
  let s = String(text).toLowerCase().replace(LABEL_STRIP, "");
  s = s.replace(/^[^a-z]+/, "").slice(0, 63).replace(/[-_]+$/, "");
  return s.length === 0 ? "unnamed" : s;
}

/**
 * A fresh instance id `label-<uid58>` (12 random base-58 characters).
 * @param label The display label (stripped with {@linkcode stripLabel}).
 * @returns The id text.
 * @example
 * ```ts
 * import { assert, assertNotEquals } from "@std/assert";
 * import { instanceId, isValidMeshId } from "./id.ts";
 * const a = instanceId("workers");
 * assert(a.startsWith("workers-") && isValidMeshId(a));
 * assertNotEquals(a, instanceId("workers"));
 * ```
 */
export function instanceId(label: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let uid = "";
  for (const b of bytes) uid += ALPHABET[b % ALPHABET.length];
  return `${stripLabel(label)}-${uid}`;
}

/**
 * The display label of an id: an instance id without its uid suffix.
 * @param id A mesh id.
 * @returns The label.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { displayLabel } from "./id.ts";
 * assertEquals(displayLabel("test-2MuAHeDjLCEd"), "test");
 * assertEquals(displayLabel("test"), "test");
 * ```
 */
export function displayLabel(id: string): string {
  const i = id.lastIndexOf("-");
  if (i > 0 && /^[1-9a-km-zA-HJ-NP-Z]{8,}$/.test(id.slice(i + 1))) return id.slice(0, i);
  return id;
}
