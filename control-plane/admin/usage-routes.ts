/** /admin/v1/usage/top: the heaviest tenants of the current calendar period (operators). */
import type { FastifyInstance } from "fastify";
import { TOP_PERIODS, type TopPeriod } from "../service/usage-reader.ts";
import type { AdminContext } from "./context.ts";

const topQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    period: {
      enum: TOP_PERIODS,
      default: "day",
      description: "the current UTC hour, day, week (from Monday) or month",
    },
    limit: { type: "string", pattern: "^[0-9]{1,3}$", description: "tenants listed, 1-100 (default 10)" },
  },
} as const;

const count = { type: "integer" } as const;
const topTenant = {
  type: "object",
  properties: { tenantId: { type: "string" }, admitted: count, refused: count },
  required: ["tenantId", "admitted", "refused"],
} as const;

const topReport = {
  type: "object",
  properties: {
    period: { enum: TOP_PERIODS },
    from: { type: "string", format: "date-time" },
    to: { type: "string", format: "date-time" },
    items: { type: "array", items: topTenant, description: "most admitted requests first" },
  },
  required: ["period", "from", "to", "items"],
} as const;

export function registerUsageRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: { period: TopPeriod; limit?: string } }>(
    "/usage/top",
    {
      schema: {
        summary: "The tenants with the most admitted requests this period, most first",
        tags: ["usage"],
        querystring: topQuery,
        response: { 200: topReport },
      },
    },
    (req) => ctx.usage.top(req.query.period, Math.min(100, Math.max(1, Number(req.query.limit ?? 10)))),
  );
}
