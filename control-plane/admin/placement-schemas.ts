/**
 * JSON schemas of the placement and limits part of the admin API: slots, plans, admission
 * settings, tenant placement and blast-radius analysis. Same rules as schemas.ts: closed
 * request bodies, every string and number bounded; response schemas list every field.
 */
import { egressAllowInput, shardProperties } from "../service/resource-schemas.ts";
import { nullablePeriodQuotaInput, periodQuota } from "../service/quota-schemas.ts";
import { LIMIT_BOUNDS, QUOTA_BOUNDS, quotas, SLUG_PATTERN } from "./schemas.ts";

/** Slot and zone names: the rule a node's Hello follows (sync/frames.ts). */
export const SLOT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
const slotName = { type: "string", pattern: SLOT_NAME_PATTERN, maxLength: 63 } as const;
const nullableTimestamp = { type: ["string", "null"], format: "date-time" } as const;
const PRIORITIES = ["batch", "standard", "critical"] as const;
const number = { type: "number" } as const;
const integer = { type: "integer" } as const;

// ---- slots ----------------------------------------------------------------------

export const slotParams = {
  type: "object",
  properties: { name: slotName },
  required: ["name"],
} as const;

export const declareSlotBody = {
  type: "object",
  additionalProperties: false,
  required: ["zone"],
  properties: {
    zone: slotName,
    httpUrl: {
      type: "string",
      pattern: "^https?://[^\\s/?#@]+(/[^\\s?#]*)?$",
      maxLength: 2048,
      description: "ingress URL other nodes forward to (default: the one the node reports)",
    },
    grpcAddress: {
      type: "string",
      pattern: "^[A-Za-z0-9.\\[\\]:-]+:[0-9]{1,5}$",
      maxLength: 512,
      description: "host:port of the node's gRPC ingress (default: the one the node reports)",
    },
  },
} as const;

export const slotView = {
  type: "object",
  properties: {
    name: { type: "string" },
    zone: { type: "string" },
    httpUrl: { type: "string" },
    grpcAddress: { type: "string" },
    declared: { type: "boolean", description: "an operator declared it" },
    registered: { type: "boolean", description: "a node has said Hello for it" },
    reportedZone: { type: ["string", "null"], description: "the zone its node reported" },
    live: { type: "boolean", description: "a CP replica holds its node's connection and saw it recently" },
    lastSeen: nullableTimestamp,
    inFleet: { type: "boolean", description: "part of placements now" },
    forgetAt: { ...nullableTimestamp, description: "when it leaves placements unless its node returns" },
  },
  required: [
    "name",
    "zone",
    "httpUrl",
    "grpcAddress",
    "declared",
    "registered",
    "reportedZone",
    "live",
    "lastSeen",
    "inFleet",
    "forgetAt",
  ],
} as const;

export const slotList = {
  type: "object",
  properties: { items: { type: "array", items: slotView } },
  required: ["items"],
} as const;

// ---- plans ----------------------------------------------------------------------

export const planParams = {
  type: "object",
  properties: { name: { type: "string", pattern: SLUG_PATTERN, maxLength: 63 } },
  required: ["name"],
} as const;

export const planBody = {
  type: "object",
  additionalProperties: false,
  required: ["rate", "burst", "concurrency", "priority", "shardSize"],
  properties: {
    rate: { ...LIMIT_BOUNDS.rate, description: "sustained requests per second, whole tenant (0 = no limit)" },
    burst: { ...LIMIT_BOUNDS.burst, description: "burst bucket size; at least 1 when rate > 0" },
    concurrency: { ...LIMIT_BOUNDS.concurrency, description: "in-flight requests per node (0 = no limit)" },
    priority: { enum: PRIORITIES },
    shardSize: { ...LIMIT_BOUNDS.shardSize, description: "k: slots serving each tenant" },
    quotas: {
      type: "object",
      additionalProperties: false,
      description:
        "what each tenant on the plan may hold; absent members keep their value (new plan: the defaults)",
      properties: QUOTA_BOUNDS,
    },
    quota: {
      ...nullablePeriodQuotaInput,
      description:
        "period quota of the plan's tenants (usage plans); null = none; absent: a new plan has none, a replaced plan keeps its own",
    },
  },
  if: { properties: { rate: { type: "number", exclusiveMinimum: 0 } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
  then: { properties: { burst: { type: "number", minimum: 1 } } },
} as const;

export const plan = {
  type: "object",
  properties: {
    name: { type: "string" },
    rate: number,
    burst: number,
    concurrency: integer,
    priority: { enum: PRIORITIES },
    shardSize: integer,
    quotas,
    quota: periodQuota,
    tenants: { type: "integer", description: "tenants on this plan" },
  },
  required: ["name", "rate", "burst", "concurrency", "priority", "shardSize", "quotas", "tenants"],
} as const;

export const planList = {
  type: "object",
  properties: { items: { type: "array", items: plan } },
  required: ["items"],
} as const;

// ---- admission settings ---------------------------------------------------------

const admissionFields = {
  maxInflight: {
    type: "integer",
    minimum: 0,
    maximum: 1_000_000,
    default: 0,
    description: "node shedder: in-flight threshold (0 = node default)",
  },
  maxEventLoopDelayMs: {
    type: "integer",
    minimum: 0,
    maximum: 60_000,
    default: 0,
    description: "node shedder: event-loop delay threshold in ms (0 = node default)",
  },
  shedShadow: { type: "boolean", default: false, description: "shedder counts but does not reject" },
  shedDisabled: { type: "boolean", default: false, description: "kill switch: no shedding" },
  rateShadow: { type: "boolean", default: false, description: "rate limiters count but do not reject" },
  rateDisabled: { type: "boolean", default: false, description: "kill switch: no rate limiting" },
  quotaShadow: { type: "boolean", default: false, description: "period quotas count but do not reject" },
  quotaDisabled: { type: "boolean", default: false, description: "kill switch: no period quotas" },
} as const;

export const admissionBody = {
  type: "object",
  additionalProperties: false,
  description: "the whole setting: fields left out take their defaults",
  properties: admissionFields,
} as const;

export const admission = {
  type: "object",
  properties: {
    maxInflight: integer,
    maxEventLoopDelayMs: integer,
    shedShadow: { type: "boolean" },
    shedDisabled: { type: "boolean" },
    rateShadow: { type: "boolean" },
    rateDisabled: { type: "boolean" },
    quotaShadow: { type: "boolean" },
    quotaDisabled: { type: "boolean" },
    updatedAt: nullableTimestamp,
  },
  required: [...Object.keys(admissionFields), "updatedAt"],
} as const;

// ---- egress settings ------------------------------------------------------------

export const egressBody = {
  type: "object",
  additionalProperties: false,
  required: ["allow"],
  description: "the fleet's egress exceptions, replacing the previous list",
  properties: { allow: egressAllowInput },
} as const;

export const egress = {
  type: "object",
  properties: { allow: { type: "array", items: { type: "string" } }, updatedAt: nullableTimestamp },
  required: ["allow", "updatedAt"],
} as const;

// ---- placement ------------------------------------------------------------------

export const tenantPlacement = {
  type: "object",
  properties: {
    tenant: { type: "string" },
    ...shardProperties,
    seedFingerprint: { type: "string", description: "identifies the placement seed without revealing it" },
  },
  required: ["tenant", "k", "configuredK", "n", "shard", "seedFingerprint"],
} as const;

export const analysisQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    failed: {
      type: "string",
      pattern: "^([A-Za-z0-9][A-Za-z0-9._-]{0,62}(,[A-Za-z0-9][A-Za-z0-9._-]{0,62}){0,255})?$",
      maxLength: 16_384,
      description: "comma-separated slot names assumed dead (at most 256)",
    },
  },
} as const;

const overlapRow = {
  type: "object",
  properties: {
    overlap: integer,
    pairs: integer,
    fraction: number,
    hypergeometric: { type: "number", description: "uniform k-subsets of N slots" },
    zoneSpread: { type: "number", description: "what zone-spread placement promises" },
  },
  required: ["pairs", "fraction", "hypergeometric", "zoneSpread"],
} as const;

export const placementAnalysis = {
  type: "object",
  properties: {
    n: integer,
    zones: {
      type: "array",
      items: {
        type: "object",
        properties: { zone: { type: "string" }, slots: integer },
        required: ["zone", "slots"],
      },
    },
    tenants: integer,
    shardSizes: {
      type: "array",
      description: "k distribution (k as placed: capped by the fleet size)",
      items: { type: "object", properties: { k: integer, tenants: integer }, required: ["k", "tenants"] },
    },
    slotLoad: {
      type: "object",
      properties: { min: integer, max: integer, mean: number },
      required: ["min", "max", "mean"],
    },
    slots: {
      type: "array",
      items: {
        type: "object",
        properties: {
          slot: { type: "string" },
          zone: { type: "string" },
          live: { type: "boolean" },
          tenants: integer,
        },
        required: ["slot", "zone", "live", "tenants"],
      },
    },
    overlap: {
      type: "object",
      description: "shard overlap of tenant pairs (all pairs, or a fixed-seed sample of 20000)",
      properties: {
        pairs: integer,
        sampled: { type: "boolean" },
        distribution: { type: "array", items: overlapRow },
        fullOverlap: overlapRow,
      },
      required: ["pairs", "sampled", "distribution", "fullOverlap"],
    },
    failure: {
      type: "object",
      properties: {
        failedSlots: { type: "array", items: { type: "string" } },
        tenantsLosingWholeShard: { type: "array", items: { type: "string" } },
        count: integer,
        truncated: { type: "boolean" },
      },
      required: ["failedSlots", "tenantsLosingWholeShard", "count", "truncated"],
    },
    seedFingerprint: { type: "string" },
  },
  required: [
    "n",
    "zones",
    "tenants",
    "shardSizes",
    "slotLoad",
    "slots",
    "overlap",
    "failure",
    "seedFingerprint",
  ],
} as const;
