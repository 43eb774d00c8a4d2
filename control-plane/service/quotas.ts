/**
 * Per-tenant resource quotas (pure). A plan sets each quota; a tenant may override any of
 * them (admin API only). A change that leaves the tenant above one of its quotas is refused
 * with CORRAL_QUOTA_EXCEEDED naming the quota; a tenant already above a quota (lowered by an
 * operator) may still shrink, since only growing changes are checked.
 */
import { CorralError } from "../errors.ts";
import { QUOTA_NAMES, type QuotaName, type QuotaOverrides, type Quotas } from "../store/quota-columns.ts";

export { QUOTA_MAX, type QuotaOverrides, type Quotas } from "../store/quota-columns.ts";

/** What a tenant holds: live keys only (revoked keys do not travel), targets over all upstreams. */
export interface TenantUsage {
  routes: number;
  upstreams: number;
  keys: number;
  targets: number;
  /** its compiled snapshot fragment (publish/tenant-size.ts) */
  configBytes: number;
}

const USAGE_OF: Record<QuotaName, keyof TenantUsage> = {
  maxRoutes: "routes",
  maxUpstreams: "upstreams",
  maxKeys: "keys",
  maxTargets: "targets",
  maxConfigBytes: "configBytes",
};

export function resolveQuotas(plan: Quotas, overrides: QuotaOverrides): Quotas {
  const out = { ...plan };
  for (const name of QUOTA_NAMES) {
    const value = overrides[name];
    if (value !== undefined && value !== null) out[name] = value;
  }
  return out;
}

/** The first quota the usage is above, if any. */
export function exceededQuota(
  usage: TenantUsage,
  quotas: Quotas,
): { quota: QuotaName; limit: number; used: number } | undefined {
  for (const quota of QUOTA_NAMES) {
    const used = usage[USAGE_OF[quota]];
    if (used > quotas[quota]) return { quota, limit: quotas[quota], used };
  }
  return undefined;
}

export function assertWithinQuotas(tenantId: string, usage: TenantUsage, quotas: Quotas): void {
  const over = exceededQuota(usage, quotas);
  if (!over) return;
  throw new CorralError(
    "CORRAL_QUOTA_EXCEEDED",
    `tenant ${tenantId} would hold ${over.used} against its ${over.quota} quota of ${over.limit}`,
    over,
  );
}

/**
 * The fleet-wide bound: every tenant's fragment plus the reserve for the rest of the snapshot
 * (slots, settings, its own fields) must stay within the uncompressed payload bound.
 */
export function assertFleetFits(totalTenantBytes: number, reserve: number, maxPayload: number): void {
  const needed = totalTenantBytes + reserve;
  if (needed <= maxPayload) return;
  throw new CorralError(
    "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
    `the change would need ${needed} bytes of snapshot payload but the bound is ${maxPayload} (CORRAL_SNAPSHOT_MAX_PAYLOAD)`,
    { needed, maxPayload },
  );
}
