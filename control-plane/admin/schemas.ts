/**
 * JSON schemas of the admin API. The same objects validate requests (fastify/Ajv),
 * serialize responses and make up the OpenAPI document, so they cannot drift apart.
 * Request bodies are closed (additionalProperties: false) and every string and array bounded.
 * The schemas of tenants' own configuration (keys, upstreams, routes, the tenant) live in
 * service/resource-schemas.ts: the tenant API serves them too.
 */
import { periodQuotaOverrideInput, usageReportProperties } from "../service/quota-schemas.ts";
import { QUOTA_MAX } from "../service/quotas.ts";
import {
  egressAllowInput,
  itemsOf,
  nullableTimestamp,
  PRIORITIES,
  STATUSES,
  slug,
  tenant,
  timestamp,
} from "../service/resource-schemas.ts";

export {
  createKeyBody,
  issuedKey,
  keyInfo,
  keyList,
  METHODS,
  SCOPES,
  SLUG_PATTERN,
  tenant,
} from "../service/resource-schemas.ts";

// ---- shared pieces ---------------------------------------------------------------

/** Bounds of every limit (plans, tenant overrides; the migrations hold the same). */
export const LIMIT_BOUNDS = {
  rate: { type: "number", minimum: 0, maximum: 1e6 },
  burst: { type: "number", minimum: 0, maximum: 1e7 },
  concurrency: { type: "integer", minimum: 0, maximum: 100_000 },
  shardSize: { type: "integer", minimum: 1, maximum: 64 },
} as const;

const orNull = <T extends { type: string }>(schema: T) =>
  ({ ...schema, type: [schema.type, "null"] }) as const;

/** Bounds of every quota (plans, tenant overrides; the migration holds the same). */
export const QUOTA_BOUNDS = {
  maxRoutes: { type: "integer", minimum: 0, maximum: QUOTA_MAX.maxRoutes },
  maxUpstreams: { type: "integer", minimum: 0, maximum: QUOTA_MAX.maxUpstreams },
  maxKeys: {
    type: "integer",
    minimum: 0,
    maximum: QUOTA_MAX.maxKeys,
    description: "live (non-revoked) keys",
  },
  maxTargets: {
    type: "integer",
    minimum: 0,
    maximum: QUOTA_MAX.maxTargets,
    description: "targets summed over the tenant's upstreams",
  },
  maxConfigBytes: {
    type: "integer",
    minimum: 0,
    maximum: QUOTA_MAX.maxConfigBytes,
    description: "bytes of the tenant's compiled snapshot fragment (uncompressed protobuf)",
  },
} as const;

const quotaOverridesInput = {
  type: "object",
  additionalProperties: false,
  description: "per-tenant overrides of the plan's quotas (operators only); null clears an override",
  properties: {
    maxRoutes: orNull(QUOTA_BOUNDS.maxRoutes),
    maxUpstreams: orNull(QUOTA_BOUNDS.maxUpstreams),
    maxKeys: orNull(QUOTA_BOUNDS.maxKeys),
    maxTargets: orNull(QUOTA_BOUNDS.maxTargets),
    maxConfigBytes: orNull(QUOTA_BOUNDS.maxConfigBytes),
  },
} as const;

const limitOverridesInput = {
  type: "object",
  additionalProperties: false,
  description:
    "per-tenant overrides of the plan's limits; null clears an override. The effective rate " +
    "(override, else the plan's) above 0 needs an effective burst of at least 1.",
  properties: {
    rate: orNull(LIMIT_BOUNDS.rate),
    burst: orNull(LIMIT_BOUNDS.burst),
    concurrency: orNull(LIMIT_BOUNDS.concurrency),
    priority: { enum: [...PRIORITIES, null] },
    shardSize: orNull(LIMIT_BOUNDS.shardSize),
    shadow: { type: ["boolean", "null"], description: "the tenant's limiters count but do not reject" },
    disabled: { type: ["boolean", "null"], description: "kill switch: the tenant's limiters are off" },
    quota: periodQuotaOverrideInput,
  },
} as const;

// ---- path parameters and query strings ------------------------------------------

export const tenantParams = {
  type: "object",
  properties: { tenantId: slug },
  required: ["tenantId"],
} as const;

const withTenant = (name: string, pattern: string) =>
  ({
    type: "object",
    properties: { tenantId: slug, [name]: { type: "string", pattern, maxLength: 64 } },
    required: ["tenantId", name],
  }) as const;

export const keyParams = withTenant("keyId", "^[0-9a-f]{12}$");
export const upstreamParams = withTenant("upstreamId", "^up_[0-9a-f]{16}$");
export const routeParams = withTenant("routeId", "^rt_[0-9a-f]{16}$");

const limitQuery = {
  type: "string",
  pattern: "^[0-9]{1,4}$",
  description: "page size, 1-200 (default 50)",
} as const;

export const listTenantsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: limitQuery,
    cursor: {
      type: "string",
      pattern: "^[A-Za-z0-9_-]{1,200}$",
      description: "nextCursor of the previous page",
    },
    q: {
      type: "string",
      minLength: 1,
      maxLength: 64,
      description: "only tenants whose id or name contains this text (case-insensitive)",
    },
  },
} as const;

export const listVersionsQuery = {
  type: "object",
  additionalProperties: false,
  properties: { limit: limitQuery },
} as const;

export const createTenantBody = {
  type: "object",
  additionalProperties: false,
  required: ["id", "name"],
  properties: {
    id: slug,
    name: { type: "string", minLength: 1, maxLength: 200 },
    plan: { ...slug, default: "standard" },
    status: { enum: STATUSES, default: "active" },
    limits: limitOverridesInput,
    egressAllow: egressAllowInput,
    quotas: quotaOverridesInput,
  },
} as const;

export const patchTenantBody = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 200 },
    plan: slug,
    status: { enum: STATUSES },
    limits: limitOverridesInput,
    egressAllow: egressAllowInput,
    quotas: quotaOverridesInput,
  },
} as const;

const integer = { type: "integer" } as const;

export const quotas = {
  type: "object",
  properties: {
    maxRoutes: integer,
    maxUpstreams: integer,
    maxKeys: integer,
    maxTargets: integer,
    maxConfigBytes: integer,
  },
  required: ["maxRoutes", "maxUpstreams", "maxKeys", "maxTargets", "maxConfigBytes"],
} as const;

export const tenantUsage = {
  type: "object",
  properties: {
    usage: {
      type: "object",
      properties: {
        routes: integer,
        upstreams: integer,
        keys: integer,
        targets: integer,
        configBytes: integer,
      },
      required: ["routes", "upstreams", "keys", "targets", "configBytes"],
    },
    quotas: { ...quotas, description: "effective quotas: the tenant's overrides, else its plan's" },
    ...usageReportProperties,
    tenantId: slug,
  },
  required: ["tenantId", "usage", "quotas", "from", "to", "granularity", "quota", "history"],
} as const;

export const snapshotUsage = {
  type: "object",
  properties: {
    tenantBytes: { type: "integer", description: "sum of every tenant's recorded fragment size" },
    fleetReserve: { type: "integer", description: "CORRAL_SNAPSHOT_FLEET_RESERVE" },
    maxPayload: { type: "integer", description: "CORRAL_SNAPSHOT_MAX_PAYLOAD: uncompressed bound" },
  },
  required: ["tenantBytes", "fleetReserve", "maxPayload"],
} as const;

export const tenantPage = {
  type: "object",
  properties: { items: { type: "array", items: tenant }, nextCursor: { type: ["string", "null"] } },
  required: ["items", "nextCursor"],
} as const;

// ---- fleet ----------------------------------------------------------------------

export const fleetNode = {
  type: "object",
  properties: {
    slot: { type: "string" },
    zone: { type: "string" },
    node: { type: "string" },
    httpUrl: { type: "string" },
    grpcAddress: { type: "string" },
    build: { type: "string" },
    appliedVersion: { type: "integer" },
    lastSeen: timestamp,
    lastError: { type: ["string", "null"] },
    connected: { type: "boolean" },
    controlPlane: { type: ["string", "null"] },
    status: {
      type: ["object", "null"],
      properties: {
        version: { type: "integer" },
        configAgeMs: { type: "integer" },
        inflight: { type: "integer" },
        shed: { type: "integer" },
        fetchError: { type: "string" },
      },
    },
  },
  required: ["slot", "zone", "node", "appliedVersion", "lastSeen", "lastError", "connected"],
} as const;

export const fleet = itemsOf(fleetNode);

export const configVersion = {
  type: "object",
  properties: {
    version: { type: "integer" },
    epoch: { type: "integer" },
    createdAt: timestamp,
    sha256: { type: "string" },
    blobKey: { type: "string" },
    sizeBytes: { type: "integer" },
    capacityBytes: { type: "integer" },
    tenants: { type: "integer" },
    source: { type: "string" },
    publisher: { type: "string" },
    acks: { type: "integer" },
    nacks: { type: "integer" },
    lastAckAt: { ...nullableTimestamp, description: "when the last node acknowledged it; null: none yet" },
  },
  required: ["version", "epoch", "createdAt", "sha256", "blobKey", "sizeBytes", "tenants", "acks", "nacks"],
} as const;

export const configVersions = itemsOf(configVersion);

// ---- operator tokens --------------------------------------------------------------

const OPERATOR_ROLES = ["admin", "viewer"] as const;

export const operatorTokenParams = {
  type: "object",
  // "bootstrap": the id of a bootstrap token stored before migration 0008
  properties: { tokenId: { type: "string", pattern: "^(op_[0-9a-f]{12}|bootstrap)$" } },
  required: ["tokenId"],
} as const;

export const createOperatorTokenBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: slug,
    role: { enum: OPERATOR_ROLES },
    expiresAt: {
      ...timestamp,
      maxLength: 40,
      description: "when the token stops working (in the future, at most 10 years ahead); absent: never",
    },
  },
  required: ["name", "role"],
} as const;

const operatorTokenProperties = {
  id: { type: "string" },
  name: { type: "string" },
  role: { enum: OPERATOR_ROLES },
  kind: { enum: ["bootstrap", "issued"], description: "bootstrap: CORRAL_OPERATOR_TOKEN" },
  createdBy: { type: ["string", "null"], description: "id of the operator token that created it" },
  createdAt: timestamp,
  expiresAt: nullableTimestamp,
  lastUsedAt: { ...nullableTimestamp, description: "to the minute" },
  revokedAt: nullableTimestamp,
} as const;
const operatorTokenRequired = ["id", "name", "role", "kind", "createdAt", "expiresAt", "revokedAt"] as const;

export const operatorTokenInfo = {
  type: "object",
  properties: operatorTokenProperties,
  required: operatorTokenRequired,
} as const;

export const issuedOperatorToken = {
  type: "object",
  description:
    "`token` is returned only in the response to the call that created it (not in idempotent replays)",
  properties: { ...operatorTokenProperties, token: { type: "string" } },
  required: operatorTokenRequired,
} as const;

export const operatorTokenList = itemsOf(operatorTokenInfo);

export const currentOperator = {
  type: "object",
  properties: { id: { type: "string" }, name: { type: "string" }, role: { enum: OPERATOR_ROLES } },
  required: ["id", "name", "role"],
} as const;
