/** /admin/v1/fleet and /admin/v1/config/versions: what the nodes run and how versions propagated. */
import type { FastifyInstance } from "fastify";
import { listVersions } from "../store/config-versions.ts";
import { listFleet } from "../store/nodes.ts";
import type { AdminContext } from "./context.ts";
import { configVersions, fleet, listVersionsQuery } from "./schemas.ts";
import { pageLimit } from "./validate.ts";

export function registerFleetRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/fleet",
    {
      schema: {
        summary: "Every data-plane slot: zone, node, applied version, last seen, last error, connected",
        tags: ["fleet"],
        response: { 200: fleet },
      },
    },
    async () => ({ items: await listFleet(ctx.pool, ctx.fleetStaleMs) }),
  );

  app.get<{ Querystring: { limit?: string } }>(
    "/config/versions",
    {
      schema: {
        summary: "Published config versions, newest first, with Ack and Nack counts",
        tags: ["fleet"],
        querystring: listVersionsQuery,
        response: { 200: configVersions },
      },
    },
    async (req) => ({ items: await listVersions(ctx.pool, pageLimit(req.query.limit)) }),
  );
}
