/** /admin/v1/tenants/:tenantId/keys: issue (shown once), list, set a key's period quota, revoke. */
import type { FastifyInstance } from "fastify";
import type { NewKey } from "../service/admin-tenant-config.ts";
import type { PeriodQuotaInput } from "../service/period-quota.ts";
import { nullablePeriodQuotaInput } from "../service/quota-schemas.ts";
import { type AdminContext, mutate } from "./context.ts";
import { createKeyBody, issuedKey, keyInfo, keyList, keyParams, tenantParams } from "./schemas.ts";

const patchKeyBody = {
  type: "object",
  additionalProperties: false,
  required: ["quota"],
  properties: { quota: nullablePeriodQuotaInput },
} as const;

type TenantParams = { tenantId: string };

export function registerKeyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: TenantParams; Body: NewKey }>(
    "/tenants/:tenantId/keys",
    {
      schema: {
        summary: "Issue an API key; the key is in this response only",
        tags: ["keys"],
        params: tenantParams,
        body: createKeyBody,
        response: { 201: issuedKey },
      },
    },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.issueKey(req.params.tenantId, req.body), {
        grows: true,
        tenantId: req.params.tenantId,
      }),
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/keys",
    {
      schema: {
        summary: "List a tenant's API keys",
        tags: ["keys"],
        params: tenantParams,
        response: { 200: keyList },
      },
    },
    async (req) => ({ items: await ctx.tenants.listKeys(req.params.tenantId) }),
  );

  app.patch<{ Params: TenantParams & { keyId: string }; Body: { quota: PeriodQuotaInput | null } }>(
    "/tenants/:tenantId/keys/:keyId",
    {
      schema: {
        summary: "Set a key's own period quota (null removes it); counted beside the tenant's",
        tags: ["keys"],
        params: keyParams,
        body: patchKeyBody,
        response: { 200: keyInfo },
      },
    },
    (req, reply) =>
      mutate(
        ctx,
        req,
        reply,
        ctx.tenants.setKeyQuota(req.params.tenantId, req.params.keyId, req.body.quota),
        {
          tenantId: req.params.tenantId,
        },
      ),
  );

  app.delete<{ Params: TenantParams & { keyId: string } }>(
    "/tenants/:tenantId/keys/:keyId",
    { schema: { summary: "Revoke an API key", tags: ["keys"], params: keyParams } },
    (req, reply) =>
      mutate(ctx, req, reply, ctx.tenants.revokeKey(req.params.tenantId, req.params.keyId), {
        tenantId: req.params.tenantId,
      }),
  );
}
