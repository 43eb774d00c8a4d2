/**
 * Operator authentication for the admin API: `Authorization: Bearer <token>`, hash
 * compared in constant time against the active operator tokens. GET needs any role,
 * everything else needs admin, unless a route's config.access says otherwise. An address with
 * too many failed tokens gets 429 before its token is looked at (service/failed-auth-throttle.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { bearerCredential } from "../../proto/presented-key.ts";
import { CorralError } from "../errors.ts";
import type { Access } from "../http/server.ts";
import { type AdminService, MAX_TOKEN_LENGTH } from "../service/admin-service.ts";

export function requiredAccess(req: FastifyRequest): Access {
  const configured = req.routeOptions.config?.access;
  if (configured) return configured;
  return req.method === "GET" || req.method === "HEAD" ? "viewer" : "admin";
}

/** Adds the check to every route of `app` (an encapsulated plugin scope). */
export function registerOperatorAuth(app: FastifyInstance, service: AdminService): void {
  app.addHook("onRequest", async (req) => {
    const access = requiredAccess(req);
    if (access === "public") return;
    const token = bearerCredential(req.headers.authorization, MAX_TOKEN_LENGTH);
    const operator = token ? await service.authenticate(token, req.socket.remoteAddress) : undefined;
    if (!operator) throw new CorralError("CORRAL_ADMIN_UNAUTHENTICATED");
    if (access === "admin" && operator.role !== "admin") {
      throw new CorralError(
        "CORRAL_ADMIN_FORBIDDEN",
        `role ${operator.role} cannot ${req.method} this resource`,
      );
    }
    req.operator = operator;
  });
}
