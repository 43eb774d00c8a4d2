/**
 * JSON schemas of the admin API. The same objects validate requests (fastify/Ajv),
 * serialize responses and make up the OpenAPI document, so they cannot drift apart.
 * Request bodies are closed (additionalProperties: false) and every string and array bounded.
 */

export const SLUG_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";
const slug = { type: "string", pattern: SLUG_PATTERN, maxLength: 63 } as const;
const timestamp = { type: "string", format: "date-time" } as const;
const nullableTimestamp = { type: ["string", "null"], format: "date-time" } as const;
const PRIORITIES = ["batch", "standard", "critical"] as const;
const STATUSES = ["active", "suspended"] as const;
export const SCOPES = ["invoke", "manage"] as const;
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

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
  },
} as const;

const limitOverrides = {
  type: "object",
  properties: {
    rate: { type: "number" },
    burst: { type: "number" },
    concurrency: { type: "integer" },
    priority: { enum: PRIORITIES },
    shardSize: { type: "integer" },
    shadow: { type: "boolean" },
    disabled: { type: "boolean" },
  },
} as const;

/** A route's own token bucket. */
const routeLimitsInput = {
  type: "object",
  additionalProperties: false,
  required: ["rate", "burst"],
  description: "the route's token bucket: requests per second for the whole tenant, and burst size",
  properties: {
    rate: { type: "number", exclusiveMinimum: 0, maximum: 1e6 },
    burst: { type: "number", minimum: 1, maximum: 1e7 },
  },
} as const;

const routeLimits = {
  type: ["object", "null"],
  properties: { rate: { type: "number" }, burst: { type: "number" } },
} as const;

export const problemSchema = {
  type: "object",
  description: "RFC 9457 problem details with a stable Corral error code",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", pattern: "^CORRAL_[A-Z_]+$" },
  },
  required: ["type", "title", "status", "detail", "code"],
} as const;

const itemsOf = (item: object) =>
  ({ type: "object", properties: { items: { type: "array", items: item } }, required: ["items"] }) as const;

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
  },
} as const;

export const listVersionsQuery = {
  type: "object",
  additionalProperties: false,
  properties: { limit: limitQuery },
} as const;

// ---- tenants --------------------------------------------------------------------

export const tenant = {
  type: "object",
  properties: {
    id: slug,
    name: { type: "string" },
    plan: { type: "string" },
    status: { enum: STATUSES },
    limits: limitOverrides,
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  required: ["id", "name", "plan", "status", "limits", "createdAt", "updatedAt"],
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
  },
} as const;

export const tenantPage = {
  type: "object",
  properties: { items: { type: "array", items: tenant }, nextCursor: { type: ["string", "null"] } },
  required: ["items", "nextCursor"],
} as const;

// ---- keys -----------------------------------------------------------------------

const scopes = {
  type: "array",
  items: { enum: SCOPES },
  minItems: 1,
  maxItems: 2,
  uniqueItems: true,
} as const;

export const createKeyBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", maxLength: 200, default: "" },
    scopes: { ...scopes, default: ["invoke"] },
  },
} as const;

export const issuedKey = {
  type: "object",
  description:
    "`key` is returned only in the response to the call that created it (not in idempotent replays)",
  properties: {
    id: { type: "string" },
    tenantId: slug,
    key: { type: "string" },
    name: { type: "string" },
    scopes,
    createdAt: timestamp,
  },
  required: ["id", "tenantId", "name", "scopes", "createdAt"],
} as const;

export const keyInfo = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenantId: slug,
    name: { type: "string" },
    scopes,
    createdAt: timestamp,
    revokedAt: nullableTimestamp,
  },
  required: ["id", "tenantId", "name", "scopes", "createdAt", "revokedAt"],
} as const;

export const keyList = itemsOf(keyInfo);

// ---- upstreams ------------------------------------------------------------------

export const createUpstreamBody = {
  type: "object",
  additionalProperties: false,
  required: ["name", "targets"],
  properties: {
    name: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$" },
    targets: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      uniqueItems: true,
      items: { type: "string", minLength: 1, maxLength: 2048 },
      description: "base URLs (http://host:port) or host:port",
    },
    connectTimeoutMs: { type: "integer", minimum: 1, maximum: 60_000, default: 5_000 },
  },
} as const;

export const upstream = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenantId: slug,
    name: { type: "string" },
    targets: { type: "array", items: { type: "string" } },
    connectTimeoutMs: { type: "integer" },
    createdAt: timestamp,
  },
  required: ["id", "tenantId", "name", "targets", "connectTimeoutMs", "createdAt"],
} as const;

export const upstreamList = itemsOf(upstream);

// ---- routes ---------------------------------------------------------------------

const HOST_PATTERN =
  "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$";

export const createRouteBody = {
  type: "object",
  additionalProperties: false,
  required: ["pathPrefix", "upstreamId"],
  properties: {
    pathPrefix: { type: "string", pattern: "^/[^\\s?#]*$", maxLength: 1024 },
    hosts: {
      type: "array",
      maxItems: 32,
      uniqueItems: true,
      items: { type: "string", pattern: HOST_PATTERN, maxLength: 260 },
      default: [],
    },
    methods: { type: "array", uniqueItems: true, items: { enum: METHODS }, default: [] },
    upstreamId: { type: "string", pattern: "^up_[0-9a-f]{16}$" },
    timeoutMs: { type: "integer", minimum: 1, maximum: 300_000, default: 15_000 },
    protocol: { enum: ["http", "grpc"], default: "http" },
    stripPrefix: { type: "boolean", default: false },
    limits: routeLimitsInput,
  },
} as const;

export const route = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenantId: slug,
    pathPrefix: { type: "string" },
    hosts: { type: "array", items: { type: "string" } },
    methods: { type: "array", items: { type: "string" } },
    upstreamId: { type: "string" },
    timeoutMs: { type: "integer" },
    protocol: { enum: ["http", "grpc"] },
    stripPrefix: { type: "boolean" },
    limits: routeLimits,
    createdAt: timestamp,
  },
  required: [
    "id",
    "tenantId",
    "pathPrefix",
    "hosts",
    "methods",
    "upstreamId",
    "timeoutMs",
    "protocol",
    "stripPrefix",
    "limits",
    "createdAt",
  ],
} as const;

export const routeList = itemsOf(route);

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
  },
  required: ["version", "epoch", "createdAt", "sha256", "blobKey", "sizeBytes", "tenants", "acks", "nacks"],
} as const;

export const configVersions = itemsOf(configVersion);
