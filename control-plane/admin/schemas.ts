/**
 * JSON schemas of the admin API. The same objects validate requests (fastify/Ajv),
 * serialize responses and make up the OpenAPI document, so they cannot drift apart.
 * Request bodies are closed (additionalProperties: false) and every string and array bounded.
 * The schemas of tenants' own configuration (keys, upstreams, routes, the tenant) live in
 * service/resource-schemas.ts: the tenant API serves them too.
 */
import { periodQuotaOverrideInput, usageReportProperties } from "../service/quota-schemas.ts";
import { QUOTA_MAX } from "../service/quotas.ts";
import { boolean, closed, integer, object, orNull, record, string } from "../service/schema-builders.ts";
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

const quotaOverridesInput = closed(
  {
    maxRoutes: orNull(QUOTA_BOUNDS.maxRoutes),
    maxUpstreams: orNull(QUOTA_BOUNDS.maxUpstreams),
    maxKeys: orNull(QUOTA_BOUNDS.maxKeys),
    maxTargets: orNull(QUOTA_BOUNDS.maxTargets),
    maxConfigBytes: orNull(QUOTA_BOUNDS.maxConfigBytes),
  },
  { description: "per-tenant overrides of the plan's quotas (operators only); null clears an override" },
);

const limitOverridesInput = closed(
  {
    rate: orNull(LIMIT_BOUNDS.rate),
    burst: orNull(LIMIT_BOUNDS.burst),
    concurrency: orNull(LIMIT_BOUNDS.concurrency),
    priority: { enum: [...PRIORITIES, null] },
    shardSize: orNull(LIMIT_BOUNDS.shardSize),
    shadow: { ...orNull(boolean), description: "the tenant's limiters count but do not reject" },
    disabled: { ...orNull(boolean), description: "kill switch: the tenant's limiters are off" },
    quota: periodQuotaOverrideInput,
  },
  {
    description:
      "per-tenant overrides of the plan's limits; null clears an override. The effective rate " +
      "(override, else the plan's) above 0 needs an effective burst of at least 1.",
  },
);

// ---- path parameters and query strings ------------------------------------------

export const tenantParams = record({ tenantId: slug });

const withTenant = (name: string, pattern: string) =>
  record({ tenantId: slug, [name]: { type: "string", pattern, maxLength: 64 } });

export const keyParams = withTenant("keyId", "^[0-9a-f]{12}$");
export const upstreamParams = withTenant("upstreamId", "^up_[0-9a-f]{16}$");
export const routeParams = withTenant("routeId", "^rt_[0-9a-f]{16}$");

const limitQuery = {
  type: "string",
  pattern: "^[0-9]{1,4}$",
  description: "page size, 1-200 (default 50)",
} as const;

export const listTenantsQuery = closed({
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
});

export const listVersionsQuery = closed({ limit: limitQuery });

const tenantName = { type: "string", minLength: 1, maxLength: 200 } as const;

export const createTenantBody = closed(
  {
    id: slug,
    name: tenantName,
    plan: { ...slug, default: "standard" },
    status: { enum: STATUSES, default: "active" },
    limits: limitOverridesInput,
    egressAllow: egressAllowInput,
    quotas: quotaOverridesInput,
  },
  { required: ["id", "name"] },
);

export const patchTenantBody = closed(
  {
    name: tenantName,
    plan: slug,
    status: { enum: STATUSES },
    limits: limitOverridesInput,
    egressAllow: egressAllowInput,
    quotas: quotaOverridesInput,
  },
  { minProperties: 1 },
);

export const quotas = record({
  maxRoutes: integer,
  maxUpstreams: integer,
  maxKeys: integer,
  maxTargets: integer,
  maxConfigBytes: integer,
});

export const tenantUsage = record({
  usage: record({
    routes: integer,
    upstreams: integer,
    keys: integer,
    targets: integer,
    configBytes: integer,
  }),
  quotas: { ...quotas, description: "effective quotas: the tenant's overrides, else its plan's" },
  ...usageReportProperties,
  tenantId: slug,
});

export const snapshotUsage = record({
  tenantBytes: { ...integer, description: "sum of every tenant's recorded fragment size" },
  fleetReserve: { ...integer, description: "CORRAL_SNAPSHOT_FLEET_RESERVE" },
  maxPayload: { ...integer, description: "CORRAL_SNAPSHOT_MAX_PAYLOAD: uncompressed bound" },
});

export const tenantPage = record({ items: { type: "array", items: tenant }, nextCursor: orNull(string) });

// ---- fleet ----------------------------------------------------------------------

export const fleetNode = object(
  {
    slot: string,
    zone: string,
    node: string,
    httpUrl: string,
    grpcAddress: string,
    build: string,
    appliedVersion: integer,
    lastSeen: timestamp,
    lastError: orNull(string),
    connected: boolean,
    controlPlane: orNull(string),
    status: {
      type: ["object", "null"],
      properties: {
        version: integer,
        configAgeMs: integer,
        inflight: integer,
        shed: integer,
        fetchError: string,
      },
    },
  },
  ["slot", "zone", "node", "appliedVersion", "lastSeen", "lastError", "connected"],
);

export const fleet = itemsOf(fleetNode);

export const configVersion = object(
  {
    version: integer,
    epoch: integer,
    createdAt: timestamp,
    sha256: string,
    blobKey: string,
    sizeBytes: integer,
    capacityBytes: integer,
    tenants: integer,
    source: string,
    publisher: string,
    acks: integer,
    nacks: integer,
    lastAckAt: { ...nullableTimestamp, description: "when the last node acknowledged it; null: none yet" },
  },
  ["version", "epoch", "createdAt", "sha256", "blobKey", "sizeBytes", "tenants", "acks", "nacks"],
);

export const configVersions = itemsOf(configVersion);

// ---- operator tokens --------------------------------------------------------------

const OPERATOR_ROLES = ["admin", "viewer"] as const;

// "bootstrap": the id of a bootstrap token stored before migration 0008
export const operatorTokenParams = record({
  tokenId: { type: "string", pattern: "^(op_[0-9a-f]{12}|bootstrap)$" },
});

export const createOperatorTokenBody = closed(
  {
    name: slug,
    role: { enum: OPERATOR_ROLES },
    expiresAt: {
      ...timestamp,
      maxLength: 40,
      description: "when the token stops working (in the future, at most 10 years ahead); absent: never",
    },
  },
  { required: ["name", "role"] },
);

const operatorTokenProperties = {
  id: string,
  name: string,
  role: { enum: OPERATOR_ROLES },
  kind: { enum: ["bootstrap", "issued"], description: "bootstrap: CORRAL_OPERATOR_TOKEN" },
  createdBy: { ...orNull(string), description: "id of the operator token that created it" },
  createdAt: timestamp,
  expiresAt: nullableTimestamp,
  lastUsedAt: { ...nullableTimestamp, description: "to the minute" },
  revokedAt: nullableTimestamp,
} as const;
const operatorTokenRequired = ["id", "name", "role", "kind", "createdAt", "expiresAt", "revokedAt"] as const;

export const operatorTokenInfo = object(operatorTokenProperties, operatorTokenRequired);

export const issuedOperatorToken = {
  type: "object",
  description:
    "`token` is returned only in the response to the call that created it (not in idempotent replays)",
  properties: { ...operatorTokenProperties, token: string },
  required: operatorTokenRequired,
} as const;

export const operatorTokenList = itemsOf(operatorTokenInfo);

export const currentOperator = record({ id: string, name: string, role: { enum: OPERATOR_ROLES } });
