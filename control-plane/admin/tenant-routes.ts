/** /admin/v1/tenants: create, list (keyset cursor), get, patch, delete. */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { NewTenantBody, TenantPatchBody } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate, mutateTenant } from "./context.ts";
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
import { CorralError } from "../errors.ts";
import { usageQuery } from "../service/quota-schemas.ts";
import type { UsageQuery } from "../service/usage-reader.ts";

const notFound = (id: string) => new CorralError("CORRAL_ADMIN_NOT_FOUND", `tenant ${id} not found`);

const doc = documented("tenants");

type TenantParams = { tenantId: string };
const SLUG_RE = new RegExp(SLUG_PATTERN);

export function registerTenantRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: NewTenantBody }>(
    "/tenants",
    doc("Create a tenant", { body: createTenantBody, response: { 201: tenant } }),
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.createTenant(req.body), { grows: true, tenantId: req.body.id }),
  );

  app.get<{ Querystring: { limit?: string; cursor?: string; q?: string } }>(
    "/tenants",
    doc("List tenants by id, a page at a time; q: only ids or names containing it", {
      querystring: listTenantsQuery,
      response: { 200: tenantPage },
    }),
    async (req) => {
      const limit = pageLimit(req.query.limit);
      const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor, SLUG_RE);
      const page = await ctx.tenants.listTenants(limit, after, req.query.q);
      return { items: page.items, nextCursor: page.lastId === undefined ? null : encodeCursor(page.lastId) };
    },
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId",
    doc("Get a tenant", { params: tenantParams, response: { 200: tenant } }),
    (req) => ctx.tenants.getTenant(req.params.tenantId),
  );

  app.get<{ Params: TenantParams; Querystring: UsageQuery }>(
    "/tenants/:tenantId/usage",
    doc(
      "The tenant's requests (quota period: used, remaining, resets-at; hourly or daily history, " +
        "as GET /v1/usage answers the tenant) and what it holds against its resource quotas",
      { params: tenantParams, querystring: usageQuery, response: { 200: tenantUsage } },
    ),
    async (req) => {
      const held = await ctx.tenants.tenantUsage(req.params.tenantId);
      const requests = await ctx.usage.report(req.params.tenantId, req.query, () =>
        notFound(req.params.tenantId),
      );
      return { ...held, ...requests };
    },
  );

  app.patch<{ Params: TenantParams; Body: TenantPatchBody }>(
    "/tenants/:tenantId",
    doc("Change a tenant's name, plan, status, limit overrides, quota overrides or egress exceptions", {
      params: tenantParams,
      body: patchTenantBody,
      response: { 200: tenant },
    }),
    (req, reply) => mutateTenant(ctx, req, reply, (tenantId) => ctx.tenants.updateTenant(tenantId, req.body)),
  );

  app.delete<{ Params: TenantParams }>(
    "/tenants/:tenantId",
    doc("Delete a tenant with its keys, routes and upstreams", { params: tenantParams }),
    (req, reply) => mutateTenant(ctx, req, reply, (tenantId) => ctx.tenants.deleteTenant(tenantId)),
  );
}
