/** /admin/v1/tenants/:tenantId/keys: issue (shown once), list, revoke. */
import type { FastifyInstance } from "fastify";
import { CorralError } from "../errors.ts";
import { issueApiKey, listApiKeys, revokeApiKey, type Scope } from "../store/api-keys.ts";
import { assertTenantExists } from "../store/tenants.ts";
import { type AdminContext, mutate } from "./context.ts";
import { createKeyBody, issuedKey, keyList, keyParams, tenantParams } from "./schemas.ts";

type TenantParams = { tenantId: string };

export function registerKeyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: TenantParams; Body: { name: string; scopes: Scope[] } }>(
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
      mutate(
        ctx,
        req,
        reply,
        async (tx) => {
          await assertTenantExists(tx, req.params.tenantId);
          const issued = await issueApiKey(tx, req.params.tenantId, req.body);
          const { key: _shownOnce, ...withoutKey } = issued;
          // a replay must not return the key: only its hash is ever stored
          return { status: 201, body: issued, stored: { status: 201, body: withoutKey } };
        },
        { grows: true },
      ),
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
    async (req) => {
      await assertTenantExists(ctx.pool, req.params.tenantId);
      return { items: await listApiKeys(ctx.pool, req.params.tenantId) };
    },
  );

  app.delete<{ Params: TenantParams & { keyId: string } }>(
    "/tenants/:tenantId/keys/:keyId",
    { schema: { summary: "Revoke an API key", tags: ["keys"], params: keyParams } },
    (req, reply) =>
      mutate(ctx, req, reply, async (tx) => {
        const { tenantId, keyId } = req.params;
        const result = await revokeApiKey(tx, tenantId, keyId);
        if (result === "not-found")
          throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `key ${keyId} not found in tenant ${tenantId}`);
        return { status: 204, body: null, changed: result === "revoked" };
      }),
  );
}
