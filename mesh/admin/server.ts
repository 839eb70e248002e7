/**
 * The admin HTTP API: {@linkcode serveAdmin} spawns a `mesh_admin` actor
 * (`spawnAdmin`) and serves it with `Deno.serve` at
 * `HYPERACTOR_MESH_ADMIN_ADDR` (default `127.0.0.1:1729`, loopback only):
 *
 * | route | body |
 * |---|---|
 * | `GET /v1/tree` | hosts → procs → actors with statuses and metrics |
 * | `GET /v1/hosts` | the hosts without their procs |
 * | `GET /v1/procs/{procId}` | one proc node (404 when unknown) |
 * | `GET /v1/config` | this process's effective config, secrets redacted |
 * | `GET /v1/events` | server-sent `AdminEvent`s, `Last-Event-ID` resumes |
 * | `GET /v1/openapi.json` | the OpenAPI document of all of the above |
 * | `GET /` | the live web page (static files of `web/`) |
 *
 * Events come from comparing successive trees, one every `pollMs` (AW-3).
 *
 * ## Invariants (AW-*)
 * - **AW-5 (bearer token).** When the process has channel secrets, every
 *   `/v1/` route but the OpenAPI document answers 401 with nothing but an
 *   error object unless the request carries one of them as
 *   `Authorization: Bearer <secret>` (or `?token=`, for the page's
 *   `EventSource`).
 * - **AW-6 (loopback by default).** Without `HYPERACTOR_MESH_ADMIN_ADDR` or
 *   an `addr` option, the server binds `127.0.0.1` only.
 * - **AW-7 (never a failed request).** An unreachable host or proc is an
 *   error node in `/v1/tree` (MA-R1); the request itself answers 200.
 *
 * @module
 */

import type { ActorRef } from "../../actor/port.ts";
import { request } from "../../actor/request.ts";
import type { Context } from "../../actor/types.ts";
import { channelSecrets } from "../../channel/secret.ts";
import { MESH_ADMIN_ADDR } from "../../config/attrs.ts";
import { config } from "../../config/config.ts";
import {
  type AdminNode,
  type MeshAdminAgent,
  spawnAdmin,
  type SpawnAdminOptions,
} from "../admin.ts";
import type { HostMeshRef } from "../host_mesh/host_mesh_ref.ts";
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
}

/** A running admin server; dispose it to stop serving. */
export interface AdminServer extends AsyncDisposable {
  /** `http://HOST:PORT` it serves. */
  readonly url: string;
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
  if (m === null) throw new TypeError(`Invalid admin address: "${addr}" (expected HOST:PORT)`);
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
export function redactConfig(
  values: Record<string, string | number | boolean>,
): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : v]),
  );
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
  if (secrets === null || secrets.length === 0) return true; // insecure mesh: nothing to check
  const header = req.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ")
    ? header.slice(7).trim()
    : url.searchParams.get("token");
  if (!token) return false;
  return secrets.some((s) => sameText(s.toEnv(), token));
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

/**
 * Spawns the admin actor on `cx`'s proc (as `spawnAdmin`) and serves the
 * admin HTTP API and the web page (AW-5..AW-7).
 * @param meshes One or more host meshes.
 * @param cx The caller (the admin runs on its proc).
 * @param options Address, poll period, event window, and `spawnAdmin`'s options.
 * @returns The running server.
 * @throws {Error} As `spawnAdmin`; a bind error when the address is taken.
 * @example
 * ```ts ignore
 * await using server = await serveAdmin([hosts.ref], cx);
 * console.log(`admin at ${server.url}`);
 * ```
 */
export async function serveAdmin(
  meshes: Iterable<HostMeshRef>,
  cx: Context,
  options: ServeAdminOptions = {},
): Promise<AdminServer> {
  const admin = await spawnAdmin(meshes, cx, options);
  const { hostname, port } = parseAdminAddr(options.addr ?? config.get(MESH_ADMIN_ADDR)); // AW-6
  const timeoutMs = (options.queryTimeoutMs ?? 5_000) + 1_000;
  const tree = () =>
    request<AdminNode>(cx, "GetTree", (reply) => {
      admin.send(cx, "GetTree", {
        reply: { port: reply, returnUndeliverable: false },
      });
    }, { timeoutMs });
  const log = new AdminEventLog(options.eventWindow);
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const stop = new AbortController();

  const events = (req: Request, url: URL): Response => {
    const lastId = Number(req.headers.get("last-event-id") ?? url.searchParams.get("lastEventId"));
    let unsubscribe = () => {};
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        streams.add(controller);
        controller.enqueue(encoder.encode(`retry: 1000\n: hypermesh admin events\n\n`));
        if (Number.isSafeInteger(lastId) && lastId > 0) {
          const missed = log.since(lastId); // AW-4
          if (missed === undefined) {
            controller.enqueue(encoder.encode(`event: reset\ndata: {}\n\n`));
          } else for (const event of missed) controller.enqueue(sse(event));
        }
        unsubscribe = log.subscribe((event) => controller.enqueue(sse(event)));
        heartbeat = setInterval(() => controller.enqueue(encoder.encode(`: hb\n\n`)), 15_000);
      },
      cancel() {
        unsubscribe();
        clearInterval(heartbeat);
      },
    });
    const cleanup = () => {
      unsubscribe();
      clearInterval(heartbeat);
    };
    stop.signal.addEventListener("abort", cleanup, { once: true });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
    });
  };

  const handler = async (req: Request): Promise<Response> => {
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
      return jsonResponse({ source: "admin process", values: redactConfig(config.snapshot()) });
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
    throw new Error(`Cannot serve the mesh admin at ${hostname}:${port}: ${error}`, {
      cause: error,
    });
  }
  const bound = await listening.promise;
  const host = bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname;

  // AW-3: the poller compares one tree per period while the server runs.
  const pollMs = options.pollMs ?? 1_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async () => {
    try {
      log.update(await tree());
    } catch {
      // the admin is gone or slow: try again next period
    }
    if (!stop.signal.aborted) timer = setTimeout(poll, pollMs);
  };
  const polling = poll();

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      stop.abort();
      clearTimeout(timer);
      for (const controller of streams) {
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
  return {
    url: `http://${host}:${bound.port}`,
    admin,
    events: log,
    close,
    [Symbol.asyncDispose]: close,
  };
}
