/**
 * THE order of work for every tenant request (DESIGN §5), read top to bottom:
 *
 *   config -> identify -> [admission: deadline -> shed -> limit] -> route -> proxy
 *
 * Admission stages (data-plane/admission/) plug in at the marked place as Stage objects; a
 * stage that needs the matched route (route buckets) goes after "route". The proxy is not a
 * stage: it runs when every stage has let the request through.
 */
import type { RouteProtocol } from "../config-client/plain-config.ts";
import type { LiveConfig } from "../router/live-config.ts";
import { identifyTenant, matchRoute, requireConfig } from "./core-stages.ts";
import type { Stage } from "./pipeline.ts";

export interface PipelineDeps {
  currentConfig: () => LiveConfig | undefined;
  /** deadline, shed and limit stages, in that order */
  admission?: readonly Stage[];
  /** the ingress this pipeline serves (default http): only routes of this protocol match */
  protocol?: RouteProtocol;
}

export function requestStages(deps: PipelineDeps): Stage[] {
  return [
    requireConfig(deps.currentConfig),
    identifyTenant(),
    ...(deps.admission ?? []),
    matchRoute(deps.protocol),
  ];
}
