/**
 * Folder-private, minimal typed facade over `dbus-next` (an npm package without usable
 * types under this import map), limited to what the systemd launcher needs: one
 * connection with bounded calls, signal delivery, and the
 * `org.freedesktop.systemd1.Manager` methods as typed functions.
 *
 * Why a facade: `dbus-next` calls never time out and are never rejected when the socket
 * dies, its `disconnect()` only half-closes the socket (Deno's resource sanitizer then sees
 * a leaked socket), and an `error` event without a listener throws. {@linkcode DbusConnection}
 * rejects pending calls on loss, bounds each call, and closes by destroying the socket and
 * awaiting its `close` event.
 * @module
 */

import dbus from "dbus-next";

/** Well-known D-Bus / systemd error names the launcher distinguishes. */
export const DBUS_ERRORS = {
  noSuchUnit: "org.freedesktop.systemd1.NoSuchUnit",
  noSuchProcess: "org.freedesktop.systemd1.NoSuchProcess",
  unitInactive: "org.freedesktop.systemd1.UnitInactive",
  loadFailed: "org.freedesktop.systemd1.LoadFailed",
  unknownObject: "org.freedesktop.DBus.Error.UnknownObject",
  unknownMethod: "org.freedesktop.DBus.Error.UnknownMethod",
  serviceUnknown: "org.freedesktop.DBus.Error.ServiceUnknown",
  nameHasNoOwner: "org.freedesktop.DBus.Error.NameHasNoOwner",
  spawnChildExited: "org.freedesktop.DBus.Error.Spawn.ChildExited",
  noReply: "org.freedesktop.DBus.Error.NoReply",
  timeout: "org.freedesktop.DBus.Error.Timeout",
  accessDenied: "org.freedesktop.DBus.Error.AccessDenied",
  authFailed: "org.freedesktop.DBus.Error.AuthFailed",
  interactiveAuth: "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
  disconnected: "org.freedesktop.DBus.Error.Disconnected",
} as const;

/** An error reply to a D-Bus call (or a local timeout / disconnect named like one). */
export class DbusError extends Error {
  /** The D-Bus error name, e.g. `org.freedesktop.systemd1.NoSuchUnit`. */
  readonly errorName: string;
  /** The called member, e.g. `StopUnit`. */
  readonly member: string;
  constructor(member: string, errorName: string, text: string, options?: ErrorOptions) {
    super(`Cannot call ${member}: ${errorName}${text ? ` (${text})` : ""}`, options);
    this.name = "DbusError";
    this.errorName = errorName;
    this.member = member;
  }
}

/** The bus could not be reached, refused the handshake, or went away. */
export class DbusConnectionError extends Error {
  /** The address dialled. */
  readonly address: string;
  /** `true` when the handshake (authentication) failed rather than the socket. */
  readonly authFailed: boolean;
  /** What went wrong, without the "Cannot …" prefix. */
  readonly state: string;
  constructor(address: string, state: string, authFailed: boolean, options?: ErrorOptions) {
    super(`Cannot use the D-Bus session bus at "${address}": ${state}`, options);
    this.name = "DbusConnectionError";
    this.address = address;
    this.state = state;
    this.authFailed = authFailed;
  }
}

/** A D-Bus value tagged with its signature (a `dbus-next` Variant). */
export type Variant = { signature: string; value: unknown };

/**
 * Builds a `dbus-next` Variant.
 * @param signature D-Bus type signature (`t` needs a bigint).
 * @param value the value.
 * @returns the variant.
 */
export function variant(signature: string, value: unknown): Variant {
  return new dbus.Variant(signature, value) as Variant;
}

/** Unwraps a variant (returns non-variants unchanged). */
export function unwrap(v: unknown): unknown {
  return v instanceof dbus.Variant ? (v as Variant).value : v;
}

/** A method call. */
export interface DbusCall {
  /** Bus name of the callee. */
  destination: string;
  /** Object path. */
  path: string;
  /** Interface name. */
  interface: string;
  /** Member (method) name. */
  member: string;
  /** Body signature ("" for none). */
  signature?: string;
  /** Body values. */
  body?: unknown[];
}

/** A received signal. */
export interface DbusSignal {
  /** Object path. */
  path: string;
  /** Interface name. */
  interface: string;
  /** Member (signal) name. */
  member: string;
  /** Body values. */
  body: unknown[];
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** One connection to a bus, with bounded calls and a clean close. */
export class DbusConnection {
  readonly address: string;
  #bus: Any;
  #pending = new Set<(error: Error) => void>();
  #handlers = new Set<(signal: DbusSignal) => void>();
  #lost: Error | undefined;
  #closed: Promise<void>;
  #callTimeoutMs: number;

  private constructor(address: string, bus: Any, callTimeoutMs: number) {
    this.address = address;
    this.#bus = bus;
    this.#callTimeoutMs = callTimeoutMs;
    const stream = bus._connection.stream;
    this.#closed = new Promise((resolve) => stream.once("close", () => resolve()));
    const lose = (error: Error) => {
      this.#lost ??= error;
      for (const reject of [...this.#pending]) reject(this.#lost);
      this.#pending.clear();
    };
    bus.on(
      "error",
      (e: Error) => lose(new DbusConnectionError(address, `${e?.message}`, false, { cause: e })),
    );
    stream.on(
      "close",
      () => lose(new DbusConnectionError(address, "the connection is closed", false)),
    );
    bus.on("message", (msg: Any) => {
      if (msg.type !== dbus.MessageType.SIGNAL) return;
      const signal: DbusSignal = {
        path: msg.path,
        interface: msg.interface,
        member: msg.member,
        body: msg.body ?? [],
      };
      for (const handler of [...this.#handlers]) handler(signal);
    });
  }

  /**
   * Connects and completes the `Hello` handshake.
   * @param address bus address (`unix:path=…`); default `$DBUS_SESSION_BUS_ADDRESS`.
   * @param options `signal` to abort; `timeoutMs` bounds the handshake and every call.
   * @returns the open connection.
   * @throws {DbusConnectionError} when there is no address, nothing listens, or the
   *   handshake fails.
   */
  static async open(
    address: string | undefined,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<DbusConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const addr = address ?? Deno.env.get("DBUS_SESSION_BUS_ADDRESS");
    if (addr === undefined || addr.trim() === "") {
      throw new DbusConnectionError("", "DBUS_SESSION_BUS_ADDRESS is not set", false);
    }
    options.signal?.throwIfAborted();
    let bus: Any;
    try {
      bus = dbus.sessionBus({ busAddress: addr });
    } catch (error) {
      throw new DbusConnectionError(addr, `invalid address (${(error as Error).message})`, false, {
        cause: error,
      });
    }
    const conn = new DbusConnection(addr, bus, timeoutMs);
    let onAbort = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        bus.once("connect", () => resolve());
        bus.once("error", (e: Error) => {
          const auth = /authentication methods|rejected|auth/i.test(`${e?.message}`);
          reject(new DbusConnectionError(addr, `${e?.message ?? e}`, auth, { cause: e }));
        });
        bus._connection.stream.once("close", () => {
          reject(
            new DbusConnectionError(
              addr,
              "the connection closed during the handshake",
              false,
            ),
          );
        });
        timer = setTimeout(
          () => reject(new DbusConnectionError(addr, `no handshake within ${timeoutMs} ms`, false)),
          timeoutMs,
        );
        onAbort = () => reject(options.signal!.reason);
        options.signal?.addEventListener("abort", onAbort, { once: true });
      });
    } catch (error) {
      await conn.close();
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
    return conn;
  }

  /**
   * Calls a method and returns the reply body.
   * @param call the call.
   * @returns the reply body.
   * @throws {DbusError} on an error reply or after the call timeout (`…Error.NoReply`).
   * @throws {DbusConnectionError} when the connection is (or gets) lost.
   */
  call(call: DbusCall): Promise<unknown[]> {
    if (this.#lost) return Promise.reject(this.#lost);
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(
          new DbusError(
            call.member,
            DBUS_ERRORS.noReply,
            `no reply within ${this.#callTimeoutMs} ms`,
          ),
        );
      }, this.#callTimeoutMs);
      const fail = (error: Error) => {
        done();
        reject(error);
      };
      const done = () => {
        clearTimeout(timer);
        this.#pending.delete(fail);
      };
      this.#pending.add(fail);
      let message: Any;
      try {
        message = new dbus.Message({
          ...call,
          signature: call.signature ?? "",
          body: call.body ?? [],
        });
      } catch (error) {
        done();
        reject(
          new TypeError(
            `Cannot call ${call.member}: invalid message (${(error as Error).message})`,
          ),
        );
        return;
      }
      Promise.resolve().then(() => this.#bus.call(message)).then(
        (reply: Any) => {
          done();
          resolve(reply?.body ?? []);
        },
        (error: Any) => {
          done();
          if (error instanceof dbus.DBusError) {
            reject(new DbusError(call.member, error.type, error.text, { cause: error }));
          } else reject(this.#lost ?? error);
        },
      );
    });
  }

  /**
   * Registers a signal handler (add a match rule with {@linkcode addMatch} first).
   * @param handler called for every received signal.
   * @returns a function removing the handler.
   */
  onSignal(handler: (signal: DbusSignal) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /**
   * Adds a match rule on the bus daemon.
   * @param rule e.g. `type='signal',interface='…'`.
   */
  async addMatch(rule: string): Promise<void> {
    await this.call({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member: "AddMatch",
      signature: "s",
      body: [rule],
    });
  }

  /** The error that ended the connection, if it ended. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /** Destroys the socket and waits for it to close; idempotent. */
  async close(): Promise<void> {
    this.#handlers.clear();
    this.#lost ??= new DbusConnectionError(this.address, "the connection is closed", false);
    const stream = this.#bus._connection.stream;
    this.#bus._signals?.removeAllListeners?.();
    if (!stream.destroyed) stream.destroy();
    await this.#closed;
  }
}

/** Whether `error` is a D-Bus error reply named one of `names` (any name when none given). */
export function isDbusError(error: unknown, ...names: string[]): error is DbusError {
  return error instanceof DbusError && (names.length === 0 || names.includes(error.errorName));
}
