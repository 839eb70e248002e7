/**
 * The admin HTTP API: {@linkcode serveAdmin} spawns a `mesh_admin` actor
 * (`spawnAdmin`) and serves it with `Deno.serve` at
 * `HYPERACTOR_MESH_ADMIN_ADDR` (default `127.0.0.1:1729`, loopback only;
 * `127.0.0.1:0` picks a free port):
 *
 * | route | body |
 * |---|---|
 * | `GET /v1/tree` | `AdminNode`: root → hosts → procs → actors with statuses and metrics |
 * | `GET /v1/hosts` | `Host[]`: the hosts without their procs (`numProcs`) |
 * | `GET /v1/procs/{procId}` | `AdminNode`: one proc with its actors (404 when unknown) |
 * | `GET /v1/config` | `Config`: the admin's and every host's effective config, secrets redacted |
 * | `GET /v1/events` | `text/event-stream` of `AdminEvent`s (`events.ts`); `Last-Event-ID` resumes |
 * | `GET /v1/openapi.json` | the OpenAPI 3.1 document of all of the above (no token needed) |
 * | `GET /` | the live web page (static files of `web/`) |
 *
 * `AdminNode` is `{ identity, nodeType: "root"|"host"|"proc"|"actor"|"error",
 * properties, children }` (`mesh/admin.ts`): a host's properties are `addr`,
 * `mode`, `state`, `numProcs`; a proc's `name`, `createRank`, `status`,
 * `pid`, `uptimeMs`, `rssBytes`, `cpuTimeMs`, `cpuPercent` (AW-1), and
 * `stderrTail` once it exited; an actor's `type`, `status`,
 * `messagesProcessed`, `mailboxDepth` (AW-2); an error node's `message`
 * (and, for a host, `addr`). These shapes are stable: fields may be added,
 * never renamed.
 *
 * **The token.** Requests carry the mesh secret as `Authorization: Bearer
 * <token>` (or `?token=`, for an `EventSource`): `<token>` is the secret's
 * bytes as lower-case hex ({@linkcode adminToken}, what `bootstrap.ts admin`
 * and `demo --admin` print and write to a 0600 file); the base64 form of
 * `HYPERMESH_CHANNEL_SECRET` is accepted too. Any secret of this process's
 * keyring is accepted.
 *
 * Events come from the owners' `MeshFailure`s as they are learned (AW-8) and
 * from comparing successive trees, one every `pollMs` (AW-3).
 *
 * ## Invariants (AW-*)
 * - **AW-5 (bearer token).** When the process has channel secrets, every
 *   `/v1/` route but the OpenAPI document answers 401 with nothing but
 *   `{"error":"unauthorized"}` unless the request carries one of them as a
 *   token; without secrets (an insecure mesh) the server refuses to bind
 *   anything but a loopback address.
 * - **AW-6 (loopback by default).** Without `HYPERACTOR_MESH_ADMIN_ADDR` or
 *   an `addr` option, the server binds `127.0.0.1` only; all interfaces only
 *   when configured so.
 * - **AW-7 (never a failed request).** An unreachable host or proc is an
 *   error node in `/v1/tree` (MA-R1) and an error entry in `/v1/config`;
 *   the request itself answers 200.
 * - **AW-10 (bounded).** At most `maxRequests` requests (default 64) are
 *   served at once and at most `maxEventClients` (default 16) event streams
 *   are open; more answer 503. Concurrent tree requests share one
 *   `GetTree`. The event window is bounded (AW-4). `close()` ends every
 *   stream and the poller, and resolves once the listener is closed.
 *
 * @module
 */

import type { ActorRef } from "../../actor/port.ts";
import { request } from "../../actor/request.ts";
import type { Context } from "../../actor/types.ts";
import { channelSecrets, isLoopbackHost } from "../../channel/secret.ts";
import { MESH_ADMIN_ADDR } from "../../config/attrs.ts";
import { config, type ConfigSnapshot } from "../../config/config.ts";
import {
  type AdminNode,
  aggregateHosts,
  type MeshAdminAgent,
  spawnAdmin,
  type SpawnAdminOptions,
} from "../admin.ts";
import type { HostMeshRef } from "../host_mesh/host_mesh_ref.ts";
import { observeMeshFailures } from "../supervision/observe.ts";
import { type AdminEvent, AdminEventLog } from "./events.ts";
import { adminOpenApi } from "./openapi.ts";

/** Options of {@linkcode serveAdmin}. */
export interface ServeAdminOptions extends SpawnAdminOptions {
  /** `HOST:PORT` to bind (default `HYPERACTOR_MESH_ADMIN_ADDR`; port 0 picks one). */
  addr?: string;
  /** Tree comparison period for `/v1/events`, ms (default 1000). */
  pollMs?: number;
  /** Events retained for `Last-Event-ID` resumption (default 512). */
  eventWindow?: number;
  /** Requests served at once (default 64); more answer 503 (AW-10). */
  maxRequests?: number;
  /** Open `/v1/events` streams (default 16); more answer 503 (AW-10). */
  maxEventClients?: number;
}

/** A running admin server; dispose it to stop serving. */
export interface AdminServer extends AsyncDisposable {
  /** `http://HOST:PORT` it serves. */
  readonly url: string;
  /** The bearer token (hex; `""` on an insecure mesh). */
  readonly token: string;
  /** The web page's address with the token in its fragment (never sent to the server). */
  readonly pageUrl: string;
  /** The admin actor. */
  readonly admin: ActorRef<MeshAdminAgent>;
  /** The event log behind `/v1/events`. */
  readonly events: AdminEventLog;
  /** Stops serving, ends the event streams and the poller. */
  close(): Promise<void>;
}

const REDACTED = "[redacted]";
const SECRET_KEY = /secret|token|password|credential|private_key/i;
const WEB_FILES: Record<string, [file: string, type: string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};

/**
 * Splits `HOST:PORT` (or `[V6]:PORT`) text.
 * @param addr The address.
 * @returns Hostname and port.
 * @throws {TypeError} For text without a numeric port.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseAdminAddr } from "./server.ts";
 * assertEquals(parseAdminAddr("[::1]:1729"), { hostname: "::1", port: 1729 });
 * assertEquals(parseAdminAddr("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
 * ```
 */
export function parseAdminAddr(addr: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr.trim());
  if (m === null || m[1] === "" || Number(m[2]) > 65535) {
    throw new TypeError(`Invalid admin address: "${addr}" (expected HOST:PORT)`);
  }
  return { hostname: m[1], port: Number(m[2]) };
}

/**
 * The config snapshot with secret-looking keys redacted.
 * @param values A config snapshot.
 * @returns A copy, secrets replaced by `[redacted]`.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { redactConfig } from "./server.ts";
 * assertEquals(redactConfig({ a: 1, channel_secret: "x" }), { a: 1, channel_secret: "[redacted]" });
 * ```
 */
export function redactConfig(values: ConfigSnapshot): ConfigSnapshot {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : v]),
  );
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The admin API's bearer token: this process's primary channel secret as
 * lower-case hex (AW-5); `""` on an insecure mesh.
 * @returns The token.
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { adminToken } from "./server.ts";
 * assertMatch(adminToken(), /^([0-9a-f]{32,})?$/);
 * ```
 */
export function adminToken(): string {
  const primary = channelSecrets()?.[0];
  if (primary === undefined) return "";
  return hex(Uint8Array.from(atob(primary.toEnv()), (c) => c.charCodeAt(0)));
}

/**
 * Writes `token` to `path` readable by its owner only (mode 0600), as
 * `bootstrap.ts admin --token-file` and `demo --admin` do.
 * @param path The file (replaced when it exists).
 * @param token The token.
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeTokenFile } from "./server.ts";
 * const path = Deno.makeTempFileSync();
 * writeTokenFile(path, "abc");
 * assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
 * Deno.removeSync(path);
 * ```
 */
export function writeTokenFile(path: string, token: string): void {
  Deno.writeTextFileSync(path, "", { mode: 0o600 });
  Deno.chmodSync(path, 0o600); // `mode` applies to a new file only: an old one may be wider
  Deno.writeTextFileSync(path, `${token}\n`); // only after the mode is private
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Whether `req` carries an accepted bearer token (AW-5).
 * @param req The request.
 * @param url Its parsed URL.
 * @returns True when authorized, or when the process has no secrets.
 */
function authorized(req: Request, url: URL): boolean {
  const secrets = channelSecrets();
  if (secrets === null || secrets.length === 0) return true; // insecure mesh: loopback only
  const header = req.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ")
    ? header.slice(7).trim()
    : url.searchParams.get("token");
  if (!token) return false;
  let ok = false;
  for (const s of secrets) {
    const env = s.toEnv();
    const asHex = hex(Uint8Array.from(atob(env), (c) => c.charCodeAt(0)));
    ok = sameText(asHex, token.toLowerCase()) || sameText(env, token) || ok;
  }
  return ok;
}

function findProc(node: AdminNode, procId: string): AdminNode | undefined {
  if (node.nodeType === "proc" && node.identity === procId) return node;
  for (const child of node.children) {
    const found = findProc(child, procId);
    if (found !== undefined) return found;
  }
  return undefined;
}

const encoder = new TextEncoder();

function sse(event: AdminEvent): Uint8Array {
  return encoder.encode(
    `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`,
  );
}

/** The `Last-Event-ID` of a (re)connecting reader, or `undefined` for a new one. */
function lastEventId(req: Request, url: URL): number | undefined {
  const text = req.headers.get("last-event-id") ?? url.searchParams.get("lastEventId");
  if (text === null || text.trim() === "") return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/**
 * Spawns the admin actor on `cx`'s proc (as `spawnAdmin`) and serves the
 * admin HTTP API and the web page (AW-5..AW-7, AW-10). The admin only reads:
 * it works as well for a mesh another process owns (`bootstrap.ts admin`),
 * whose failures then reach `/v1/events` through the tree polls only.
 * @param meshes One or more host meshes.
 * @param cx The caller (the admin runs on its proc).
 * @param options Address, poll period, event window, bounds, and
 * `spawnAdmin`'s options.
 * @returns The running server.
 * @throws {Error} As `spawnAdmin`; `Cannot serve the mesh admin at …` when
 * the address is taken, invalid, or not loopback on an insecure mesh.
 * @example
 * ```ts ignore
 * await using server = await serveAdmin([hosts.ref], cx);
 * console.log(`admin at ${server.pageUrl}`);
 * ```
 */
export async function serveAdmin(
  meshes: Iterable<HostMeshRef>,
  cx: Context,
  options: ServeAdminOptions = {},
): Promise<AdminServer> {
  const list = [...meshes];
  const addrText = options.addr ?? config.get(MESH_ADMIN_ADDR); // AW-6
  let hostname: string, port: number;
  try {
    ({ hostname, port } = parseAdminAddr(addrText));
  } catch (error) {
    throw new Error(`Cannot serve the mesh admin at ${addrText}: ${(error as Error).message}`);
  }
  const secure = (channelSecrets()?.length ?? 0) > 0;
  if (!secure && !isLoopbackHost(hostname)) {
    throw new Error(
      `Cannot serve the mesh admin at ${addrText}: the mesh has no secret, so only a loopback address is allowed (AW-5)`,
    );
  }
  const admin = await spawnAdmin(list, cx, options);
  const hostEntries = aggregateHosts(list, options.clientHost?.hostEntries());
  const timeoutMs = (options.queryTimeoutMs ?? 5_000) + 1_000;
  let inflightTree: Promise<AdminNode> | undefined;
  const tree = () =>
    inflightTree ??= request<AdminNode>(cx, "GetTree", (reply) => {
      admin.send(cx, "GetTree", { reply: { port: reply, returnUndeliverable: false } });
    }, { timeoutMs }).finally(() => inflightTree = undefined); // AW-10: one at a time
  const hostConfigs = () =>
    Promise.all(hostEntries.map(async ([addr, agent]) => {
      const identity = `host:${agent.actorId.key}`;
      try {
        const values = await request<ConfigSnapshot>(cx, "GetConfig", (reply) => {
          agent.port("GetConfig" as never).withReturnUndeliverable(false).send(
            cx,
            { reply } as never,
          );
        }, { timeoutMs: options.queryTimeoutMs ?? 5_000 });
        return { identity, addr, values: redactConfig(values) };
      } catch (error) {
        return { identity, addr, error: (error as Error).message }; // AW-7
      }
    }));

  const log = new AdminEventLog(options.eventWindow);
  const unobserve = observeMeshFailures((failure) => log.record(failure)); // AW-8
  const maxRequests = Math.max(1, options.maxRequests ?? 64);
  const maxEventClients = Math.max(1, options.maxEventClients ?? 16);
  const streams = new Map<ReadableStreamDefaultController<Uint8Array>, () => void>();
  let active = 0;
  const stop = new AbortController();

  const events = (req: Request, url: URL): Response => {
    if (streams.size >= maxEventClients) {
      return jsonResponse({ error: "too many event streams" }, 503); // AW-10
    }
    const resume = lastEventId(req, url);
    let end = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (bytes: Uint8Array) => {
          try {
            controller.enqueue(bytes);
          } catch {
            end(); // the reader went away
          }
        };
        send(encoder.encode(`retry: 1000\n: hypermesh admin events\n\n`));
        if (resume !== undefined) {
          const missed = log.since(resume); // AW-4
          if (missed === undefined) send(encoder.encode(`event: reset\ndata: {}\n\n`));
          else for (const event of missed) send(sse(event));
        }
        const unsubscribe = log.subscribe((event) => send(sse(event)));
        const heartbeat = setInterval(() => send(encoder.encode(`: hb\n\n`)), 15_000);
        end = () => {
          unsubscribe();
          clearInterval(heartbeat);
          streams.delete(controller);
        };
        streams.set(controller, end);
      },
      cancel() {
        end();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store, no-transform",
        "content-encoding": "identity",
      },
    });
  };

  const route = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method !== "GET") return jsonResponse({ error: "method not allowed" }, 405);
    const web = WEB_FILES[path];
    if (web !== undefined) {
      const file = await fetch(new URL(`./web/${web[0]}`, import.meta.url));
      return new Response(file.body, { headers: { "content-type": web[1] } });
    }
    if (path === "/v1/openapi.json") return jsonResponse(adminOpenApi());
    if (!path.startsWith("/v1/")) return jsonResponse({ error: "not found" }, 404);
    if (!authorized(req, url)) return jsonResponse({ error: "unauthorized" }, 401); // AW-5
    if (path === "/v1/events") return events(req, url);
    if (path === "/v1/config") {
      return jsonResponse({
        source: "admin process",
        values: redactConfig(config.snapshot()),
        hosts: await hostConfigs(),
      });
    }
    let root: AdminNode;
    try {
      root = await tree();
    } catch (error) {
      return jsonResponse({ error: `Cannot build the admin tree: ${error}` }, 503);
    }
    if (path === "/v1/tree") return jsonResponse(root);
    if (path === "/v1/hosts") {
      return jsonResponse(root.children.map(({ children, ...host }) => ({
        ...host,
        numProcs: children.filter((c) => c.nodeType === "proc").length,
      })));
    }
    if (path.startsWith("/v1/procs/")) {
      const procId = decodeURIComponent(path.slice("/v1/procs/".length));
      const node = findProc(root, procId);
      return node === undefined
        ? jsonResponse({ error: `no proc ${procId}` }, 404)
        : jsonResponse(node);
    }
    return jsonResponse({ error: "not found" }, 404);
  };

  const handler = async (req: Request): Promise<Response> => {
    if (active >= maxRequests) return jsonResponse({ error: "too many requests" }, 503); // AW-10
    active++;
    try {
      return await route(req);
    } finally {
      active--;
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  const listening = Promise.withResolvers<Deno.NetAddr>();
  try {
    server = Deno.serve({
      hostname,
      port,
      signal: stop.signal,
      onListen: (addr) => listening.resolve(addr),
      onError: (error) => jsonResponse({ error: String(error) }, 500),
    }, handler);
  } catch (error) {
    unobserve();
    throw new Error(`Cannot serve the mesh admin at ${hostname}:${port}: ${error}`, {
      cause: error,
    });
  }
  const bound = await listening.promise;
  const host = bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname;

  // AW-3: the poller compares one tree per period while the server runs.
  const pollMs = options.pollMs ?? 1_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    try {
      log.update(await tree());
    } catch {
      // the admin is gone or slow: try again next period
    }
    if (!stop.signal.aborted) timer = setTimeout(() => polling = poll(), pollMs);
  };
  polling = poll();

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      stop.abort();
      unobserve();
      clearTimeout(timer);
      for (const [controller, end] of streams) {
        end();
        try {
          controller.close();
        } catch {
          // already cancelled by the reader
        }
      }
      await polling;
      clearTimeout(timer);
      await server.finished;
    })();
  const url = `http://${host}:${bound.port}`;
  const token = adminToken();
  return {
    url,
    token,
    pageUrl: token === "" ? `${url}/` : `${url}/#token=${token}`,
    admin,
    events: log,
    close,
    [Symbol.asyncDispose]: close,
  };
}
