/**
 * JSON schemas of period quotas (usage plans) and of usage reports, shared by the admin API and
 * the tenant API (REST and the gRPC mapping): the same objects validate requests, serialize
 * responses and make up the OpenAPI documents.
 */
import { QUOTA_LIMIT_MAX, QUOTA_PERIODS } from "./period-quota.ts";

const period = { enum: QUOTA_PERIODS, description: "calendar period in UTC (weeks start Monday)" } as const;
const offsetDescription =
  "ISO 8601 duration (days, hours, minutes, seconds) shifting the period's start, below the " +
  "period's shortest length (a month's: 28 days); default PT0S";

/** A period quota as an API body gives it. */
export const periodQuotaInput = {
  type: "object",
  additionalProperties: false,
  required: ["limit", "period"],
  description: "limit requests per period",
  properties: {
    limit: { type: "integer", minimum: 1, maximum: QUOTA_LIMIT_MAX },
    period,
    offset: { type: "string", minLength: 3, maxLength: 32, description: offsetDescription },
  },
} as const;

/** A period quota or null (no quota). */
export const nullablePeriodQuotaInput = {
  oneOf: [{ type: "null" }, periodQuotaInput],
  description: "the period quota; null = no quota",
} as const;

/** A tenant's override: a quota, null (no quota whatever the plan says) or "plan" (the plan's). */
export const periodQuotaOverrideInput = {
  oneOf: [{ type: "null" }, { enum: ["plan"] }, periodQuotaInput],
  description: 'period quota override: null = no quota whatever the plan says, "plan" = the plan\'s',
} as const;

/** A period quota in a response (null: none). */
export const periodQuota = {
  type: ["object", "null"],
  properties: {
    limit: { type: "integer" },
    period: { enum: QUOTA_PERIODS },
    offset: { type: "string" },
  },
  required: ["limit", "period", "offset"],
} as const;
