/**
 * Period quotas of usage plans (docs/design.md §3.5), as stored and as the APIs show them.
 * Stored (migration 0013) in the same three columns on plans, tenants and api_keys:
 * quota_limit (NULL = none), quota_period, quota_offset_ms; tenants add quota_override (false =
 * the plan's quota). The APIs speak `{limit, period, offset}` with the offset an ISO 8601
 * duration (`PT0S`, `PT2H`, `P1D`): days, hours, minutes and seconds (to the ms) only, since
 * years and months have no fixed length. Pure.
 */
import type { QuotaPeriod } from "../../runtime/quota-period.ts";

/** A quota as stored and compiled: limit requests per calendar period, start shifted by offsetMs. */
export interface PeriodQuota {
  limit: number;
  period: QuotaPeriod;
  offsetMs: number;
}

/** A quota as the APIs take and show it. */
export interface PeriodQuotaView {
  limit: number;
  period: QuotaPeriod;
  offset: string;
}

/** Optional so that rows built without them (fixtures, other readers) mean "no quota". */
export interface PeriodQuotaColumns {
  quota_limit?: number | null;
  quota_period?: QuotaPeriod | null;
  quota_offset_ms?: number;
}

export const PERIOD_QUOTA_COLUMNS = "quota_limit, quota_period, quota_offset_ms";

/** The row's quota; undefined when it has none. */
export function rowQuota(r: PeriodQuotaColumns): PeriodQuota | undefined {
  if (r.quota_limit == null || r.quota_period == null) return undefined;
  return { limit: r.quota_limit, period: r.quota_period, offsetMs: r.quota_offset_ms ?? 0 };
}

/** Values of quota_limit, quota_period, quota_offset_ms for a quota (null: none). */
export function quotaValues(q: PeriodQuota | null): [number | null, QuotaPeriod | null, number] {
  return q ? [q.limit, q.period, q.offsetMs] : [null, null, 0];
}

export function quotaView(q: PeriodQuota | undefined): PeriodQuotaView | null {
  return q ? { limit: q.limit, period: q.period, offset: formatIsoDuration(q.offsetMs) } : null;
}

const DURATION_RE = /^P(?:(\d{1,2})D)?(?:T(?:(\d{1,3})H)?(?:(\d{1,5})M)?(?:(\d{1,7})(?:\.(\d{1,3}))?S)?)?$/;
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1000] as const;

/** ms of an ISO 8601 duration of days, hours, minutes and seconds; undefined when it is not one. */
export function parseIsoDuration(text: string): number | undefined {
  if (text.length > 32) return undefined;
  const m = DURATION_RE.exec(text);
  if (!m || text === "P" || text.endsWith("T")) return undefined;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) ms += Number(m[i + 1] ?? 0) * UNIT_MS[i]!;
  return ms + Number((m[5] ?? "").padEnd(3, "0"));
}

/** The canonical ISO 8601 form of a whole, non-negative number of ms: `PT0S`, `PT2H`, `P1DT30M`. */
export function formatIsoDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`not a duration in ms: ${ms}`);
  const days = Math.floor(ms / UNIT_MS[0]);
  const hours = Math.floor((ms % UNIT_MS[0]) / UNIT_MS[1]);
  const minutes = Math.floor((ms % UNIT_MS[1]) / UNIT_MS[2]);
  const seconds = Math.floor((ms % UNIT_MS[2]) / UNIT_MS[3]);
  const frac = ms % 1000;
  const sec = frac
    ? `${seconds}.${String(frac).padStart(3, "0").replace(/0+$/, "")}S`
    : seconds
      ? `${seconds}S`
      : "";
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${sec}`;
  if (!days && !time) return "PT0S";
  return `P${days ? `${days}D` : ""}${time ? `T${time}` : ""}`;
}
