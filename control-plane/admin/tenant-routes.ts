/** /admin/v1/tenants: create, list (keyset cursor), get, patch, delete. */
import type { FastifyInstance } from "fastify";
import { CorralError } from "../errors.ts";
import {
  deleteTenant,
  getTenant,
  insertTenant,
  listTenants,
  type NewTenant,
  type TenantPatch,
  updateTenant,
} from "../store/tenants.ts";
import { measureTenant } from "../service/config-growth.ts";
import { type AdminContext, mutate } from "./context.ts";
import { assertTenantRateCovered } from "./limit-rules.ts";
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
import { decodeCursor, encodeCursor, normalizeEgressAllow, pageLimit } from "./validate.ts";

type TenantParams = { tenantId: string };
const notFound = (id: string) => new CorralError("CORRAL_ADMIN_NOT_FOUND", `tenant ${id} not found`);
const SLUG_RE = new RegExp(SLUG_PATTERN);

/** The body with its egress allow entries in canonical form (400 naming a bad one). */
function withEgressAllow<T extends { egressAllow?: string[] }>(body: T): T {
  if (body.egressAllow === undefined) return body;
  return { ...body, egressAllow: normalizeEgressAllow(body.egressAllow, "body/egressAllow") };
}

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
      mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          const created = await insertTenant(tx, withEgressAllow(req.body));
          await assertTenantRateCovered(tx, created.id);
          return { status: 201, body: created };
        },
        { grows: true, tenantId: req.body.id },
      ),
  );

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    "/tenants",
    {
      schema: {
        summary: "List tenants by id, a page at a time",
        tags: ["tenants"],
        querystring: listTenantsQuery,
        response: { 200: tenantPage },
      },
    },
    async (req) => {
      const limit = pageLimit(req.query.limit);
      const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor, SLUG_RE);
      const page = await listTenants(ctx.pool, limit, after);
      return { items: page.items, nextCursor: page.lastId === undefined ? null : encodeCursor(page.lastId) };
    },
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId",
    {
      schema: { summary: "Get a tenant", tags: ["tenants"], params: tenantParams, response: { 200: tenant } },
    },
    async (req) =>
      (await getTenant(ctx.pool, req.params.tenantId)) ?? Promise.reject(notFound(req.params.tenantId)),
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
    async (req) => {
      const measured = await measureTenant(ctx.pool, req.params.tenantId);
      if (!measured) throw notFound(req.params.tenantId);
      return { tenantId: req.params.tenantId, ...measured };
    },
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
      mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          const updated = await updateTenant(tx, req.params.tenantId, withEgressAllow(req.body));
          if (!updated) throw notFound(req.params.tenantId);
          await assertTenantRateCovered(tx, updated.id);
          return { status: 200, body: updated };
        },
        { tenantId: req.params.tenantId },
      ),
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
      mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          if (!(await deleteTenant(tx, req.params.tenantId))) throw notFound(req.params.tenantId);
          return { status: 204, body: null };
        },
        { tenantId: req.params.tenantId },
      ),
  );
}
