/** /admin/v1/tenants/:tenantId/keys: issue (shown once), list, set a key's period quota, revoke. */
import type { FastifyInstance } from "fastify";
import { documented } from "../http/server.ts";
import type { NewKey } from "../service/admin-tenant-config.ts";
import type { PeriodQuotaInput } from "../service/period-quota.ts";
import { nullablePeriodQuotaInput } from "../service/quota-schemas.ts";
import { closed } from "../service/schema-builders.ts";
import { type AdminContext, mutateTenant } from "./context.ts";
import { createKeyBody, issuedKey, keyInfo, keyList, keyParams, tenantParams } from "./schemas.ts";

const patchKeyBody = closed({ quota: nullablePeriodQuotaInput }, { required: ["quota"] });

const doc = documented("keys");

type TenantParams = { tenantId: string };

export function registerKeyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: TenantParams; Body: NewKey }>(
    "/tenants/:tenantId/keys",
    doc("Issue an API key; the key is in this response only", {
      params: tenantParams,
      body: createKeyBody,
      response: { 201: issuedKey },
    }),
    (req, reply) =>
      mutateTenant(ctx, req, reply, (tenantId) => ctx.tenants.issueKey(tenantId, req.body), { grows: true }),
  );

  app.get<{ Params: TenantParams }>(
    "/tenants/:tenantId/keys",
    doc("List a tenant's API keys", { params: tenantParams, response: { 200: keyList } }),
    async (req) => ({ items: await ctx.tenants.listKeys(req.params.tenantId) }),
  );

  app.patch<{ Params: TenantParams & { keyId: string }; Body: { quota: PeriodQuotaInput | null } }>(
    "/tenants/:tenantId/keys/:keyId",
    doc("Set a key's own period quota (null removes it); counted beside the tenant's", {
      params: keyParams,
      body: patchKeyBody,
      response: { 200: keyInfo },
    }),
    (req, reply) =>
      mutateTenant(ctx, req, reply, (tenantId) =>
        ctx.tenants.setKeyQuota(tenantId, req.params.keyId, req.body.quota),
      ),
  );

  app.delete<{ Params: TenantParams & { keyId: string } }>(
    "/tenants/:tenantId/keys/:keyId",
    doc("Revoke an API key", { params: keyParams }),
    (req, reply) =>
      mutateTenant(ctx, req, reply, (tenantId) => ctx.tenants.revokeKey(tenantId, req.params.keyId)),
  );
}
