/**
 * OpenAPI 3.1 documents of the admin API and the tenant REST API, assembled from the routes as
 * registered: the same JSON schemas fastify validates and serializes with. Pure.
 */
import { STATUS_CODES } from "node:http";
import { integer, record, string } from "../service/schema-builders.ts";
import type { Access } from "./server.ts";

export interface RouteSchema {
  summary?: string;
  tags?: string[];
  params?: { properties?: Record<string, object>; required?: readonly string[] };
  querystring?: { properties?: Record<string, object> };
  body?: object;
  response?: Record<string, object>;
}

export interface CollectedRoute {
  method: string;
  url: string;
  /** operator role needed, or "manage": a tenant API key with scope manage */
  access: Access | "manage";
  schema?: RouteSchema;
}

/** What a document says about its API as a whole. */
export interface ApiDocumentInfo {
  title: string;
  description: string;
  /** path prefix left out of operation ids */
  prefix: string;
  /** the security scheme of every non-public operation */
  securityScheme: { name: string; definition: object };
}

/** The RFC 9457 problem body every error of both APIs has. */
export const problemSchema = record(
  {
    type: string,
    title: string,
    status: integer,
    detail: string,
    code: { ...string, pattern: "^CORRAL_[A-Z_]+$" },
  },
  "RFC 9457 problem details with a stable Corral error code",
);

const problemRef = { $ref: "#/components/schemas/Problem" };
const json = (schema: object) => ({ "application/json": { schema } });

function operationId(method: string, url: string, prefix: string): string {
  const words = (url.startsWith(`${prefix}/`) ? url.slice(prefix.length + 1) : url)
    .split("/")
    .map((part) => (part.startsWith(":") ? `by-${part.slice(1)}` : part))
    .join("-")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join("");
}

function parameters(route: CollectedRoute): object[] {
  const params = Object.entries(route.schema?.params?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "path",
    required: true,
    schema,
  }));
  const query = Object.entries(route.schema?.querystring?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    schema,
  }));
  const idempotency =
    route.method === "GET"
      ? []
      : [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description: "retries with the same key get the first response for 24 h",
            schema: { type: "string", minLength: 1, maxLength: 255 },
          },
        ];
  return [...params, ...query, ...idempotency];
}

function responses(route: CollectedRoute): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [status, schema] of Object.entries(route.schema?.response ?? {})) {
    out[status] = { description: STATUS_CODES[Number(status)] ?? status, content: json(schema) };
  }
  if (route.method === "DELETE" && Object.keys(out).length === 0) out["204"] = { description: "No Content" };
  out.default = { description: "Error", content: { "application/problem+json": { schema: problemRef } } };
  return out;
}

function operation(route: CollectedRoute, info: ApiDocumentInfo): object {
  const op: Record<string, unknown> = {
    operationId: operationId(route.method, route.url, info.prefix),
    summary: route.schema?.summary,
    tags: route.schema?.tags,
    parameters: parameters(route),
    responses: responses(route),
    security: route.access === "public" ? [] : [{ [info.securityScheme.name]: [] }],
  };
  if (route.schema?.body) op.requestBody = { required: true, content: json(route.schema.body) };
  if (route.access === "admin") op["x-corral-role"] = "admin";
  if (route.access === "manage") op["x-corral-scope"] = "manage";
  return op;
}

export function buildOpenApi(routes: readonly CollectedRoute[], info: ApiDocumentInfo): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, info);
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: "v1", description: info.description },
    paths,
    components: {
      securitySchemes: { [info.securityScheme.name]: info.securityScheme.definition },
      schemas: { Problem: problemSchema },
    },
  };
}
