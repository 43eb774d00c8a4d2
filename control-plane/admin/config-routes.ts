/**
 * POST /admin/v1/config/versions/:version/rollback: republish an earlier version's content
 * as a new, higher version (DPs never go back to a lower one). The request is checked here
 * (the version exists, its blob verifies with this CP's key and decodes) and recorded as a
 * change (store/changes.ts rollback_of), so the publisher lease holder, whichever replica
 * that is, publishes it; the answer is 202 and the new version appears in
 * GET /admin/v1/config/versions with source "rollback of <version>".
 *
 * Only versions inside the retention window qualify (410 CORRAL_ADMIN_VERSION_GONE otherwise);
 * the check holds the version-history lock, so the blob cannot be expired before this commits.
 *
 * Tenants' rows are not changed: while the rollback stands every new version carries that
 * content, and the next configuration change compiles from the tables again.
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import { type AdminContext, mutate } from "./context.ts";

const doc = documented("fleet");

const versionParams = {
  type: "object",
  additionalProperties: false,
  properties: { version: { type: "string", pattern: "^[1-9][0-9]{0,14}$" } },
  required: ["version"],
} as const;

const rollbackAccepted = {
  type: "object",
  properties: {
    rollbackOf: { type: "integer" },
    tenants: { type: "integer" },
    status: { type: "string", enum: ["accepted"] },
  },
  required: ["rollbackOf", "tenants", "status"],
} as const;

export function registerConfigRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: { version: string } }>(
    "/config/versions/:version/rollback",
    doc(
      "Republish an earlier version's content as a new version (tables unchanged; the next change compiles from them again)",
      { params: versionParams, response: { 202: rollbackAccepted } },
    ),
    (req, reply) => mutate(ctx, req, reply, ctx.fleet.rollback(req.params.version)),
  );
}
