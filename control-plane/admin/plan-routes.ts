/** /admin/v1/plans: the default limits of the tenants on each plan. */
import type { FastifyInstance } from "fastify";
import type { PlanBody } from "../service/admin-tenant-config.ts";
import type { AdminContext } from "./context.ts";
import { registerNamedResource } from "./named-resource.ts";
import { plan, planBody, planList, planParams } from "./placement-schemas.ts";

export function registerPlanRoutes(app: FastifyInstance, ctx: AdminContext): void {
  registerNamedResource<PlanBody>(app, ctx, {
    path: "/plans",
    tag: "plans",
    schemas: { params: planParams, item: plan, list: planList, body: planBody },
    summaries: {
      list: "Every plan with its limits and how many tenants use it",
      get: "Get a plan",
      put: "Create or replace a plan; its tenants get the new limits in the next version",
      remove: "Delete a plan no tenant uses (409 while one does)",
    },
    list: () => ctx.tenants.listPlans(),
    get: (name) => ctx.tenants.getPlan(name),
    put: (name, body) => ctx.tenants.putPlan(name, body),
    remove: (name) => ctx.tenants.deletePlan(name),
  });
}
