/** /admin/v1/plans: the default limits of the tenants on each plan. */
import type { FastifyInstance } from "fastify";
import { CorralError } from "../errors.ts";
import { deletePlan, getPlan, listPlanViews, type PlanLimits, putPlan } from "../store/plans.ts";
import { type AdminContext, mutate } from "./context.ts";
import { assertPlanRateCovered } from "./limit-rules.ts";
import { plan, planBody, planList, planParams } from "./placement-schemas.ts";

type PlanParams = { name: string };
const notFound = (name: string) => new CorralError("CORRAL_ADMIN_NOT_FOUND", `plan ${name} not found`);

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
    async () => ({ items: await listPlanViews(ctx.pool) }),
  );

  app.get<{ Params: PlanParams }>(
    "/plans/:name",
    { schema: { summary: "Get a plan", tags: ["plans"], params: planParams, response: { 200: plan } } },
    async (req) => (await getPlan(ctx.pool, req.params.name)) ?? Promise.reject(notFound(req.params.name)),
  );

  app.put<{ Params: PlanParams; Body: PlanLimits }>(
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
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => {
        const { plan: saved, created } = await putPlan(tx, req.params.name, req.body);
        await assertPlanRateCovered(tx, req.params.name);
        return { status: created ? 201 : 200, body: saved };
      }),
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
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => {
        if (!(await deletePlan(tx, req.params.name))) throw notFound(req.params.name);
        return { status: 204, body: null };
      }),
  );
}
