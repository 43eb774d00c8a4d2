/**
 * Stage `identify`: API key -> tenant; 401 for a missing or unknown key, 403 for a suspended
 * tenant. A request without a known key whose host is public for a tenant (keyless public
 * routes, docs/design.md §5.1) is that tenant's, marked keyless: the route stage then accepts
 * only that tenant's public routes for it. A host is public for one tenant at most (the CP and
 * the snapshot check see to it), so a host can never lead to another tenant's routes.
 */
import { reject } from "../errors.ts";
import { presentedKey } from "../../proto/presented-key.ts";
import type { Stage } from "./stage.ts";

export function identifyTenant(): Stage {
  return {
    name: "identify",
    run(ctx) {
      const key = presentedKey(ctx.headers);
      const identity = key ? ctx.config!.identify(key) : undefined;
      if (identity) {
        ctx.tenant = identity.tenant;
        ctx.keyId = identity.keyId;
      } else {
        const tenant = ctx.config!.publicTenant(ctx.host);
        if (!tenant)
          return key
            ? reject("CORRAL_DP_UNAUTHORIZED", "unknown API key")
            : reject("CORRAL_DP_UNAUTHORIZED", "send the API key in x-api-key or Authorization: Bearer");
        ctx.tenant = tenant;
        ctx.keyless = true;
      }
      if (ctx.tenant.status !== "active") return reject("CORRAL_DP_TENANT_SUSPENDED");
      return undefined;
    },
  };
}
