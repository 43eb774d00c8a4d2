/**
 * Names of the shared quota counters in Redis. The data plane adds to them; the
 * control plane's usage reader reads them. Both import this module and nothing else
 * of each other.
 *
 *   corral:quota:{tenantId}:t:{periodStartMs}          the tenant's count in a period
 *   corral:quota:{tenantId}:k:{keyId}:{periodStartMs}  one API key's count in a period
 *
 * Counters are keyed by the period's start, not by the limit, so changing a quota's
 * limit mid-period keeps the period's count. Ids come from the control plane, but
 * they are checked here anyway, before they become part of a key.
 */

export type QuotaScope = { kind: "tenant" } | { kind: "key"; keyId: string };

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function quotaCounterKey(tenantId: string, scope: QuotaScope, periodStartMs: number): string {
  checkId("tenant id", tenantId);
  if (!Number.isSafeInteger(periodStartMs)) {
    throw new RangeError(`quota period start must be an integer of ms, got ${periodStartMs}`);
  }
  if (scope.kind === "tenant") return `corral:quota:${tenantId}:t:${periodStartMs}`;
  checkId("key id", scope.keyId);
  return `corral:quota:${tenantId}:k:${scope.keyId}:${periodStartMs}`;
}

/** True when `id` may appear in a quota counter key. */
export function isQuotaKeyId(id: string): boolean {
  return ID_PATTERN.test(id);
}

function checkId(what: string, id: string): void {
  if (!isQuotaKeyId(id)) throw new RangeError(`${what} for a quota counter must match [A-Za-z0-9_-]{1,64}`);
}
