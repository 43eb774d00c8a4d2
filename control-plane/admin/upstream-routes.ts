/** /admin/v1/tenants/:tenantId/upstreams: create, list, get, patch, delete (409 while a route uses it). */
import type { FastifyInstance } from "fastify";
import type { NewUpstream, UpstreamPatch } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate } from "./context.ts";
import {
  createUpstreamBody,
  patchUpstreamBody,
  tenantParams,
  upstream,
  upstreamList,
  upstreamParams,
} from "./schemas.ts";

type TenantParams = { tenantId: string };
type UpstreamParams = TenantParams & { upstreamId: string };

export function registerUpstreamRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: TenantParams; Body: NewUpstream }>(
    "/tenants/:tenantId/upstreams",
    {
      schema: {
        summary: "Create an upstream service",
        tags: ["upstreams"],
        params: tenantParams,
        body: createUpstreamBody,
        response: { 201: upstream },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.createUpstream(req.params.tenantId, req.body), {
        grows: true,
        tenantId: req.params.tenantId,
      }),
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/upstreams",
    {
      schema: {
        summary: "List a tenant's upstreams",
        tags: ["upstreams"],
        params: tenantParams,
        response: { 200: upstreamList },
      },
    },
    async (req) => ({ items: await ctx.tenants.listUpstreams(req.params.tenantId) }),
  );

  app.get<{ Params: UpstreamParams }>(
    "/tenants/:tenantId/upstreams/:upstreamId",
    {
      schema: {
        summary: "Get an upstream",
        tags: ["upstreams"],
        params: upstreamParams,
        response: { 200: upstream },
      },
    },
    (req) => ctx.tenants.getUpstream(req.params.tenantId, req.params.upstreamId),
  );

  app.patch<{ Params: UpstreamParams; Body: UpstreamPatch }>(
    "/tenants/:tenantId/upstreams/:upstreamId",
    {
      schema: {
        summary: "Change an upstream in place (new targets pass the egress policy as on create)",
        tags: ["upstreams"],
        params: upstreamParams,
        body: patchUpstreamBody,
        response: { 200: upstream },
      },
    },
    (req, reply) =>
      mutate(
        ctx,
        req,
        reply,
        ctx.tenants.updateUpstream(req.params.tenantId, req.params.upstreamId, req.body),
        { grows: true, tenantId: req.params.tenantId },
      ),
  );

  app.delete<{ Params: UpstreamParams }>(
    "/tenants/:tenantId/upstreams/:upstreamId",
    { schema: { summary: "Delete an upstream no route uses", tags: ["upstreams"], params: upstreamParams } },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.removeUpstream(req.params.tenantId, req.params.upstreamId), {
        tenantId: req.params.tenantId,
      }),
  );
}
