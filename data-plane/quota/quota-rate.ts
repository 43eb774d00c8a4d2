/**
 * A period quota as a mean rate (requests per second over its shortest period), so that the
 * demand rebalancer (demand/share-rebalancer.ts), which splits rates, also splits the shares
 * of tenants that have only a period quota: members then enforce shares that follow demand
 * while Redis is down.
 */
import type { Quota } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { isQuotaPeriod, SHORTEST_PERIOD_MS } from "../../runtime/quota-period.ts";

export function quotaRate(quota: Quota | undefined): number {
  if (!quota || !(quota.limit > 0) || !isQuotaPeriod(quota.period)) return 0;
  return quota.limit / (SHORTEST_PERIOD_MS[quota.period] / 1000);
}
