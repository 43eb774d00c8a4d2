/**
 * Limit rules the request schemas cannot check alone, because they span a tenant's overrides
 * and its plan: a positive effective rate needs an effective burst of at least 1. Run inside
 * the change's transaction, after the write: a violation rolls the change back.
 */
import { tenantsWithUncoveredRate } from "../store/plans.ts";
import type { Queryable } from "../store/db.ts";
import { invalid } from "./input-validation.ts";

export async function assertTenantRateCovered(tx: Queryable, tenantId: string): Promise<void> {
  const [bad] = await tenantsWithUncoveredRate(tx, { tenantId });
  if (bad) {
    throw invalid(
      "body/limits/burst",
      `must be at least 1 while the rate is above 0 (tenant ${bad.id}: rate ${bad.rate}, burst ${bad.burst}, overrides merged with the plan)`,
    );
  }
}

export async function assertPlanRateCovered(tx: Queryable, plan: string): Promise<void> {
  const bad = await tenantsWithUncoveredRate(tx, { plan });
  if (bad.length > 0) {
    throw invalid(
      "body/rate",
      `would leave tenants on plan ${plan} with a rate above 0 but a burst override below 1: ${bad.map((t) => t.id).join(", ")}`,
    );
  }
}
