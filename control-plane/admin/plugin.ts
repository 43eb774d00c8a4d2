/** The admin API as one fastify plugin, mounted at /admin/v1. */
import type { FastifyInstance } from "fastify";
import { serveOpenApi } from "../http/server.ts";
import { registerOperatorAuth } from "./auth.ts";
import type { AdminContext } from "./context.ts";
import { registerConfigRoutes } from "./config-routes.ts";
import { registerFleetRoutes } from "./fleet-routes.ts";
import { registerKeyRoutes } from "./key-routes.ts";
import type { ApiDocumentInfo } from "../http/openapi.ts";
import { registerOperatorTokenRoutes } from "./operator-token-routes.ts";
import { registerPlacementAdmin } from "./placement-admin.ts";
import { registerTenantResourceRoutes } from "./resource-routes.ts";
import { registerTenantRoutes } from "./tenant-routes.ts";
import { registerUsageRoutes } from "./usage-routes.ts";

export const ADMIN_API_INFO: ApiDocumentInfo = {
  title: "Corral admin API",
  description:
    "Operator API of the Corral control plane. GET needs an operator token of role viewer or admin; " +
    "every other method, and every operator-tokens call, needs role admin. An address with too many " +
    "failed tokens gets 429 with Retry-After. Errors are RFC 9457 problem+json with a stable code.",
  prefix: "/admin/v1",
  securityScheme: { name: "operatorToken", definition: { type: "http", scheme: "bearer" } },
};

export const ADMIN_PREFIX = "/admin/v1";

export function adminPlugin(ctx: AdminContext) {
  return async function admin(app: FastifyInstance): Promise<void> {
    serveOpenApi(
      app,
      ADMIN_API_INFO,
      (method, configured) => configured ?? (method === "GET" ? "viewer" : "admin"),
    );
    registerOperatorAuth(app, ctx);
    registerTenantRoutes(app, ctx);
    registerKeyRoutes(app, ctx);
    registerTenantResourceRoutes(app, ctx);
    registerFleetRoutes(app, ctx);
    registerConfigRoutes(app, ctx);
    registerPlacementAdmin(app, ctx);
    registerOperatorTokenRoutes(app, ctx);
    registerUsageRoutes(app, ctx);
  };
}
