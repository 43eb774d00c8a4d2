/**
 * RateLimit and RateLimit-Policy response headers, in the syntax of
 * draft-ietf-httpapi-ratelimit-headers (revisions 08 to 11): Structured Field lists whose items
 * are a quoted policy name with parameters.
 *
 *   RateLimit-Policy: "default";q=<quota units>;w=<window seconds>
 *   RateLimit:        "default";r=<remaining units>;t=<seconds until the quota resets>
 *
 * Corral describes the limit this node enforces (its share of the tenant's limit): the quota is
 * what the sustained bucket allows over a window of w seconds, and t is the time until that
 * bucket is full again. A period quota (usage plans) is a second item, "quota", beside the
 * bucket's: q is the period's limit, w the period's length, r what is left, t the seconds
 * until the period ends.
 */
export const POLICY_NAME = "default";
export const QUOTA_POLICY_NAME = "quota";

export type RateLimitState = { quota: number; windowS: number; remaining: number; resetS: number };

const nonNegativeInt = (x: number) => (Number.isFinite(x) ? Math.max(0, Math.floor(x)) : 0);

export function rateLimitPolicyHeader(quota: number, windowS: number, name = POLICY_NAME): string {
  return `"${name}";q=${nonNegativeInt(quota)};w=${Math.max(1, nonNegativeInt(windowS))}`;
}

export function rateLimitHeader(remaining: number, resetS: number, name = POLICY_NAME): string {
  return `"${name}";r=${nonNegativeInt(remaining)};t=${Math.ceil(Math.max(0, resetS))}`;
}

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    ratelimit: rateLimitHeader(state.remaining, state.resetS),
    "ratelimit-policy": rateLimitPolicyHeader(state.quota, state.windowS),
  };
}

/** The advertised policy of a bucket refilling at `rate`/s with `capacity`: q units per w s. */
export function policyOf(rate: number, capacity: number): { quota: number; windowS: number } {
  const windowS = Math.max(1, Math.ceil(capacity / rate));
  return { quota: Math.max(1, Math.floor(rate * windowS)), windowS };
}

/**
 * The RateLimit headers with the period quota's item added to those already set (the
 * buckets'), as Structured Field lists: `"default";r=4;t=1, "quota";r=950;t=1800`.
 */
export function withQuotaPolicy(
  set: Readonly<Record<string, string>>,
  quota: { limit: number; remaining: number; resetMs: number; windowMs: number },
): Record<string, string> {
  const join = (before: string | undefined, item: string) => (before ? `${before}, ${item}` : item);
  return {
    ratelimit: join(set.ratelimit, rateLimitHeader(quota.remaining, quota.resetMs / 1000, QUOTA_POLICY_NAME)),
    "ratelimit-policy": join(
      set["ratelimit-policy"],
      rateLimitPolicyHeader(quota.limit, Math.ceil(quota.windowMs / 1000), QUOTA_POLICY_NAME),
    ),
  };
}
