/**
 * JSON schemas of period quotas (usage plans) and of usage reports, shared by the admin API and
 * the tenant API (REST and the gRPC mapping): the same objects validate requests, serialize
 * responses and make up the OpenAPI documents.
 */
import { QUOTA_LIMIT_MAX, QUOTA_PERIODS } from "./period-quota.ts";
import { closed, integer, object, orNull, record, string } from "./schema-builders.ts";

const period = { enum: QUOTA_PERIODS, description: "calendar period in UTC (weeks start Monday)" } as const;
const offsetDescription =
  "ISO 8601 duration (days, hours, minutes, seconds) shifting the period's start, below the " +
  "period's shortest length (a month's: 28 days); default PT0S";

/** A period quota as an API body gives it. */
export const periodQuotaInput = closed(
  {
    limit: { type: "integer", minimum: 1, maximum: QUOTA_LIMIT_MAX },
    period,
    offset: { type: "string", minLength: 3, maxLength: 32, description: offsetDescription },
  },
  { required: ["limit", "period"], description: "limit requests per period" },
);

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
export const periodQuota = orNull(
  record({ limit: integer, period: { enum: QUOTA_PERIODS }, offset: string }),
);

// ---- usage reports --------------------------------------------------------------

/** checked by service/usage-reader.ts (the shared Ajv has no formats) */
const dateTime = { type: "string", minLength: 1, maxLength: 40 } as const;

/** ?from&to&granularity of a usage report. */
export const usageQuery = closed({
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
});

const instant = { type: "string", format: "date-time" } as const;

const quotaUsage = orNull(
  record(
    {
      limit: integer,
      used: { ...integer, description: "admitted requests in the period so far" },
      remaining: integer,
      period: { enum: ["minute", "hour", "day", "week", "month"] },
      offset: string,
      periodStart: instant,
      resetsAt: { ...instant, description: "when the period ends" },
      source: {
        enum: ["counters", "metering"],
        description:
          "counters: the nodes' shared counters (exact); metering: hourly rows, which count whole hours a period starts inside and trail by a status interval",
      },
    },
    "the current period of the tenant's quota; null when it has none",
  ),
);

export const usageBucket = object(
  {
    start: instant,
    keyId: { ...string, description: "with by=key: the key ('' = refused before a key was known)" },
    routeId: { ...string, description: "with by=route: the route ('' = none matched)" },
    admitted: integer,
    refused: { type: "object", additionalProperties: integer, description: "refusals by corral-reason" },
  },
  ["start", "admitted", "refused"],
);

/** The usage report's own members (the admin API adds them to its resource usage). */
export const usageReportProperties = {
  tenantId: string,
  from: instant,
  to: instant,
  granularity: { enum: ["hour", "day"] },
  quota: quotaUsage,
  history: { type: "array", items: usageBucket, description: "buckets with requests, oldest first" },
} as const;

export const usageReport = record(usageReportProperties);
