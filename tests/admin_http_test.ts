/**
 * The admin HTTP API (AW-3..AW-7) against a real 2×2 process mesh: every
 * JSON route checked against `/v1/openapi.json`, 401 without the bearer
 * token, a SIGKILLed proc as a failure event on `/v1/events` (and replayed
 * after a reconnect with `Last-Event-ID`) and `Failed` in `/v1/tree`, and a
 * SIGKILLed host as an error node in a tree that still answers 200.
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { context, shutdownContext } from "../actor/context.ts";
import type { ClientInstance } from "../actor/types.ts";
import { channelSecrets, setChannelSecret } from "../channel/secret.ts";
import { MESH_ADMIN_ADDR } from "../config/attrs.ts";
import { config } from "../config/config.ts";
import { HostMeshRef } from "../mesh/host_mesh/host_mesh_ref.ts";
import { adminToken, serveAdmin } from "../mesh/admin/server.ts";
import type { AdminNode } from "../mesh/admin.ts";
import type { AdminEvent } from "../mesh/admin/events.ts";
import type { ActorMesh } from "../mesh/actor_mesh.ts";
import { CallError } from "../mesh/call.ts";
import { HostMesh } from "../mesh/host_mesh/host_mesh.ts";
import { setUnhandledMeshFailureHook } from "../mesh/supervision/unhandled.ts";
import { Extent } from "../ndslice/extent.ts";
import { CRASHER } from "./fixtures/supervision_worker.ts";
import { workerFixtureCommand } from "./_support.ts";

const WORKER = workerFixtureCommand("supervision_worker.ts");

type Schema = Record<string, unknown>;

/** A small JSON-schema check (type, enum, required, properties, items, $ref). */
function validate(value: unknown, schema: Schema, root: Schema, path = "$"): string[] {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop()!;
    const schemas = (root.components as { schemas: Record<string, Schema> }).schemas;
    return validate(value, schemas[name], root, path);
  }
  const errors: string[] = [];
  const types = schema.type === undefined ? [] : [schema.type].flat() as string[];
  const typeOf = value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : Number.isInteger(value)
    ? "integer"
    : typeof value;
  if (
    types.length > 0 && !types.some((t) => t === typeOf || (t === "number" && typeOf === "integer"))
  ) {
    return [`${path}: ${typeOf} is not ${types.join("|")}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    errors.push(`${path}: ${value} not in enum`);
  }
  if (typeOf === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in obj)) errors.push(`${path}: missing ${key}`);
    }
    for (const [key, sub] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
      if (key in obj) errors.push(...validate(obj[key], sub, root, `${path}.${key}`));
    }
  }
  if (typeOf === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(v, schema.items as Schema, root, `${path}[${i}]`))
    );
  }
  return errors;
}

/** The response schema of `GET path` in the document (status 200, JSON). */
function responseSchema(doc: Schema, route: string): Schema {
  const paths = doc.paths as Record<string, { get: { responses: Record<string, Schema> } }>;
  const content = paths[route].get.responses[200].content as Record<string, { schema: Schema }>;
  return content["application/json"].schema;
}

/** Reads server-sent events off a response body. */
class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next event with data, within 30 s. */
  nextNamed(): Promise<{ event: string; data: AdminEvent }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no event within 30 s")), 30_000);
    });
    return Promise.race([this.next(), timeout]).finally(() => clearTimeout(timer));
  }
  /** The next event with data, as parsed JSON, with its event name. */
  async next(): Promise<{ event: string; data: AdminEvent }> {
    while (true) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const lines = block.split("\n");
        const data = lines.find((l) => l.startsWith("data: "));
        if (data === undefined) continue;
        const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
        return { event, data: JSON.parse(data.slice(6)) };
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("event stream ended");
      this.#buffer += value;
    }
  }
  /** Events until one satisfies `pred`. */
  async until(pred: (e: AdminEvent) => boolean, what: string): Promise<AdminEvent> {
    const seen: AdminEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no such event within 30 s: ${JSON.stringify(seen)}`)),
        30_000,
      );
    });
    try {
      while (true) {
        const { data } = await Promise.race([this.next(), timeout]);
        seen.push(data);
        if (pred(data)) return data;
      }
    } finally {
      clearTimeout(timer);
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

async function pids(cx: ClientInstance, mesh: ActorMesh): Promise<number[]> {
  const replies = await mesh.call(cx, "Ping" as never, {} as never, { timeoutMs: 20_000 });
  return replies.values().map((v) => {
    if (v instanceof CallError) throw v;
    return (v as { pid: number }).pid;
  });
}

Deno.test("AW-3, AW-4, AW-5, AW-6, AW-7, AW-8, AW-9: the admin HTTP API of a 2×2 process mesh follows its OpenAPI schema, needs the token, streams a SIGKILLed proc as a failure event and shows a dead host as an error node", async () => {
  const previous = setUnhandledMeshFailureHook(() => {});
  const cx = await context();
  try {
    await using hosts = await HostMesh.process(Extent.of({ hosts: 2 }), WORKER);
    const procs = await hosts.spawn(cx, "aw", Extent.of({ procs: 2 }));
    const crashers = await procs.spawn(cx, "crasher", CRASHER);
    const procPids = await pids(cx, crashers);
    assertEquals(procPids.length, 4);
    const envToken = channelSecrets()![0].toEnv();
    await using server = await serveAdmin([hosts.ref], cx, {
      addr: "127.0.0.1:0",
      pollMs: 200,
      queryTimeoutMs: 2_000,
    });
    const token = server.token;
    assertEquals(token, adminToken());
    assertMatch(token, /^[0-9a-f]{32,}$/);
    assertEquals(server.pageUrl, `${server.url}/#token=${token}`);
    assertMatch(server.url, /^http:\/\/127\.0\.0\.1:\d+$/); // AW-6
    const get = (path: string, headers: HeadersInit = { authorization: `Bearer ${token}` }) =>
      fetch(`${server.url}${path}`, { headers });
    const json = async (path: string) => {
      const res = await get(path);
      assertEquals(res.status, 200, path);
      return await res.json();
    };

    const doc = await json("/v1/openapi.json");
    const tree: AdminNode = await json("/v1/tree");
    assertEquals(validate(tree, responseSchema(doc, "/v1/tree"), doc), []);
    assertEquals(tree.children.length, 2);
    const procNodes = tree.children.flatMap((h) => h.children);
    assertEquals(procNodes.length, 4);
    assertEquals(new Set(procNodes.map((p) => p.properties.pid)), new Set(procPids));
    const hostsBody = await json("/v1/hosts");
    assertEquals(validate(hostsBody, responseSchema(doc, "/v1/hosts"), doc), []);
    assertEquals(hostsBody.map((h: { numProcs: number }) => h.numProcs), [2, 2]);
    const procId = procNodes[1].identity;
    const one = await json(`/v1/procs/${encodeURIComponent(procId)}`);
    assertEquals(validate(one, responseSchema(doc, "/v1/procs/{procId}"), doc), []);
    assertEquals(one.identity, procId);
    assertEquals(
      await get(`/v1/procs/${encodeURIComponent("nope,nope")}`).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      }),
      404,
    );
    const cfg = await json("/v1/config");
    assertEquals(validate(cfg, responseSchema(doc, "/v1/config"), doc), []);
    assert(Object.keys(cfg.values).length > 10);
    // AW-9: every host's effective config, secrets redacted.
    assertEquals(
      cfg.hosts.map((h: { identity: string }) => h.identity),
      tree.children.map((h) => h.identity),
    );
    for (const h of cfg.hosts) assert(Object.keys(h.values).length > 10, JSON.stringify(h));
    assert(!JSON.stringify(cfg).includes(envToken) && !JSON.stringify(cfg).includes(token));

    // AW-5: the env (base64) form and ?token= are accepted too.
    assertEquals(
      (await (await get("/v1/hosts", { authorization: `Bearer ${envToken}` })).json()).length,
      2,
    );
    assertEquals((await (await get(`/v1/hosts?token=${token}`, {})).json()).length, 2);

    // AW-5: no token (or a wrong one) → 401 and nothing else.
    for (const path of ["/v1/tree", "/v1/hosts", "/v1/config", "/v1/events", `/v1/procs/x`]) {
      for (const headers of [{}, { authorization: "Bearer wrong" }] as HeadersInit[]) {
        const res = await get(path, headers);
        assertEquals(res.status, 401, path);
        assertEquals(await res.json(), { error: "unauthorized" });
      }
    }

    // AW-3: a SIGKILLed proc is a failure event, then Failed in the tree.
    const stream = await get("/v1/events");
    assertEquals(stream.headers.get("content-type"), "text/event-stream");
    const sse = new SseReader(stream.body!);
    const victim = tree.children[0].children.find((p) => p.properties.pid === procPids[1]) ??
      procNodes.find((p) => p.properties.pid === procPids[1])!;
    Deno.kill(procPids[1], "SIGKILL");
    // AW-8: the owner's MeshFailure is an event as soon as the owner learns it.
    const failure = await sse.until(
      (e) => e.type === "failure" && e.identity === victim.identity,
      "proc failure",
    );
    assertEquals(validate(failure, doc.components.schemas.AdminEvent, doc), []);
    assertEquals(failure.source, "supervision");
    assertEquals(failure.meshFailure?.kind, "ProcExit");
    assertStringIncludes(failure.reason ?? "", "Killed(sig=9)");
    // AW-3: then the tree's change, and /v1/tree shows it.
    const changed = await sse.until(
      (e) => e.source === "tree" && e.identity === victim.identity,
      "proc status change",
    );
    assertEquals(validate(changed, doc.components.schemas.AdminEvent, doc), []);
    assertEquals([changed.type, changed.previous], ["failure", "Running"]);
    assertStringIncludes(changed.status, "Failed");
    const after: AdminNode = await json("/v1/tree");
    const killed = after.children.flatMap((h) => h.children).find((p) =>
      p.identity === victim.identity
    );
    assertStringIncludes(String(killed?.properties.status), "Failed");

    // AW-4: a reconnect with Last-Event-ID gets what came after it.
    const resumed = await get("/v1/events", {
      authorization: `Bearer ${token}`,
      "last-event-id": String(failure.id - 1),
    });
    const replay = new SseReader(resumed.body!);
    const first = await replay.until(() => true, "replayed event");
    assertEquals(first.id, failure.id);
    await replay.cancel();
    // AW-4: an id this log never issued asks the reader to refetch (`reset`).
    const stale = await get("/v1/events", {
      authorization: `Bearer ${token}`,
      "last-event-id": "999999",
    });
    const staleReader = new SseReader(stale.body!);
    assertEquals((await staleReader.nextNamed()).event, "reset");
    await staleReader.cancel();

    // AW-7: a dead host is an error node; the request still answers 200.
    const deadHost = tree.children[1].identity;
    Deno.kill(hosts.pids[1], "SIGKILL");
    const lost = await sse.until(
      (e) => e.identity === deadHost && e.type === "failure",
      "host failure",
    );
    assertEquals(lost.status, "Unreachable");
    assertEquals(lost.source, "tree");
    const last: AdminNode = await json("/v1/tree");
    assertEquals(validate(last, responseSchema(doc, "/v1/tree"), doc), []);
    assertEquals(last.children.map((h) => h.nodeType), ["host", "error"]);
    assertEquals(last.children[1].identity, deadHost);
    assertEquals(last.children[1].properties.addr, tree.children[1].properties.addr);
    const cfgAfter = await json("/v1/config"); // AW-7: an error entry, still 200
    assertEquals(validate(cfgAfter, responseSchema(doc, "/v1/config"), doc), []);
    assert(typeof cfgAfter.hosts[1].error === "string");
    await sse.cancel();
    await server.close();
    await hosts.shutdown(cx);
  } finally {
    await shutdownContext();
    setUnhandledMeshFailureHook(previous);
  }
});

Deno.test("AW-10, AW-6, AW-7, AW-5: the admin is bounded (event streams capped, 503 past the cap), loopback by default, answers 200 with an error node for a host that never existed, and refuses a public address without a secret", async () => {
  // AW-6: the default address is loopback.
  assertMatch(config.get(MESH_ADMIN_ADDR), /^127\.0\.0\.1:\d+$/);
  const cx = await context();
  try {
    const dir = await Deno.makeTempDir({ prefix: "hypermesh-aw10-" });
    const nowhere = HostMeshRef.fromHosts("gone", [`unix:${dir}/no-such-host.sock`]);
    await using server = await serveAdmin([nowhere], cx, {
      addr: "127.0.0.1:0",
      maxEventClients: 1,
      queryTimeoutMs: 500,
      pollMs: 60_000,
    });
    const auth = { authorization: `Bearer ${server.token}` };
    // AW-7: the unreachable host is an error node; the request answers 200.
    const res = await fetch(`${server.url}/v1/tree`, { headers: auth });
    assertEquals(res.status, 200);
    const tree: AdminNode = await res.json();
    assertEquals(tree.children.map((h) => [h.nodeType, h.properties.addr]), [
      ["error", `unix:${dir}/no-such-host.sock`],
    ]);
    // AW-10: one event stream allowed, the second answers 503; freed on cancel.
    const first = await fetch(`${server.url}/v1/events`, { headers: auth });
    assertEquals(first.status, 200);
    const second = await fetch(`${server.url}/v1/events`, { headers: auth });
    assertEquals([second.status, await second.json()], [503, { error: "too many event streams" }]);
    await first.body!.cancel();
    let again: Response | undefined;
    const deadline = Date.now() + 30_000; // polls a condition; no timing margin
    while (again?.status !== 200 && Date.now() < deadline) {
      await again?.body?.cancel();
      if (again !== undefined) await new Promise((r) => setTimeout(r, 20));
      again = await fetch(`${server.url}/v1/events`, { headers: auth });
    }
    assertEquals(again!.status, 200, "AW-10: a cancelled stream frees its slot");
    await again!.body!.cancel();
    await server.close();
    await Deno.remove(dir, { recursive: true });

    // AW-5: without a secret, only loopback.
    const keyring = channelSecrets();
    setChannelSecret(null);
    try {
      await assertRejects(
        () => serveAdmin([nowhere], cx, { addr: "0.0.0.0:0" }),
        Error,
        "only a loopback address",
      );
    } finally {
      setChannelSecret(keyring![0]);
    }
  } finally {
    await shutdownContext();
  }
});
