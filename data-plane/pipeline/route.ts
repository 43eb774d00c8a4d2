/**
 * Stage `route`: the tenant's route of this protocol for host, path and method; 404 no_route when
 * none matches; 400 bad_path for a path that could mean something else upstream
 * (router/request-target.ts); 401 for a keyless caller (identify.ts) on a route that is not public.
 */
import { reject } from "../errors.ts";
import type { RouteProtocol } from "../model/plain-config.ts";
import type { Stage } from "./stage.ts";

export function matchRoute(protocol: RouteProtocol = "http"): Stage {
  return {
    name: "route",
    run(ctx) {
      if (ctx.badPath !== undefined) return reject("CORRAL_DP_BAD_PATH", ctx.badPath);
      const route = ctx.tenant!.routes.match(ctx.host, ctx.path, ctx.method, protocol);
      if (!route) return reject("CORRAL_DP_NO_ROUTE", `no route for ${ctx.method} ${ctx.path}`);
      if (ctx.keyless && !route.public)
        return reject("CORRAL_DP_UNAUTHORIZED", "this route is not public: send the API key");
      ctx.route = route;
      return undefined;
    },
  };
}
