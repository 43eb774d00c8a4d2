/**
 * Placement reports: one tenant's shard (GET /tenants/:tenantId/placement) and the fleet's
 * blast radius (GET /placement/analysis?failed=a,b). Both compute over the current fleet with
 * the compiler's code, so they show the shards the published snapshot carries (or, right after
 * a change, the one about to be published).
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import { CorralError } from "../errors.ts";
import { PlacementInputError } from "../placement/index.ts";
import type { AdminContext } from "./context.ts";
import { analysisQuery, placementAnalysis, tenantPlacement } from "./placement-schemas.ts";
import { tenantParams } from "./schemas.ts";
import { invalid } from "./validate.ts";

const doc = documented("placement");

type TenantParams = { tenantId: string };

export function registerPlacementRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/placement",
    doc("A tenant's shard: k, and each member's slot, zone and liveness in preference order", {
      params: tenantParams,
      response: { 200: tenantPlacement },
    }),
    async (req) =>
      (await ctx.placement.tenantPlacement(req.params.tenantId)) ??
      Promise.reject(new CorralError("CORRAL_ADMIN_NOT_FOUND", `tenant ${req.params.tenantId} not found`)),
  );

  app.get<{ Querystring: { failed?: string } }>(
    "/placement/analysis",
    doc(
      "Blast radius: N, k distribution, slot loads, shard overlap against theory, and the tenants " +
        "that lose their whole shard if the `failed` slots die",
      { querystring: analysisQuery, response: { 200: placementAnalysis } },
    ),
    async (req) => {
      const failed = req.query.failed ? [...new Set(req.query.failed.split(","))] : [];
      try {
        return await ctx.placement.analysis(failed);
      } catch (err) {
        if (err instanceof PlacementInputError) throw invalid("querystring/failed", err.message);
        throw err;
      }
    },
  );
}
