/**
 * JSON schemas of the placement and limits part of the admin API: slots, plans, admission
 * settings, tenant placement and blast-radius analysis. Same rules as schemas.ts: closed
 * request bodies, every string and number bounded; response schemas list every field.
 */
import {
  egressAllowInput,
  itemsOf,
  nullableTimestamp,
  PRIORITIES,
  shardProperties,
} from "../service/resource-schemas.ts";
import { nullablePeriodQuotaInput, periodQuota } from "../service/quota-schemas.ts";
import { boolean, closed, integer, number, object, record, string } from "../service/schema-builders.ts";
import { LIMIT_BOUNDS, QUOTA_BOUNDS, quotas, SLUG_PATTERN } from "./schemas.ts";

/** Slot and zone names: the rule a node's Hello follows (sync/frames.ts). */
export const SLOT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
const slotName = { type: "string", pattern: SLOT_NAME_PATTERN, maxLength: 63 } as const;

// ---- slots ----------------------------------------------------------------------

export const slotParams = record({ name: slotName });

export const declareSlotBody = closed(
  {
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
  { required: ["zone"] },
);

export const slotView = record({
  name: string,
  zone: string,
  httpUrl: string,
  grpcAddress: string,
  declared: { ...boolean, description: "an operator declared it" },
  registered: { ...boolean, description: "a node has said Hello for it" },
  reportedZone: { type: ["string", "null"], description: "the zone its node reported" },
  live: { ...boolean, description: "a CP replica holds its node's connection and saw it recently" },
  lastSeen: nullableTimestamp,
  inFleet: { ...boolean, description: "part of placements now" },
  forgetAt: { ...nullableTimestamp, description: "when it leaves placements unless its node returns" },
});

export const slotList = itemsOf(slotView);

// ---- plans ----------------------------------------------------------------------

export const planParams = record({ name: { type: "string", pattern: SLUG_PATTERN, maxLength: 63 } });

export const planBody = {
  ...closed(
    {
      rate: {
        ...LIMIT_BOUNDS.rate,
        description: "sustained requests per second, whole tenant (0 = no limit)",
      },
      burst: { ...LIMIT_BOUNDS.burst, description: "burst bucket size; at least 1 when rate > 0" },
      concurrency: { ...LIMIT_BOUNDS.concurrency, description: "in-flight requests per node (0 = no limit)" },
      priority: { enum: PRIORITIES },
      shardSize: { ...LIMIT_BOUNDS.shardSize, description: "k: slots serving each tenant" },
      quotas: closed(QUOTA_BOUNDS, {
        description:
          "what each tenant on the plan may hold; absent members keep their value (new plan: the defaults)",
      }),
      quota: {
        ...nullablePeriodQuotaInput,
        description:
          "period quota of the plan's tenants (usage plans); null = none; absent: a new plan has none, a replaced plan keeps its own",
      },
    },
    { required: ["rate", "burst", "concurrency", "priority", "shardSize"] },
  ),
  if: { properties: { rate: { type: "number", exclusiveMinimum: 0 } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
  then: { properties: { burst: { type: "number", minimum: 1 } } },
} as const;

export const plan = object(
  {
    name: string,
    rate: number,
    burst: number,
    concurrency: integer,
    priority: { enum: PRIORITIES },
    shardSize: integer,
    quotas,
    quota: periodQuota,
    tenants: { ...integer, description: "tenants on this plan" },
  },
  ["name", "rate", "burst", "concurrency", "priority", "shardSize", "quotas", "tenants"],
);

export const planList = itemsOf(plan);

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

export const admissionBody = closed(admissionFields, {
  description: "the whole setting: fields left out take their defaults",
});

export const admission = record({
  maxInflight: integer,
  maxEventLoopDelayMs: integer,
  shedShadow: boolean,
  shedDisabled: boolean,
  rateShadow: boolean,
  rateDisabled: boolean,
  quotaShadow: boolean,
  quotaDisabled: boolean,
  updatedAt: nullableTimestamp,
});

// ---- egress settings ------------------------------------------------------------

export const egressBody = closed(
  { allow: egressAllowInput },
  { required: ["allow"], description: "the fleet's egress exceptions, replacing the previous list" },
);

export const egress = record({ allow: { type: "array", items: string }, updatedAt: nullableTimestamp });

// ---- placement ------------------------------------------------------------------

export const tenantPlacement = record({
  tenant: string,
  ...shardProperties,
  seedFingerprint: { ...string, description: "identifies the placement seed without revealing it" },
});

export const analysisQuery = closed({
  failed: {
    type: "string",
    pattern: "^([A-Za-z0-9][A-Za-z0-9._-]{0,62}(,[A-Za-z0-9][A-Za-z0-9._-]{0,62}){0,255})?$",
    maxLength: 16_384,
    description: "comma-separated slot names assumed dead (at most 256)",
  },
});

const overlapRow = object(
  {
    overlap: integer,
    pairs: integer,
    fraction: number,
    hypergeometric: { ...number, description: "uniform k-subsets of N slots" },
    zoneSpread: { ...number, description: "what zone-spread placement promises" },
  },
  ["pairs", "fraction", "hypergeometric", "zoneSpread"],
);

const strings = { type: "array", items: string } as const;

export const placementAnalysis = record({
  n: integer,
  zones: { type: "array", items: record({ zone: string, slots: integer }) },
  tenants: integer,
  shardSizes: {
    type: "array",
    description: "k distribution (k as placed: capped by the fleet size)",
    items: record({ k: integer, tenants: integer }),
  },
  slotLoad: record({ min: integer, max: integer, mean: number }),
  slots: { type: "array", items: record({ slot: string, zone: string, live: boolean, tenants: integer }) },
  overlap: record(
    {
      pairs: integer,
      sampled: boolean,
      distribution: { type: "array", items: overlapRow },
      fullOverlap: overlapRow,
    },
    "shard overlap of tenant pairs (all pairs, or a fixed-seed sample of 20000)",
  ),
  failure: record({
    failedSlots: strings,
    tenantsLosingWholeShard: strings,
    count: integer,
    truncated: boolean,
  }),
  seedFingerprint: string,
});
