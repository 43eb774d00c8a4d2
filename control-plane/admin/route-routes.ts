/** /admin/v1/tenants/:tenantId/routes: create, list, get, patch, delete. */
import type { FastifyInstance } from "fastify";
import type { NewRoute, RoutePatch } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate } from "./context.ts";
import { createRouteBody, patchRouteBody, route, routeList, routeParams, tenantParams } from "./schemas.ts";

type TenantParams = { tenantId: string };
type RouteParams = TenantParams & { routeId: string };

export function registerRouteRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: TenantParams; Body: NewRoute }>(
    "/tenants/:tenantId/routes",
    {
      schema: {
        summary: "Create a route to one of the tenant's upstreams",
        tags: ["routes"],
        params: tenantParams,
        body: createRouteBody,
        response: { 201: route },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.createRoute(req.params.tenantId, req.body), {
        grows: true,
        tenantId: req.params.tenantId,
      }),
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/routes",
    {
      schema: {
        summary: "List a tenant's routes",
        tags: ["routes"],
        params: tenantParams,
        response: { 200: routeList },
      },
    },
    async (req) => ({ items: await ctx.tenants.listRoutes(req.params.tenantId) }),
  );

  app.get<{ Params: RouteParams }>(
    "/tenants/:tenantId/routes/:routeId",
    { schema: { summary: "Get a route", tags: ["routes"], params: routeParams, response: { 200: route } } },
    (req) => ctx.tenants.getRoute(req.params.tenantId, req.params.routeId),
  );

  app.patch<{ Params: RouteParams; Body: RoutePatch }>(
    "/tenants/:tenantId/routes/:routeId",
    {
      schema: {
        summary: "Change a route in place (any field of a new route; limits null removes its bucket)",
        tags: ["routes"],
        params: routeParams,
        body: patchRouteBody,
        response: { 200: route },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.updateRoute(req.params.tenantId, req.params.routeId, req.body), {
        grows: true,
        tenantId: req.params.tenantId,
      }),
  );

  app.delete<{ Params: RouteParams }>(
    "/tenants/:tenantId/routes/:routeId",
    { schema: { summary: "Delete a route", tags: ["routes"], params: routeParams } },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.removeRoute(req.params.tenantId, req.params.routeId), {
        tenantId: req.params.tenantId,
      }),
  );
}
