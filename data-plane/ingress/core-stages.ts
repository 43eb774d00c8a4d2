/** The stages every request goes through: config present, tenant identified, route matched. */
import { presentedKey } from "../../proto/presented-key.ts";
import type { RouteProtocol } from "../config-client/plain-config.ts";
import { reject } from "../errors.ts";
import type { LiveConfig } from "../router/live-config.ts";
import type { Stage } from "./pipeline.ts";

/** Pins the config the request is served with; 503 not_ready while there is none. */
export function requireConfig(current: () => LiveConfig | undefined): Stage {
  return {
    name: "config",
    run(ctx) {
      ctx.config = current();
      return ctx.config ? undefined : reject("CORRAL_DP_NOT_READY", "no configuration has been applied yet");
    },
  };
}

/** API key -> tenant: 401 for a missing or unknown key, 403 for a suspended tenant. */
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

/**
 * The tenant's route of this protocol for host, path and method: 404 no_route when none matches;
 * 400 bad_path for a path that could mean something else upstream (router/request-target.ts).
 */
export function matchRoute(protocol: RouteProtocol = "http"): Stage {
  return {
    name: "route",
    run(ctx) {
      if (ctx.badPath !== undefined) return reject("CORRAL_DP_BAD_PATH", ctx.badPath);
      const route = ctx.tenant!.routes.match(ctx.host, ctx.path, ctx.method, protocol);
      if (!route) return reject("CORRAL_DP_NO_ROUTE", `no route for ${ctx.method} ${ctx.path}`);
      ctx.route = route;
      return undefined;
    },
  };
}
