/** The placement and limits part of the admin API: slots, plans, admission settings, placement. */
import type { FastifyInstance } from "fastify";
import type { AdminContext } from "./context.ts";
import { registerPlacementRoutes } from "./placement-routes.ts";
import { registerPlanRoutes } from "./plan-routes.ts";
import { registerSettingsRoutes } from "./settings-routes.ts";
import { registerSlotRoutes } from "./slot-routes.ts";

export function registerPlacementAdmin(app: FastifyInstance, ctx: AdminContext): void {
  registerSlotRoutes(app, ctx);
  registerPlanRoutes(app, ctx);
  registerSettingsRoutes(app, ctx);
  registerPlacementRoutes(app, ctx);
}
