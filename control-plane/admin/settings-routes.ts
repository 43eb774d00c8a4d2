/**
 * /admin/v1/settings/admission: the fleet's admission settings (docs/design.md §5): node shedder
 * thresholds, and shadow mode and kill switch of the shedder and the rate limiters.
 * /admin/v1/settings/egress: the fleet's egress exceptions (docs/design.md §8.3), every tenant's.
 */
import type { FastifyInstance } from "fastify";
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { type AdminContext, mutate } from "./context.ts";
import { admission, admissionBody, egress, egressBody } from "./placement-schemas.ts";

export function registerSettingsRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get(
    "/settings/admission",
    {
      schema: {
        summary: "Admission settings every node applies (defaults until set)",
        tags: ["settings"],
        response: { 200: admission },
      },
    },
    () => ctx.tenants.getAdmission(),
  );

  app.put<{ Body: AdmissionSettings }>(
    "/settings/admission",
    {
      schema: {
        summary: "Replace the admission settings (fields left out take their defaults)",
        tags: ["settings"],
        body: admissionBody,
        response: { 200: admission },
      },
    },
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putAdmission(req.body)),
  );

  app.get(
    "/settings/egress",
    {
      schema: {
        summary: "The fleet's egress exceptions: upstream targets allowed although internal",
        tags: ["settings"],
        response: { 200: egress },
      },
    },
    () => ctx.tenants.getEgress(),
  );

  app.put<{ Body: { allow: string[] } }>(
    "/settings/egress",
    {
      schema: {
        summary: "Replace the fleet's egress exceptions (CIDR, host or host:port entries)",
        tags: ["settings"],
        body: egressBody,
        response: { 200: egress },
      },
    },
    (req, reply) => mutate(ctx, req, reply, ctx.tenants.putEgress(req.body.allow)),
  );
}
