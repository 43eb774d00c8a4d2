/**
 * The command line's form of a period quota: `LIMIT/PERIOD[@OFFSET]`, e.g. `1000/month`,
 * `50000/day@PT2H` (the offset an ISO 8601 duration; the API checks it against the period),
 * or `none` (no quota) and, where an override can go back to the plan's, `plan`. Pure.
 */
export type QuotaSpec = { limit: number; period: string; offset?: string } | null | "plan";

const SPEC_RE = /^(\d{1,13})\/(minute|hour|day|week|month)(?:@(P[0-9DTHMS.]{1,31}))?$/;

/** The API body's quota for `text`; throws an Error saying what is expected. */
export function parseQuotaSpec(text: string, allowPlan: boolean): QuotaSpec {
  if (text === "none") return null;
  if (text === "plan" && allowPlan) return "plan";
  const m = SPEC_RE.exec(text);
  if (!m) {
    const alternatives = allowPlan ? ", none or plan" : " or none";
    throw new Error(
      `--quota expects LIMIT/PERIOD[@OFFSET] (e.g. 1000/month@PT2H; PERIOD minute|hour|day|week|month)${alternatives}, got ${JSON.stringify(text)}`,
    );
  }
  return { limit: Number(m[1]), period: m[2]!, ...(m[3] ? { offset: m[3] } : {}) };
}
