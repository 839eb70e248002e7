/**
 * Channel secrets: the shared key every unix/tcp link authenticates with
 * (see `_handshake.ts`), where a process gets it, and the checks on secret
 * files.
 *
 * A process holds a small keyring: a primary secret (offered first when
 * dialing, handed to the processes it spawns) and possibly extra accepted
 * secrets (e.g. the user's default secret once a client attaches to a
 * daemon). It is resolved when this module loads (so that every child
 * spawned afterwards inherits it), in this order:
 *
 * 1. {@linkcode setChannelSecret} (the `host` daemon, tests);
 * 2. {@linkcode CHANNEL_SECRET_ENV}, inherited from the parent: how hosts and
 *    procs spawned by `HostMesh.process`, a host daemon or a launcher get
 *    their parent's secret (never argv, never a file);
 * 3. {@linkcode INSECURE_ENV}`=1`: no authentication (loopback only, loud);
 * 4. the file named by {@linkcode SECRET_FILE_ENV};
 * 5. otherwise a fresh random secret that lives only in this process and
 *    the children it spawns (one per client process, shared by all the
 *    meshes it creates so their actors can reach each other).
 *
 * Whichever is resolved is exported into this process's environment as
 * {@linkcode CHANNEL_SECRET_ENV}, so every child inherits it.
 *
 * ## Invariants (AU-*)
 * - **AU-5 (secret files are private).** {@linkcode loadSecretFile} accepts
 *   only a regular file with no group/other permission bits and at least 16
 *   bytes of secret; anything else is a {@linkcode SecretFileError} naming
 *   the path.
 * - **AU-6 (default secret).** {@linkcode defaultSecretFile} is
 *   `$XDG_CONFIG_HOME/hypermesh/secret` (or `~/.config/hypermesh/secret`);
 *   {@linkcode loadDefaultSecret} creates it at first use: 32 random bytes
 *   as hex, mode 0600, in a 0700 directory.
 *
 * @module
 */

/** Names the secret file of a daemon or an attaching client (CONTRACT). */
export const SECRET_FILE_ENV = "HYPERMESH_SECRET_FILE";
/** `1`: run links without authentication (loopback only). */
export const INSECURE_ENV = "HYPERMESH_INSECURE";
/** Internal: a parent's secret (base64), inherited by its children. */
export const CHANNEL_SECRET_ENV = "HYPERMESH_CHANNEL_SECRET";

/** Shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

const encoder = new TextEncoder();

/**
 * A shared channel secret. Its bytes never leave the process except to
 * children (through {@linkcode CHANNEL_SECRET_ENV}); `toString()`/`toJSON()`
 * show only the key id (a fingerprint).
 *
 * @example
 * ```ts
 * import { assertEquals, assertNotEquals } from "@std/assert";
 * import { ChannelSecret } from "./secret.ts";
 * const a = ChannelSecret.generate();
 * assertNotEquals(a.keyIdHex, ChannelSecret.generate().keyIdHex);
 * assertEquals(ChannelSecret.fromEnv(a.toEnv()).keyIdHex, a.keyIdHex);
 * assertEquals(String(a).includes(a.toEnv()), false);
 * ```
 */
export class ChannelSecret {
  readonly #bytes: Uint8Array;
  #key: Promise<CryptoKey> | undefined;
  /** 8-byte fingerprint, sent in the clear to pick the key (reveals nothing usable). */
  readonly keyId: Uint8Array;
  /** `keyId` as hex. */
  readonly keyIdHex: string;

  private constructor(bytes: Uint8Array, keyId: Uint8Array) {
    this.#bytes = bytes;
    this.keyId = keyId;
    this.keyIdHex = [...keyId].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * A secret from raw bytes.
   * @param bytes At least {@linkcode MIN_SECRET_BYTES} bytes (copied).
   * @returns The secret.
   * @throws {RangeError} When too short.
   */
  static fromBytes(bytes: Uint8Array): ChannelSecret {
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new RangeError(`Invalid secret: ${bytes.length} bytes, need ${MIN_SECRET_BYTES}`);
    }
    const copy = bytes.slice();
    return new ChannelSecret(copy, keyIdOf(copy));
  }

  /**
   * A fresh random secret.
   * @returns 32 fresh random bytes.
   */
  static generate(): ChannelSecret {
    return ChannelSecret.fromBytes(crypto.getRandomValues(new Uint8Array(32)));
  }

  /**
   * A secret from the text of a secret file.
   * @param text The content of a secret file; surrounding whitespace is ignored.
   * @returns The secret (its UTF-8 bytes).
   * @throws {RangeError} When shorter than {@linkcode MIN_SECRET_BYTES}.
   */
  static fromText(text: string): ChannelSecret {
    return ChannelSecret.fromBytes(encoder.encode(text.trim()));
  }

  /**
   * A secret from its env form.
   * @param text The output of {@linkcode ChannelSecret.toEnv}.
   * @returns The secret.
   */
  static fromEnv(text: string): ChannelSecret {
    return ChannelSecret.fromBytes(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
  }

  /**
   * The env form, for children only.
   * @returns Base64 of the bytes.
   */
  toEnv(): string {
    return btoa(String.fromCharCode(...this.#bytes));
  }

  /**
   * The Web Crypto key of this secret.
   * @returns The HMAC-SHA256 key (imported once).
   */
  hmacKey(): Promise<CryptoKey> {
    return this.#key ??= crypto.subtle.importKey(
      "raw",
      this.#bytes as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }

  /**
   * Text form without the secret.
   * @returns `secret <keyid>`.
   */
  toString(): string {
    return `secret ${this.keyIdHex}`;
  }

  /**
   * JSON form without the secret.
   * @returns `secret <keyid>` (never the bytes).
   */
  toJSON(): string {
    return this.toString();
  }
}

// A synchronous fingerprint (FNV-1a over a domain tag + the secret, twice with
// different seeds): only a selector, the handshake's HMAC is the proof.
function keyIdOf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  for (const [slot, seed] of [[0, 0x811c9dc5], [4, 0x01000193 ^ 0x5bd1e995]] as const) {
    let h = seed >>> 0;
    for (const b of encoder.encode("hypermesh-key-id")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    view.setUint32(slot, h);
  }
  return out;
}

/** A secret file that cannot be used (AU-5). */
export class SecretFileError extends Error {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   * @param path The file.
   * @param why What is wrong with it.
   * @param options `cause`.
   */
  constructor(path: string, why: string, options?: ErrorOptions) {
    super(`Cannot use secret file "${path}": ${why}`, options);
    this.name = "SecretFileError";
    this.path = path;
  }
}

/**
 * Reads a secret file (AU-5).
 * @param path The file.
 * @returns The secret.
 * @throws {SecretFileError} Missing, not a regular file, readable or writable
 * by group/others, or too short.
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { loadSecretFile, SecretFileError } from "./secret.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "0123456789abcdef0123\n");
 * Deno.chmodSync(path, 0o644);
 * assertThrows(() => loadSecretFile(path), SecretFileError, "group");
 * Deno.chmodSync(path, 0o600);
 * loadSecretFile(path);
 * Deno.removeSync(path);
 * ```
 */
export function loadSecretFile(path: string): ChannelSecret {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound ? "no such file" : `cannot stat (${cause})`;
    throw new SecretFileError(path, why, { cause });
  }
  if (!info.isFile) throw new SecretFileError(path, "not a regular file");
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new SecretFileError(
      path,
      `mode ${(info.mode & 0o777).toString(8)} lets group or others access it (chmod 600)`,
    );
  }
  if (info.uid !== null && typeof Deno.uid === "function") {
    const me = Deno.uid();
    if (me !== null && info.uid !== me && me !== 0) {
      throw new SecretFileError(path, `owned by uid ${info.uid}, not by this user (${me})`);
    }
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (cause) {
    throw new SecretFileError(path, `cannot read (${cause})`, { cause });
  }
  try {
    return ChannelSecret.fromText(text);
  } catch (cause) {
    throw new SecretFileError(path, `shorter than ${MIN_SECRET_BYTES} bytes`, { cause });
  }
}

/**
 * The per-user default secret file (AU-6).
 * @returns `$XDG_CONFIG_HOME/hypermesh/secret`, else `$HOME/.config/hypermesh/secret`.
 * @throws {SecretFileError} When neither variable is set.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultSecretFile } from "./secret.ts";
 * assert(defaultSecretFile().endsWith("/hypermesh/secret"));
 * ```
 */
export function defaultSecretFile(): string {
  const xdg = Deno.env.get("XDG_CONFIG_HOME");
  if (xdg) return `${xdg}/hypermesh/secret`;
  const home = Deno.env.get("HOME");
  if (home) return `${home}/.config/hypermesh/secret`;
  throw new SecretFileError("~/.config/hypermesh/secret", "neither XDG_CONFIG_HOME nor HOME set");
}

/**
 * Loads the default secret file, creating it (random, 0600, in a 0700
 * directory) at first use (AU-6).
 * @param path The file (default {@linkcode defaultSecretFile}).
 * @returns The secret.
 * @throws {SecretFileError} When it exists but fails AU-5.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loadDefaultSecret } from "./secret.ts";
 * const dir = Deno.makeTempDirSync();
 * const a = loadDefaultSecret(`${dir}/hypermesh/secret`);
 * assertEquals(Deno.statSync(`${dir}/hypermesh/secret`).mode! & 0o777, 0o600);
 * assertEquals(loadDefaultSecret(`${dir}/hypermesh/secret`).keyIdHex, a.keyIdHex);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function loadDefaultSecret(path: string = defaultSecretFile()): ChannelSecret {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hex = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  try {
    // createNew: two processes racing both end up reading the one winner.
    Deno.writeTextFileSync(path, `${hex}\n`, { createNew: true, mode: 0o600 });
    Deno.chmodSync(path, 0o600); // the umask cannot widen it, but may narrow it
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new SecretFileError(path, `cannot create (${error})`, { cause: error });
    }
  }
  return loadSecretFile(path);
}

/** How a daemon or an attaching client picks its secret. */
export interface UserSecretOptions {
  /** `--secret-file`: wins over {@linkcode SECRET_FILE_ENV}. */
  secretFile?: string;
  /** `--insecure` (or {@linkcode INSECURE_ENV}`=1`): no authentication. */
  insecure?: boolean;
  /** The address to be served: insecure is refused unless it is loopback or unix. */
  addr?: { transport: string; host?: string; key: string };
}

/**
 * Installs the secret of a host daemon or a client that attaches to one:
 * `--secret-file`, else `HYPERMESH_SECRET_FILE`, else the secret inherited
 * from a hypermesh parent process, else the per-user default file (created
 * at first use, AU-6); or none with `--insecure` (AU-7). The
 * process's previous primary secret stays accepted and offered.
 * @param options See {@linkcode UserSecretOptions}.
 * @returns The secret, or `null` when insecure.
 * @throws {SecretFileError} For a bad file (AU-5).
 * @throws {RangeError} For `insecure` with a non-loopback tcp address.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelSecret, channelSecrets, setChannelSecret, useUserSecret } from "./secret.ts";
 * const prev = channelSecrets()![0];
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, ChannelSecret.generate().toEnv());
 * Deno.chmodSync(path, 0o600);
 * const s = useUserSecret({ secretFile: path });
 * assertEquals(channelSecrets()![0], s); // primary; the previous one stays accepted
 * setChannelSecret(prev);
 * Deno.removeSync(path);
 * ```
 */
export function useUserSecret(options: UserSecretOptions = {}): ChannelSecret | null {
  const insecure = options.insecure ?? env(INSECURE_ENV) === "1";
  if (insecure) {
    const a = options.addr;
    if (
      a !== undefined && (a.transport === "tcp" || a.transport === "tls") &&
      !isLoopbackHost(a.host ?? "")
    ) {
      throw new RangeError(
        `Cannot run insecure on "${a.key}": without authentication only loopback or unix addresses are allowed`,
      );
    }
    setChannelSecret(null);
    warnInsecure(a === undefined ? "--insecure" : `--insecure on ${a.key}`);
    return null;
  }
  const file = options.secretFile ?? env(SECRET_FILE_ENV);
  const inherited = inheritedSecret;
  // A daemon started by a hypermesh process (tests, tooling) keeps that process's secret.
  const secret = file
    ? loadSecretFile(file)
    : inherited
    ? ChannelSecret.fromEnv(inherited)
    : loadDefaultSecret();
  const prev = keyring ?? [];
  keyring = [secret, ...prev.filter((k) => k.keyIdHex !== secret.keyIdHex)];
  exportToEnv();
  return secret;
}

/** The process keyring: `undefined` = not resolved yet; `null` = insecure. */
let keyring: ChannelSecret[] | null | undefined;
let warnedInsecure = false;

/**
 * Installs this process's primary secret (or `null`: insecure) and exports it
 * to children. Affects links set up afterwards.
 * @param secret The secret, or `null` to run without authentication.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelSecret, channelSecrets, setChannelSecret } from "./secret.ts";
 * const prev = channelSecrets();
 * const s = ChannelSecret.generate();
 * setChannelSecret(s);
 * assertEquals(channelSecrets()?.[0], s);
 * setChannelSecret(prev?.[0] ?? null);
 * ```
 */
export function setChannelSecret(secret: ChannelSecret | null): void {
  keyring = secret === null ? null : [secret];
  exportToEnv();
}

/**
 * Adds an extra secret this process accepts and offers (after the primary).
 * @param secret The secret.
 */
export function addChannelSecret(secret: ChannelSecret): void {
  const ring = channelSecrets();
  if (ring === null) {
    keyring = [secret];
    exportToEnv();
  } else if (!ring.some((k) => k.keyIdHex === secret.keyIdHex)) {
    keyring = [...ring, secret];
  }
}

/**
 * This process's keyring, resolved on first use (see the module doc).
 * @returns The secrets, primary first; `null` when running insecure.
 * @throws {SecretFileError} When `HYPERMESH_SECRET_FILE` names a bad file.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { channelSecrets } from "./secret.ts";
 * assert(channelSecrets()!.length >= 1);
 * ```
 */
export function channelSecrets(): readonly ChannelSecret[] | null {
  if (keyring !== undefined) return keyring;
  const inherited = env(CHANNEL_SECRET_ENV);
  if (inherited) {
    keyring = [ChannelSecret.fromEnv(inherited)];
  } else if (env(INSECURE_ENV) === "1") {
    keyring = null;
  } else {
    const file = env(SECRET_FILE_ENV);
    keyring = [file ? loadSecretFile(file) : ChannelSecret.generate()];
  }
  exportToEnv();
  return keyring;
}

/**
 * Reports insecure mode once per process, loudly, on stderr.
 * @param where What runs without authentication.
 */
export function warnInsecure(where: string): void {
  if (warnedInsecure) return;
  warnedInsecure = true;
  console.error(
    `[hypermesh] WARNING: channel authentication is OFF (${where}): ` +
      `anyone who can reach this process's sockets can command it`,
  );
}

/**
 * @param host A tcp host.
 * @returns Whether it is a loopback address.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isLoopbackHost } from "./secret.ts";
 * assertEquals([isLoopbackHost("127.0.0.1"), isLoopbackHost("10.0.0.1")], [true, false]);
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission
  }
}

function exportToEnv(): void {
  try {
    if (keyring === null) {
      Deno.env.delete(CHANNEL_SECRET_ENV);
      Deno.env.set(INSECURE_ENV, "1");
    } else if (keyring !== undefined) {
      Deno.env.set(CHANNEL_SECRET_ENV, keyring[0].toEnv());
      Deno.env.delete(INSECURE_ENV);
    }
  } catch {
    // no env permission: children must be given the secret explicitly
  }
}

// What the parent handed down, before this process exports its own.
const inheritedSecret = env(CHANNEL_SECRET_ENV);

// Resolved at load, not at the first link: a child spawned before this
// process opens any link must already inherit the secret.
try {
  channelSecrets();
} catch {
  // a bad HYPERMESH_SECRET_FILE: reported at the first link, which resolves again
}
