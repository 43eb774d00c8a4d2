/** /admin/v1/plans: the default limits of the tenants on each plan. */
import type { FastifyInstance } from "fastify";
import type { PlanBody } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate } from "./context.ts";
import { plan, planBody, planList, planParams } from "./placement-schemas.ts";

type PlanParams = { name: string };

export function registerPlanRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/plans",
    {
      schema: {
        summary: "Every plan with its limits and how many tenants use it",
        tags: ["plans"],
        response: { 200: planList },
      },
    },
    async () => ({ items: await ctx.tenants.listPlans() }),
  );

  app.get<{ Params: PlanParams }>(
    "/plans/:name",
    { schema: { summary: "Get a plan", tags: ["plans"], params: planParams, response: { 200: plan } } },
    (req) => ctx.tenants.getPlan(req.params.name),
  );

  app.put<{ Params: PlanParams; Body: PlanBody }>(
    "/plans/:name",
    {
      schema: {
        summary: "Create or replace a plan; its tenants get the new limits in the next version",
        tags: ["plans"],
        params: planParams,
        body: planBody,
        response: { 200: plan, 201: plan },
      },
    },
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putPlan(req.params.name, req.body)),
  );

  app.delete<{ Params: PlanParams }>(
    "/plans/:name",
    {
      schema: {
        summary: "Delete a plan no tenant uses (409 while one does)",
        tags: ["plans"],
        params: planParams,
      },
    },
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.deletePlan(req.params.name)),
  );
}
