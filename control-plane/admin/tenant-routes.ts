/** /admin/v1/tenants: create, list (keyset cursor), get, patch, delete. */
import type { FastifyInstance } from "fastify";
import type { NewTenant, TenantPatch } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate } from "./context.ts";
import {
  createTenantBody,
  listTenantsQuery,
  patchTenantBody,
  SLUG_PATTERN,
  tenant,
  tenantPage,
  tenantParams,
  tenantUsage,
} from "./schemas.ts";
import { decodeCursor, encodeCursor, pageLimit } from "./validate.ts";

type TenantParams = { tenantId: string };
const SLUG_RE = new RegExp(SLUG_PATTERN);

export function registerTenantRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: NewTenant }>(
    "/tenants",
    {
      schema: {
        summary: "Create a tenant",
        tags: ["tenants"],
        body: createTenantBody,
        response: { 201: tenant },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.createTenant(req.body), { grows: true, tenantId: req.body.id }),
  );

  app.get<{ Querystring: { limit?: string; cursor?: string; q?: string } }>(
    "/tenants",
    {
      schema: {
        summary: "List tenants by id, a page at a time; q: only ids or names containing it",
        tags: ["tenants"],
        querystring: listTenantsQuery,
        response: { 200: tenantPage },
      },
    },
    async (req) => {
      const limit = pageLimit(req.query.limit);
      const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor, SLUG_RE);
      const page = await ctx.tenants.listTenants(limit, after, req.query.q);
      return { items: page.items, nextCursor: page.lastId === undefined ? null : encodeCursor(page.lastId) };
    },
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId",
    {
      schema: { summary: "Get a tenant", tags: ["tenants"], params: tenantParams, response: { 200: tenant } },
    },
    (req) => ctx.tenants.getTenant(req.params.tenantId),
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/usage",
    {
      schema: {
        summary:
          "What the tenant holds against its quotas (routes, upstreams, live keys, targets, config bytes)",
        tags: ["tenants"],
        params: tenantParams,
        response: { 200: tenantUsage },
      },
    },
    (req) => ctx.tenants.tenantUsage(req.params.tenantId),
  );

  app.patch<{ Params: TenantParams; Body: TenantPatch }>(
    "/tenants/:tenantId",
    {
      schema: {
        summary:
          "Change a tenant's name, plan, status, limit overrides, quota overrides or egress exceptions",
        tags: ["tenants"],
        params: tenantParams,
        body: patchTenantBody,
        response: { 200: tenant },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.updateTenant(req.params.tenantId, req.body), {
        tenantId: req.params.tenantId,
      }),
  );

  app.delete<{ Params: TenantParams }>(
    "/tenants/:tenantId",
    {
      schema: {
        summary: "Delete a tenant with its keys, routes and upstreams",
        tags: ["tenants"],
        params: tenantParams,
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.deleteTenant(req.params.tenantId), {
        tenantId: req.params.tenantId,
      }),
  );
}
