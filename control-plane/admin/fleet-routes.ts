/**
 * /admin/v1/fleet, /admin/v1/config/versions and /admin/v1/config/usage: what the nodes run,
 * how versions propagated, and how much of the snapshot's payload bound the tenants use.
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { AdminContext } from "./context.ts";
import { configVersions, fleet, listVersionsQuery, snapshotUsage } from "./schemas.ts";
import { pageLimit } from "./validate.ts";

const doc = documented("fleet");

export function registerFleetRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/config/usage",
    doc("The tenants' share of the snapshot's uncompressed payload bound (growing changes past it get 507)", {
      response: { 200: snapshotUsage },
    }),
    () => ctx.fleet.configUsage(),
  );

  app.get(
    "/fleet",
    doc("Every data-plane slot: zone, node, applied version, last seen, last error, connected", {
      response: { 200: fleet },
    }),
    async () => ({ items: await ctx.fleet.listFleet() }),
  );

  app.get<{ Querystring: { limit?: string } }>(
    "/config/versions",
    doc("Published config versions, newest first, with Ack and Nack counts", {
      querystring: listVersionsQuery,
      response: { 200: configVersions },
    }),
    async (req) => ({ items: await ctx.fleet.listVersions(pageLimit(req.query.limit)) }),
  );
}
