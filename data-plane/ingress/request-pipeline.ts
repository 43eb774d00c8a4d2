/**
 * THE order of work for every tenant request (docs/design.md §4, §5), read top to bottom:
 *
 *   config -> identify -> route -> [admission: deadline -> shed] -> placement
 *          -> [limits, where the tenant is served: concurrency -> tenant buckets -> route buckets]
 *          -> proxy (to the upstream, or to the shard member placement chose)
 *
 * The route is matched first because the deadline check needs the route's usual latency and
 * the route buckets need the route (docs/design.md §5.1 counts "no route 404" as identification).
 * Placement comes after shedding, so an overloaded node refuses work before forwarding it, and
 * before the limits, which only the shard members enforce (each its share of the tenant's
 * limit): a forwarded request skips them here and meets them at the member. The proxy is not a
 * stage: it runs when every stage has let the request through.
 */
import type { RouteProtocol } from "../config-client/plain-config.ts";
import type { LiveConfig } from "../router/live-config.ts";
import { identifyTenant, matchRoute, requireConfig } from "./core-stages.ts";
import type { Stage } from "./pipeline.ts";

export interface PipelineDeps {
  currentConfig: () => LiveConfig | undefined;
  /** deadline and shed stages, in that order */
  admission?: readonly Stage[];
  /** serve here, forward to a shard member, or refuse (421/503) */
  placement?: Stage;
  /** tenant concurrency, tenant buckets and route buckets, in that order */
  limits?: readonly Stage[];
  /** the ingress this pipeline serves (default http): only routes of this protocol match */
  protocol?: RouteProtocol;
}

/** The stage, run only when this node serves the request itself (not when it forwards it). */
function servedHere(stage: Stage): Stage {
  return { name: stage.name, run: (ctx) => (ctx.forward ? undefined : stage.run(ctx)) };
}

export function requestStages(deps: PipelineDeps): Stage[] {
  return [
    requireConfig(deps.currentConfig),
    identifyTenant(),
    matchRoute(deps.protocol),
    ...(deps.admission ?? []),
    ...(deps.placement ? [deps.placement] : []),
    ...(deps.limits ?? []).map(servedHere),
  ];
}
