/**
 * The tenant API over REST, mounted at /v1 on the control plane's HTTP server: the operations of
 * TenantService (service.ts) for the caller's own tenant, authenticated by a tenant API key with
 * scope manage (`x-api-key` or `Authorization: Bearer`), Idempotency-Key on every change,
 * problem+json errors with CORRAL_TENANT_* codes, and its OpenAPI document at /v1/openapi.json.
 */
import { presentedKey } from "../../proto/presented-key.ts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiDocumentInfo } from "../http/openapi.ts";
import { CorralError } from "../errors.ts";
import { answerProblems, serveOpenApi } from "../http/server.ts";
import { tagRequestTenant } from "../http/request-spans.ts";
import { sourceOf } from "../service/failed-auth-throttle.ts";
import { checkIdempotencyKey, invalid } from "../service/input-validation.ts";
import {
  createKeyBody,
  issuedKey,
  keyList,
  routeResource,
  shardProperties,
  tenant,
  upstreamResource,
} from "../service/resource-schemas.ts";
import { type RestResourceKind, registerResourceRoutes } from "../http/resource-routes.ts";
import {
  type Caller,
  ID_PATTERNS,
  type MutationOptions,
  type Outcome,
  type TenantResourceApi,
  type TenantService,
} from "./service.ts";
import { asTenantError } from "./tenant-errors.ts";
import { usageQuery, usageReport } from "../service/quota-schemas.ts";

export const TENANT_API_PREFIX = "/v1";

declare module "fastify" {
  interface FastifyRequest {
    /** the authenticated tenant-API caller (routes under /v1), else null */
    tenantCaller: Caller | null;
  }
}

const TENANT_API_INFO: ApiDocumentInfo = {
  title: "Corral tenant API",
  description:
    "Self-service configuration of one tenant: its routes, upstreams and API keys, its placement and usage. " +
    "Every call needs a tenant API key with scope manage (x-api-key header or Authorization: Bearer) and " +
    "acts on that key's tenant. The same operations are served over gRPC as corral.tenant.v1.TenantService. " +
    "Errors are RFC 9457 problem+json with a stable code.",
  prefix: TENANT_API_PREFIX,
  securityScheme: { name: "tenantApiKey", definition: { type: "apiKey", in: "header", name: "x-api-key" } },
};

const tenantShard = {
  type: "object",
  properties: shardProperties,
  required: ["k", "configuredK", "n", "shard"],
} as const;

type IdParams = { id: string };
const idParams = (pattern: RegExp) =>
  ({
    type: "object",
    properties: { id: { type: "string", pattern: pattern.source, maxLength: 64 } },
    required: ["id"],
  }) as const;

export function tenantRestPlugin(service: TenantService) {
  return async function tenantRest(app: FastifyInstance): Promise<void> {
    serveOpenApi(app, TENANT_API_INFO, () => "manage");
    app.decorateRequest("tenantCaller", null);
    answerProblems(app, "CORRAL_TENANT_NOT_FOUND", asTenantError);
    app.addHook("onRequest", async (req) => {
      if (req.routeOptions.config?.access === "public") return;
      const caller = await service.authenticate(
        presentedKey(req.headers),
        sourceOf(req.socket.remoteAddress),
      );
      req.tenantCaller = caller;
      tagRequestTenant(req, caller.tenantId);
      req.log = req.log.child({ tenant: caller.tenantId, key: caller.keyId });
    });
    registerTenantRoutes(app, service);
    mountKind(app, routeResource, service.routes, ID_PATTERNS.route);
    mountKind(app, upstreamResource, service.upstreams, ID_PATTERNS.upstream);
    registerKeyRoutes(app, service);
  };
}

function caller(req: FastifyRequest): Caller {
  if (!req.tenantCaller) throw new CorralError("CORRAL_TENANT_UNAUTHENTICATED");
  return req.tenantCaller;
}

function mutationOptions(req: FastifyRequest): MutationOptions {
  const header = req.headers["idempotency-key"];
  if (header === undefined) return {};
  if (Array.isArray(header)) throw invalid("headers/idempotency-key", "must be one value");
  return { clientToken: checkIdempotencyKey(header, "headers/idempotency-key") };
}

function send<T>(reply: FastifyReply, outcome: Outcome<T>): FastifyReply {
  if (outcome.replayed) reply.header("idempotent-replayed", "true");
  reply.code(outcome.status);
  return outcome.status === 204 ? reply.send() : reply.send(outcome.value);
}

function registerTenantRoutes(app: FastifyInstance, service: TenantService): void {
  app.get(
    "/tenant",
    { schema: { summary: "The caller's tenant", tags: ["tenant"], response: { 200: tenant } } },
    (req) => service.getTenant(caller(req)),
  );
  app.get(
    "/placement",
    {
      schema: {
        summary: "The tenant's shard: k, and each member's slot, zone and liveness in preference order",
        tags: ["tenant"],
        response: { 200: tenantShard },
      },
    },
    (req) => service.getPlacement(caller(req)),
  );
  app.get(
    "/usage",
    {
      schema: {
        summary:
          "The tenant's requests: the current quota period (limit, used, remaining, resetsAt) and the " +
          "hourly or daily history of admitted and refused requests",
        tags: ["tenant"],
        querystring: usageQuery,
        response: { 200: usageReport },
      },
    },
    (req) => service.getUsage(caller(req), req.query),
  );
}

/** /routes, /upstreams and their /:id: the caller's own resources of one kind (http/resource-routes.ts). */
function mountKind<T>(
  app: FastifyInstance,
  kind: RestResourceKind,
  served: TenantResourceApi<T>,
  id: RegExp,
): void {
  registerResourceRoutes(
    app,
    kind,
    { path: `/${kind.collection}`, idParam: "id", itemParams: idParams(id) },
    {
      list: (req) => served.list(caller(req)),
      get: (req, id) => served.get(caller(req), id),
      create: async (req, reply) =>
        send(reply, await served.create(caller(req), req.body, mutationOptions(req))),
      update: async (req, reply, id) =>
        send(reply, await served.update(caller(req), id, req.body, mutationOptions(req))),
      remove: async (req, reply, id) =>
        send(reply, await served.delete(caller(req), id, mutationOptions(req))),
    },
  );
}

function registerKeyRoutes(app: FastifyInstance, service: TenantService): void {
  app.get(
    "/keys",
    { schema: { summary: "List the tenant's API keys", tags: ["keys"], response: { 200: keyList } } },
    async (req) => ({ items: await service.listKeys(caller(req)) }),
  );
  app.post(
    "/keys",
    {
      schema: {
        summary: "Issue an API key; the key is in this response only",
        tags: ["keys"],
        body: createKeyBody,
        response: { 201: issuedKey },
      },
    },
    async (req, reply) => send(reply, await service.createKey(caller(req), req.body, mutationOptions(req))),
  );
  app.delete<{ Params: IdParams }>(
    "/keys/:id",
    { schema: { summary: "Revoke an API key", tags: ["keys"], params: idParams(ID_PATTERNS.key) } },
    async (req, reply) =>
      send(reply, await service.revokeKey(caller(req), req.params.id, mutationOptions(req))),
  );
}
