/**
 * The quota schema: the quota names, the column each is stored in (the same on plans and
 * tenants) and the bounds the migration's CHECKs enforce. The rules that use them are in
 * service/quotas.ts.
 */
export const QUOTA_NAMES = ["maxRoutes", "maxUpstreams", "maxKeys", "maxTargets", "maxConfigBytes"] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
export type Quotas = Record<QuotaName, number>;
/** An absent or null member means "the plan's value". */
export type QuotaOverrides = { [K in QuotaName]?: number | null };

/** API field -> column, the same name on plans and tenants. */
export const QUOTA_COLUMNS: Record<QuotaName, string> = {
  maxRoutes: "max_routes",
  maxUpstreams: "max_upstreams",
  maxKeys: "max_keys",
  maxTargets: "max_targets",
  maxConfigBytes: "max_config_bytes",
};

/** The largest value any quota may take (the migration's CHECK bounds). */
export const QUOTA_MAX: Quotas = {
  maxRoutes: 1_000_000,
  maxUpstreams: 1_000_000,
  maxKeys: 1_000_000,
  maxTargets: 10_000_000,
  maxConfigBytes: 1024 * 1024 * 1024,
};
