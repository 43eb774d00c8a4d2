/** Stage `identify`: API key -> tenant; 401 for a missing or unknown key, 403 for a suspended tenant. */
import { reject } from "../errors.ts";
import { presentedKey } from "../../proto/presented-key.ts";
import type { Stage } from "./stage.ts";

export function identifyTenant(): Stage {
  return {
    name: "identify",
    run(ctx) {
      const key = presentedKey(ctx.headers);
      if (!key)
        return reject("CORRAL_DP_UNAUTHORIZED", "send the API key in x-api-key or Authorization: Bearer");
      const identity = ctx.config!.identify(key);
      if (!identity) return reject("CORRAL_DP_UNAUTHORIZED", "unknown API key");
      ctx.tenant = identity.tenant;
      ctx.keyId = identity.keyId;
      if (identity.tenant.status !== "active") return reject("CORRAL_DP_TENANT_SUSPENDED");
      return undefined;
    },
  };
}
