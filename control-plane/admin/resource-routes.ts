/**
 * /admin/v1/tenants/:tenantId/upstreams and /routes: create, list, get, patch, delete (an upstream:
 * 409 while a route uses it), for any tenant the path names (http/resource-routes.ts).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import {
  type ResourceRequest,
  type RestResourceKind,
  registerResourceRoutes,
} from "../http/resource-routes.ts";
import type { AdminResource } from "../service/admin-tenant-config.ts";
import type { Change } from "../service/config-changes.ts";
import { routeResource, upstreamResource } from "../service/resource-schemas.ts";
import { type AdminContext, mutate } from "./context.ts";
import { routeParams, tenantParams, upstreamParams } from "./schemas.ts";

export function registerTenantResourceRoutes(app: FastifyInstance, ctx: AdminContext): void {
  mountKind(app, ctx, upstreamResource, ctx.tenants.upstreams, ["upstreamId", upstreamParams]);
  mountKind(app, ctx, routeResource, ctx.tenants.routes, ["routeId", routeParams]);
}

function mountKind<Item, New, Patch>(
  app: FastifyInstance,
  ctx: AdminContext,
  kind: RestResourceKind,
  served: AdminResource<Item, New, Patch>,
  [idParam, itemParams]: [string, object],
): void {
  const tenantOf = (req: ResourceRequest) => req.params.tenantId!;
  /** runs a change of the path's tenant; `grows`: it adds configuration (quotas and size checked) */
  const run = (
    req: ResourceRequest,
    reply: FastifyReply,
    change: (tenantId: string) => Change,
    grows = false,
  ) => mutate(ctx, req, reply, change(tenantOf(req)), { grows, tenantId: tenantOf(req) });
  registerResourceRoutes(
    app,
    kind,
    { path: `/tenants/:tenantId/${kind.collection}`, params: tenantParams, idParam, itemParams },
    {
      list: (req) => served.list(tenantOf(req)),
      get: (req, id) => served.get(tenantOf(req), id),
      create: (req, reply) => run(req, reply, (tenantId) => served.create(tenantId, req.body as New), true),
      update: (req, reply, id) =>
        run(req, reply, (tenantId) => served.update(tenantId, id, req.body as Patch), true),
      remove: (req, reply, id) => run(req, reply, (tenantId) => served.remove(tenantId, id)),
    },
  );
}
