/** /admin/v1/plans: the default limits of the tenants on each plan. */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { PlanBody } from "../service/admin-tenant-config.ts";
import { type AdminContext, mutate } from "./context.ts";
import { plan, planBody, planList, planParams } from "./placement-schemas.ts";

const doc = documented("plans");

type PlanParams = { name: string };

export function registerPlanRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/plans",
    doc("Every plan with its limits and how many tenants use it", { response: { 200: planList } }),
    async () => ({ items: await ctx.tenants.listPlans() }),
  );

  app.get<{ Params: PlanParams }>(
    "/plans/:name",
    doc("Get a plan", { params: planParams, response: { 200: plan } }),
    (req) => ctx.tenants.getPlan(req.params.name),
  );

  app.put<{ Params: PlanParams; Body: PlanBody }>(
    "/plans/:name",
    doc("Create or replace a plan; its tenants get the new limits in the next version", {
      params: planParams,
      body: planBody,
      response: { 200: plan, 201: plan },
    }),
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putPlan(req.params.name, req.body)),
  );

  app.delete<{ Params: PlanParams }>(
    "/plans/:name",
    doc("Delete a plan no tenant uses (409 while one does)", { params: planParams }),
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.deletePlan(req.params.name)),
  );
}
