/** /admin/v1/tenants/:tenantId/upstreams: create, list, get, delete (409 while a route uses it). */
import type { FastifyInstance } from "fastify";
import { CorralError } from "../errors.ts";
import { assertTenantExists } from "../store/tenants.ts";
import {
  deleteUpstream,
  getUpstream,
  insertUpstream,
  listUpstreams,
  type NewUpstream,
} from "../store/upstreams.ts";
import { type AdminContext, mutate } from "./context.ts";
import { createUpstreamBody, tenantParams, upstream, upstreamList, upstreamParams } from "./schemas.ts";
import { normalizeTargets } from "./validate.ts";

type TenantParams = { tenantId: string };
type UpstreamParams = TenantParams & { upstreamId: string };
const notFound = (p: UpstreamParams) =>
  new CorralError("CORRAL_ADMIN_NOT_FOUND", `upstream ${p.upstreamId} not found in tenant ${p.tenantId}`);

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
    (req, reply) => {
      const targets = normalizeTargets(req.body.targets);
      return mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          await assertTenantExists(tx, req.params.tenantId);
          return {
            status: 201,
            body: await insertUpstream(tx, req.params.tenantId, { ...req.body, targets }),
          };
        },
        { grows: true },
      );
    },
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
    async (req) => {
      await assertTenantExists(ctx.pool, req.params.tenantId);
      return { items: await listUpstreams(ctx.pool, req.params.tenantId) };
    },
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
    async (req) =>
      (await getUpstream(ctx.pool, req.params.tenantId, req.params.upstreamId)) ??
      Promise.reject(notFound(req.params)),
  );

  app.delete<{ Params: UpstreamParams }>(
    "/tenants/:tenantId/upstreams/:upstreamId",
    { schema: { summary: "Delete an upstream no route uses", tags: ["upstreams"], params: upstreamParams } },
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => {
        if (!(await deleteUpstream(tx, req.params.tenantId, req.params.upstreamId)))
          throw notFound(req.params);
        return { status: 204, body: null };
      }),
  );
}
