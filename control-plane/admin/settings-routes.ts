/**
 * /admin/v1/settings/admission: the fleet's admission settings (DESIGN §5): node shedder
 * thresholds, and shadow mode and kill switch of the shedder and the rate limiters.
 */
import type { FastifyInstance } from "fastify";
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { getAdmission, type StoredAdmission, putAdmission } from "../store/settings.ts";
import { type AdminContext, mutate } from "./context.ts";
import { admission, admissionBody } from "./placement-schemas.ts";

const view = (s: StoredAdmission) => ({ ...s.admission, updatedAt: s.updatedAt?.toISOString() ?? null });

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
    async () => view(await getAdmission(ctx.pool)),
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
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => ({ status: 200, body: view(await putAdmission(tx, req.body)) })),
  );
}
