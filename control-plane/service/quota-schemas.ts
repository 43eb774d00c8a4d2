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

// ---- usage reports --------------------------------------------------------------

/** checked by service/usage-reader.ts (the shared Ajv has no formats) */
const dateTime = { type: "string", minLength: 1, maxLength: 40 } as const;

/** ?from&to&granularity of a usage report. */
export const usageQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    from: {
      ...dateTime,
      description:
        "start (RFC 3339), rounded down to the granularity; default: 1 day (hour) or 30 days (day) before to",
    },
    to: { ...dateTime, description: "end, exclusive (RFC 3339), rounded up to the granularity; default now" },
    by: { enum: ["key", "route"], description: "split each bucket per API key or per route ('' = none)" },
    granularity: {
      enum: ["hour", "day"],
      description: "bucket size (UTC); default hour. At most 31 days of hours, 400 of days",
    },
  },
} as const;

const quotaUsage = {
  type: ["object", "null"],
  description: "the current period of the tenant's quota; null when it has none",
  properties: {
    limit: { type: "integer" },
    used: { type: "integer", description: "admitted requests in the period so far" },
    remaining: { type: "integer" },
    period: { enum: ["minute", "hour", "day", "week", "month"] },
    offset: { type: "string" },
    periodStart: { type: "string", format: "date-time" },
    resetsAt: { type: "string", format: "date-time", description: "when the period ends" },
    source: {
      enum: ["counters", "metering"],
      description:
        "counters: the nodes' shared counters (exact); metering: hourly rows, which count whole hours a period starts inside and trail by a status interval",
    },
  },
  required: ["limit", "used", "remaining", "period", "offset", "periodStart", "resetsAt", "source"],
} as const;

export const usageBucket = {
  type: "object",
  properties: {
    start: { type: "string", format: "date-time" },
    keyId: { type: "string", description: "with by=key: the key ('' = refused before a key was known)" },
    routeId: { type: "string", description: "with by=route: the route ('' = none matched)" },
    admitted: { type: "integer" },
    refused: {
      type: "object",
      additionalProperties: { type: "integer" },
      description: "refusals by corral-reason",
    },
  },
  required: ["start", "admitted", "refused"],
} as const;

/** The usage report's own members (the admin API adds them to its resource usage). */
export const usageReportProperties = {
  tenantId: { type: "string" },
  from: { type: "string", format: "date-time" },
  to: { type: "string", format: "date-time" },
  granularity: { enum: ["hour", "day"] },
  quota: quotaUsage,
  history: { type: "array", items: usageBucket, description: "buckets with requests, oldest first" },
} as const;

export const usageReport = {
  type: "object",
  properties: usageReportProperties,
  required: ["tenantId", "from", "to", "granularity", "quota", "history"],
} as const;
