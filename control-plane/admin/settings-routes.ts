/**
 * /admin/v1/settings/admission: the fleet's admission settings (docs/design.md §5): node shedder
 * thresholds, and shadow mode and kill switch of the shedder and the rate limiters.
 * /admin/v1/settings/egress: the fleet's egress exceptions (docs/design.md §8.3), every tenant's.
 */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { type AdminContext, mutate } from "./context.ts";
import { admission, admissionBody, egress, egressBody } from "./placement-schemas.ts";

const doc = documented("settings");

export function registerSettingsRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/settings/admission",
    doc("Admission settings every node applies (defaults until set)", { response: { 200: admission } }),
    () => ctx.tenants.getAdmission(),
  );

  app.put<{ Body: AdmissionSettings }>(
    "/settings/admission",
    doc("Replace the admission settings (fields left out take their defaults)", {
      body: admissionBody,
      response: { 200: admission },
    }),
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putAdmission(req.body)),
  );

  app.get(
    "/settings/egress",
    doc("The fleet's egress exceptions: upstream targets allowed although internal", {
      response: { 200: egress },
    }),
    () => ctx.tenants.getEgress(),
  );

  app.put<{ Body: { allow: string[] } }>(
    "/settings/egress",
    doc("Replace the fleet's egress exceptions (CIDR, host or host:port entries)", {
      body: egressBody,
      response: { 200: egress },
    }),
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putEgress(req.body.allow)),
  );
}
