/**
 * Tenants for a load run, created the way an operator would: through the admin API of the
 * control plane. Each gets a plan (or per-tenant limit overrides), an upstream, one route
 * `/lt` to it and an invoke key.
 */
import { createTenant as createTenantVia } from "../../test/support/tenants.ts";
import type { AdminClient } from "../../bin/admin/admin-client.ts";

export const ROUTE_PREFIX = "/lt";

export type PlanLimits = {
  rate: number;
  burst: number;
  concurrency: number;
  priority: "batch" | "standard" | "critical";
  shardSize: number;
};

export type LimitOverrides = Partial<PlanLimits> & { shadow?: boolean; disabled?: boolean };

export type TenantSpec = {
  id: string;
  plan: string;
  upstreamUrl: string;
  limits?: LimitOverrides;
  /** route timeout (default 15000) */
  timeoutMs?: number;
  /** the upstream's targets and policy (weights, healthCheck, outlier) instead of upstreamUrl alone */
  upstream?: { targets: string[] } & Record<string, unknown>;
  /** more fields of the route (e.g. retries) */
  route?: Record<string, unknown>;
};

export type CreatedTenant = {
  id: string;
  key: string;
  keyId: string;
  upstreamId: string;
  routeId: string;
  /** request path of this tenant's traffic */
  path: string;
};

/** Creates or replaces a plan. */
export async function putPlan(admin: AdminClient, name: string, limits: PlanLimits): Promise<void> {
  await admin.request("PUT", `/admin/v1/plans/${encodeURIComponent(name)}`, { body: limits });
}

export async function createTenant(admin: AdminClient, spec: TenantSpec): Promise<CreatedTenant> {
  const created = await createTenantVia(admin, {
    id: spec.id,
    name: `load ${spec.id}`,
    plan: spec.plan,
    limits: spec.limits,
    upstream: spec.upstream ?? spec.upstreamUrl,
    routes: [{ pathPrefix: ROUTE_PREFIX, timeoutMs: spec.timeoutMs ?? 15_000, ...spec.route }],
    keys: { load: ["invoke"] },
  });
  return {
    id: spec.id,
    key: created.key,
    keyId: created.keys.load!.id,
    upstreamId: created.upstreamId!,
    routeId: created.routeIds[0]!,
    path: `${ROUTE_PREFIX}/${spec.id}`,
  };
}

/** Creates every tenant, `parallel` at a time, in order of the specs. */
export async function createTenants(
  admin: AdminClient,
  specs: TenantSpec[],
  parallel = 4,
): Promise<CreatedTenant[]> {
  const created: CreatedTenant[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      created[i] = await createTenant(admin, specs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, worker));
  return created;
}
