/**
 * The OpenAPI 3.1 document of the admin HTTP API (`GET /v1/openapi.json`):
 * every route and the JSON schema of every response body.
 *
 * @module
 */

const nodeSchema = {
  type: "object",
  required: ["identity", "nodeType", "properties", "children"],
  properties: {
    identity: { type: "string" },
    nodeType: { type: "string", enum: ["root", "host", "proc", "actor", "error"] },
    properties: {
      type: "object",
      properties: {
        addr: { type: "string" },
        state: { type: "string" },
        mode: { type: "string" },
        numProcs: { type: "integer" },
        name: { type: "string" },
        createRank: { type: "integer" },
        status: { type: "string" },
        pid: { type: ["integer", "null"] },
        uptimeMs: { type: ["number", "null"] },
        rssBytes: { type: ["integer", "null"] },
        cpuTimeMs: { type: ["number", "null"] },
        cpuPercent: { type: ["number", "null"] },
        stderrTail: { type: "array", items: { type: "string" } },
        type: { type: "string" },
        messagesProcessed: { type: "integer" },
        mailboxDepth: { type: "integer" },
        message: { type: "string" },
      },
    },
    children: { type: "array", items: { $ref: "#/components/schemas/AdminNode" } },
  },
};

const hostSchema = {
  type: "object",
  required: ["identity", "nodeType", "properties"],
  properties: {
    identity: { type: "string" },
    nodeType: { type: "string", enum: ["host", "error"] },
    properties: { type: "object" },
    numProcs: { type: "integer" },
  },
};

const eventSchema = {
  type: "object",
  required: ["id", "type", "source", "identity", "nodeType", "status", "previous", "at"],
  properties: {
    id: { type: "integer" },
    type: { type: "string", enum: ["status", "failure"] },
    source: { type: "string", enum: ["tree", "supervision"] },
    identity: { type: "string" },
    nodeType: { type: "string", enum: ["host", "proc", "actor", "error"] },
    status: { type: "string" },
    previous: { type: ["string", "null"] },
    reason: { type: "string" },
    stderrTail: { type: "array", items: { type: "string" } },
    meshFailure: {
      type: "object",
      required: ["kind", "meshName", "rank", "procId", "actorId", "status", "reason"],
      properties: {
        kind: { type: "string", enum: ["ProcExit", "ActorFailure", "HostLost"] },
        meshName: { type: "string" },
        rank: { type: "integer" },
        procId: { type: "string" },
        actorId: { type: ["string", "null"] },
        status: { type: "object" },
        reason: { type: "string" },
        stderrTail: { type: "array", items: { type: "string" } },
        occurredAt: { type: "number" },
      },
    },
    at: { type: "number" },
  },
};

const configSchema = {
  type: "object",
  required: ["source", "values", "hosts"],
  properties: {
    source: { type: "string" },
    values: { type: "object" },
    hosts: {
      type: "array",
      items: {
        type: "object",
        required: ["identity", "addr"],
        properties: {
          identity: { type: "string" },
          addr: { type: "string" },
          values: { type: "object" },
          error: { type: "string" },
        },
      },
    },
  },
};

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: { error: { type: "string" } },
};

function json(ref: string, description: string) {
  return {
    description,
    content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
  };
}

const unauthorized = json("Error", "Missing or wrong bearer token");

/**
 * The admin API's OpenAPI document.
 * @returns A fresh copy of the document.
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adminOpenApi } from "./openapi.ts";
 * assert("/v1/tree" in adminOpenApi().paths);
 * ```
 */
export function adminOpenApi(): {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown> };
} {
  return structuredClone({
    openapi: "3.1.0",
    info: { title: "hypermesh admin", version: "1" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        AdminNode: nodeSchema,
        Host: hostSchema,
        HostList: { type: "array", items: { $ref: "#/components/schemas/Host" } },
        AdminEvent: eventSchema,
        Config: configSchema,
        Error: errorSchema,
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/tree": {
        get: {
          summary: "Hosts → procs → actors with statuses and metrics",
          responses: { 200: json("AdminNode", "The root node"), 401: unauthorized },
        },
      },
      "/v1/hosts": {
        get: {
          summary: "The hosts, without their procs",
          responses: { 200: json("HostList", "The hosts"), 401: unauthorized },
        },
      },
      "/v1/procs/{procId}": {
        get: {
          summary: "One proc node with its actors",
          parameters: [{ name: "procId", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            200: json("AdminNode", "The proc node"),
            401: unauthorized,
            404: json("Error", "No such proc"),
          },
        },
      },
      "/v1/config": {
        get: {
          summary: "The admin process's and every host's effective config, secrets redacted",
          responses: { 200: json("Config", "The config"), 401: unauthorized },
        },
      },
      "/v1/events": {
        get: {
          summary: "Server-sent events: every status change and failure (Last-Event-ID resumes)",
          responses: {
            200: {
              description: "An event stream; each `data:` is an AdminEvent",
              content: {
                "text/event-stream": { schema: { $ref: "#/components/schemas/AdminEvent" } },
              },
            },
            401: unauthorized,
          },
        },
      },
      "/v1/openapi.json": {
        get: { summary: "This document", responses: { 200: { description: "OpenAPI 3.1" } } },
      },
    },
  });
}
