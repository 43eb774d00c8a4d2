/**
 * THE order of work for every tenant request (DESIGN §5), read top to bottom:
 *
 *   config -> identify -> [admission: deadline -> shed -> limit] -> route -> proxy
 *
 * Admission stages (data-plane/admission/) plug in at the marked place as Stage objects; a
 * stage that needs the matched route (route buckets) goes after "route". The proxy is not a
 * stage: it runs when every stage has let the request through.
 */
import type { LiveConfig } from "../router/live-config.ts";
import { identifyTenant, matchRoute, requireConfig } from "./core-stages.ts";
import type { Stage } from "./pipeline.ts";

export interface PipelineDeps {
  currentConfig: () => LiveConfig | undefined;
  /** deadline, shed and limit stages, in that order */
  admission?: readonly Stage[];
}

export function requestStages(deps: PipelineDeps): Stage[] {
  return [requireConfig(deps.currentConfig), identifyTenant(), ...(deps.admission ?? []), matchRoute()];
}
