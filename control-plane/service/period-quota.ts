/**
 * Period quotas at the APIs (pure): the offset of an API body parsed and bounded, and the
 * resolution plan -> tenant override. The stored form and the ISO 8601 duration codec are in
 * store/period-quota.ts.
 */
import { checkQuotaOffset, QUOTA_PERIODS, type QuotaPeriod } from "../../runtime/quota-period.ts";
import { type PeriodQuota, type PeriodQuotaView, parseIsoDuration } from "../store/period-quota.ts";
import { invalid } from "./input-validation.ts";

export { type PeriodQuota, type PeriodQuotaView, QUOTA_PERIODS, type QuotaPeriod };

/** Largest quota limit (the migration holds the same bound). */
export const QUOTA_LIMIT_MAX = 1_000_000_000_000;

/** A quota as an API body gives it (schema-checked: limit and period); the offset defaults to PT0S. */
export type PeriodQuotaInput = Omit<PeriodQuotaView, "offset"> & { offset?: string };

/** The quota with its offset parsed and bounded (below the shortest period); 400 naming `path`. */
export function parsePeriodQuota(input: PeriodQuotaInput, path: string): PeriodQuota {
  const offset = input.offset ?? "PT0S";
  const offsetMs = parseIsoDuration(offset);
  if (offsetMs === undefined)
    throw invalid(
      `${path}/offset`,
      "must be an ISO 8601 duration in days, hours, minutes, seconds (e.g. PT2H)",
    );
  try {
    checkQuotaOffset(input.period, offsetMs);
  } catch {
    throw invalid(`${path}/offset`, `must be shorter than the shortest ${input.period} (${offset} is not)`);
  }
  return { limit: input.limit, period: input.period, offsetMs };
}

/** undefined stays undefined (no change), null stays null (no quota). */
export function parseOptionalQuota(
  input: PeriodQuotaInput | null | undefined,
  path: string,
): PeriodQuota | null | undefined {
  return input === undefined || input === null ? input : parsePeriodQuota(input, path);
}
