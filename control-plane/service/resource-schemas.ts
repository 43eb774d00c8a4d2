/**
 * JSON schemas of the configuration a tenant owns (its keys, upstreams and routes) and of the
 * tenant itself, shared by every API that serves them: the admin API under /admin/v1 and the
 * tenant API (REST under /v1 and gRPC). The same objects validate requests (fastify/Ajv,
 * service/input-validation.ts), serialize responses and make up the OpenAPI documents.
 * Request bodies are closed (additionalProperties: false) and every string and array bounded.
 */

import { MAX_ALLOW_ENTRIES, MAX_ALLOW_ENTRY_LENGTH } from "../../proto/egress-policy.ts";
import { STREAMING_BOUNDS, type StreamingSetting } from "../../proto/route-streaming.ts";
import {
  DEFAULT_HEALTH_CHECK,
  DEFAULT_OUTLIER,
  GRPC_SERVICE_RE,
  HEALTH_PATH_RE,
  type PolicyBound,
  UPSTREAM_POLICY_BOUNDS,
} from "../../proto/upstream-policy.ts";
import { periodQuota } from "./quota-schemas.ts";

export const SLUG_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";
export const slug = { type: "string", pattern: SLUG_PATTERN, maxLength: 63 } as const;
export const timestamp = { type: "string", format: "date-time" } as const;
export const nullableTimestamp = { type: ["string", "null"], format: "date-time" } as const;
export const PRIORITIES = ["batch", "standard", "critical"] as const;
export const STATUSES = ["active", "suspended"] as const;
export const SCOPES = ["invoke", "manage"] as const;
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

// ---- shared pieces ---------------------------------------------------------------

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
    quota: { ...periodQuota, description: "the tenant's own period quota (null: none); absent: the plan's" },
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

/** A closed request body: these properties only, `required` among them. */
const closedBody = <P extends object>(required: string[], properties: P) => ({
  type: "object" as const,
  additionalProperties: false as const,
  required,
  properties,
});

/** PATCH: any of `properties`, at least one. */
const patchBody = <P extends object>(properties: P) => ({ ...closedBody([], properties), minProperties: 1 });

/**
 * A tenant-owned resource as answered: its id, tenant and creation time around the kind's own
 * fields, every one of them present.
 */
const tenantOwned = <P extends object>(properties: P) => {
  const all = { id: { type: "string" }, tenantId: slug, ...properties, createdAt: timestamp } as const;
  return { type: "object", properties: all, required: Object.keys(all) } as const;
};

export const itemsOf = (item: object) =>
  ({ type: "object", properties: { items: { type: "array", items: item } }, required: ["items"] }) as const;

/**
 * A tenant's shard as both APIs show it (admin placement view, tenant API GET /v1/shard):
 * its size, the size asked for, the fleet size and the members in preference order.
 */
export const shardProperties = {
  k: { type: "integer", description: "members in the shard: configuredK capped by 64 and the fleet size" },
  configuredK: { type: "integer", description: "the tenant's shard size override, else its plan's" },
  n: { type: "integer", description: "slots in the fleet" },
  shard: {
    type: "array",
    description: "in the tenant's preference order",
    items: {
      type: "object",
      properties: { slot: { type: "string" }, zone: { type: "string" }, live: { type: "boolean" } },
      required: ["slot", "zone", "live"],
    },
  },
} as const;

// ---- egress ---------------------------------------------------------------------

/** Egress exceptions (proto/egress-policy.ts): CIDR, host or host:port entries. */
export const egressAllowInput = {
  type: "array",
  maxItems: MAX_ALLOW_ENTRIES,
  items: { type: "string", minLength: 1, maxLength: MAX_ALLOW_ENTRY_LENGTH },
  description:
    "egress exceptions: CIDR (10.1.0.0/16), host (api.internal: the name, its addresses still checked) " +
    "or host:port (127.0.0.1:3000)",
} as const;

const egressAllow = { type: "array", items: { type: "string" } } as const;

// ---- tenants --------------------------------------------------------------------

export const tenant = {
  type: "object",
  properties: {
    id: slug,
    name: { type: "string" },
    plan: { type: "string" },
    status: { enum: STATUSES },
    limits: limitOverrides,
    egressAllow,
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  required: ["id", "name", "plan", "status", "limits", "egressAllow", "createdAt", "updatedAt"],
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
    quota: { ...periodQuota, description: "the key's own period quota, set by operators (null: none)" },
  },
  required: ["id", "tenantId", "name", "scopes", "createdAt", "revokedAt"],
} as const;

export const keyList = itemsOf(keyInfo);

// ---- upstreams ------------------------------------------------------------------

/** An integer within its bound of proto/upstream-policy.ts, with its default. */
function bounded(name: PolicyBound, dflt: number, description: string) {
  const [minimum, maximum] = UPSTREAM_POLICY_BOUNDS[name];
  return { type: "integer", minimum, maximum, default: dflt, description } as const;
}

export const upstreamWeights = {
  type: "array",
  maxItems: 32,
  items: { type: "integer", minimum: 1, maximum: 100 },
  description: "one weight (1-100) per target, in the targets' order: each target's share of the traffic",
} as const;

const h = DEFAULT_HEALTH_CHECK;
export const healthCheckInput = {
  type: "object",
  additionalProperties: false,
  required: ["protocol"],
  description:
    "active health checks by the tenant's shard members (opt-in); they combine with passive ejection",
  properties: {
    protocol: { enum: ["http", "grpc"], description: "http: GET path, 2xx = healthy; grpc: grpc.health.v1" },
    path: { type: "string", pattern: HEALTH_PATH_RE.source, default: h.path },
    service: { type: "string", pattern: GRPC_SERVICE_RE.source, default: h.grpcService },
    intervalMs: bounded("healthIntervalMs", h.intervalMs, "time between two checks of a target"),
    timeoutMs: bounded("healthTimeoutMs", h.timeoutMs, "a check without an answer this long fails"),
    healthyThreshold: bounded(
      "healthThreshold",
      h.healthyThreshold,
      "passes in a row that bring a target back",
    ),
    unhealthyThreshold: bounded(
      "healthThreshold",
      h.unhealthyThreshold,
      "failures in a row that take it out",
    ),
  },
} as const;

const o = DEFAULT_OUTLIER;
export const outlierInput = {
  type: "object",
  additionalProperties: false,
  description: "passive outlier ejection and slow start (a field left out takes its default)",
  properties: {
    consecutiveFailures: bounded(
      "consecutiveFailures",
      o.consecutiveFailures,
      "5xx / UNAVAILABLE in a row that eject",
    ),
    baseEjectionMs: bounded("baseEjectionMs", o.baseEjectionMs, "the n-th ejection lasts n x this"),
    maxEjectionMs: bounded("maxEjectionMs", o.maxEjectionMs, "the longest ejection"),
    maxEjectedPercent: bounded(
      "maxEjectedPercent",
      o.maxEjectedPercent,
      "most targets ejected for 5xx at once (at least one)",
    ),
    slowStartMs: bounded(
      "slowStartMs",
      o.slowStartMs,
      "a target that comes back ramps up over this long; 0 = off",
    ),
  },
} as const;

const healthCheckOutput = {
  type: ["object", "null"],
  properties: healthCheckInput.properties,
} as const;

const outlierOutput = { type: "object", properties: outlierInput.properties } as const;

/** Each node's retry budget for the upstream (the migration and the snapshot check hold the same bounds). */
const retryBudgetInput = {
  type: "object",
  additionalProperties: false,
  required: ["percent", "minPerSecond", "windowMs"],
  description:
    "each node's retry budget for this upstream: retries at most `percent` of the requests over the " +
    "last `windowMs`, plus `minPerSecond` per second of the window (default 10 %, 3/s, 10 s)",
  properties: {
    percent: { type: "integer", minimum: 1, maximum: 100 },
    minPerSecond: { type: "integer", minimum: 0, maximum: 1000 },
    windowMs: { type: "integer", minimum: 1000, maximum: 60_000 },
  },
} as const;

const retryBudget = {
  type: "object",
  properties: retryBudgetInput.properties,
  required: retryBudgetInput.required,
};

const upstreamInputs = {
  name: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$" },
  targets: {
    type: "array",
    minItems: 1,
    maxItems: 32,
    uniqueItems: true,
    items: { type: "string", minLength: 1, maxLength: 2048 },
    description: "base URLs (http://host:port) or host:port",
  },
  connectTimeoutMs: { type: "integer", minimum: 1, maximum: 60_000 },
  weights: upstreamWeights,
  healthCheck: healthCheckInput,
  outlier: outlierInput,
  retryBudget: retryBudgetInput,
} as const;

export const createUpstreamBody = closedBody(["name", "targets"], {
  ...upstreamInputs,
  connectTimeoutMs: { ...upstreamInputs.connectTimeoutMs, default: 5_000 },
  outlier: { ...outlierInput, default: {} },
});

/**
 * PATCH: any of the fields of a new upstream; the rest stay as they are. `healthCheck: null` turns
 * the active checks off; an `outlier` given replaces the whole setting (its omitted fields take
 * their defaults).
 */
export const patchUpstreamBody = patchBody({
  ...upstreamInputs,
  healthCheck: { ...healthCheckInput, type: ["object", "null"] },
});

export const upstream = tenantOwned({
  name: { type: "string" },
  targets: { type: "array", items: { type: "string" } },
  connectTimeoutMs: { type: "integer" },
  weights: { type: ["array", "null"], items: { type: "integer" } },
  healthCheck: healthCheckOutput,
  outlier: outlierOutput,
  retryBudget,
});

// ---- routes ---------------------------------------------------------------------

/**
 * A route host: lower case, no port. Nodes match the request's host without its port, and the
 * snapshot check refuses a host with one, so a port here would stop every publish; a public host
 * is also compared exactly across tenants.
 */
const HOST_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";

/** A route's streaming settings as API input: omitted means the node's default (stored as 0). */
const streamingInputs = {
  websocketIdleTimeoutMs: { type: "integer", ...range("websocketIdleTimeoutMs") },
  websocketMaxConnections: { type: "integer", ...range("websocketMaxConnections") },
  streamIdleTimeoutMs: { type: "integer", ...range("streamIdleTimeoutMs") },
  websocketMaxMessageBytes: { type: "integer", ...range("websocketMaxMessageBytes") },
} as const;

/** As answered: 0 means the node applies the default. */
const streamingOutputs = {
  websocketIdleTimeoutMs: { type: "integer" },
  websocketMaxConnections: { type: "integer" },
  streamIdleTimeoutMs: { type: "integer" },
  websocketMaxMessageBytes: { type: "integer" },
} as const;

function range(name: StreamingSetting) {
  const b = STREAMING_BOUNDS[name];
  return { minimum: b.min, maximum: b.max, description: `default ${b.default}` } as const;
}

/** How the DP retries a failed attempt (data-plane/retry/retry-policy.ts). */
const routeRetriesInput = {
  type: "object",
  additionalProperties: false,
  required: ["attempts"],
  description:
    "retries after a failed first attempt (connect failure, reset, or one of `statuses` before the answer " +
    "started), for idempotent methods or requests with an Idempotency-Key; `statuses` are HTTP statuses " +
    "400-599 on http routes (default 502, 503, 504) and gRPC codes 1-16 on grpc routes (default 14, UNAVAILABLE)",
  properties: {
    attempts: { type: "integer", minimum: 0, maximum: 10 },
    statuses: {
      type: "array",
      maxItems: 16,
      uniqueItems: true,
      items: { type: "integer", minimum: 1, maximum: 599 },
      default: [],
    },
  },
} as const;

const routeRetries = {
  type: "object",
  properties: { attempts: { type: "integer" }, statuses: { type: "array", items: { type: "integer" } } },
  required: ["attempts", "statuses"],
} as const;

const routeInputs = {
  pathPrefix: { type: "string", pattern: "^/[^\\s?#]*$", maxLength: 1024 },
  hosts: {
    type: "array",
    maxItems: 32,
    uniqueItems: true,
    items: { type: "string", pattern: HOST_PATTERN, maxLength: 260 },
  },
  methods: { type: "array", uniqueItems: true, items: { enum: METHODS } },
  upstreamId: { type: "string", pattern: "^up_[0-9a-f]{16}$" },
  timeoutMs: { type: "integer", minimum: 1, maximum: 300_000 },
  protocol: { enum: ["http", "grpc"] },
  stripPrefix: { type: "boolean" },
  limits: routeLimitsInput,
  retries: routeRetriesInput,
  websocket: { type: "boolean" },
  ...streamingInputs,
  public: {
    type: "boolean",
    description: "keyless: reached by host without an API key; names its hosts, each public for one tenant",
  },
  idempotency: {
    type: "boolean",
    description:
      "POST/PATCH with an Idempotency-Key header (gRPC: unary calls with idempotency-key metadata) run once; retries get the first answer",
  },
  clientLimits: {
    ...routeLimitsInput,
    description:
      "public routes: each client address (IPv6: its /64) gets this bucket on each node, requests per second and burst",
  },
} as const;

export const createRouteBody = closedBody(["pathPrefix", "upstreamId"], {
  ...routeInputs,
  hosts: { ...routeInputs.hosts, default: [] },
  methods: { ...routeInputs.methods, default: [] },
  timeoutMs: { ...routeInputs.timeoutMs, default: 15_000 },
  protocol: { ...routeInputs.protocol, default: "http" },
  stripPrefix: { ...routeInputs.stripPrefix, default: false },
  websocket: { ...routeInputs.websocket, default: false },
  public: { ...routeInputs.public, default: false },
  idempotency: { ...routeInputs.idempotency, default: false },
});

/**
 * PATCH: any of the fields of a new route; `limits: null` / `clientLimits: null` remove a bucket,
 * a streaming setting of 0 goes back to the node's default.
 */
export const patchRouteBody = patchBody({
  ...routeInputs,
  limits: { ...routeLimitsInput, type: ["object", "null"] },
  clientLimits: { ...routeInputs.clientLimits, type: ["object", "null"] },
});

export const route = tenantOwned({
  pathPrefix: { type: "string" },
  hosts: { type: "array", items: { type: "string" } },
  methods: { type: "array", items: { type: "string" } },
  upstreamId: { type: "string" },
  timeoutMs: { type: "integer" },
  protocol: { enum: ["http", "grpc"] },
  stripPrefix: { type: "boolean" },
  limits: routeLimits,
  retries: routeRetries,
  public: { type: "boolean" },
  idempotency: { type: "boolean" },
  clientLimits: routeLimits,
  websocket: { type: "boolean" },
  ...streamingOutputs,
});

// ---- the resource kinds as REST serves them (http/resource-routes.ts) -----------

/** Each operation's OpenAPI summary, for each kind. */
const SUMMARIES = {
  create: {
    upstreams: "Create an upstream service",
    routes: "Create a route to one of the tenant's upstreams",
  },
  get: { upstreams: "Get an upstream", routes: "Get a route" },
  update: {
    upstreams: "Change an upstream in place (new targets pass the egress policy as on create)",
    routes: "Change a route in place (any field of a new route; limits null removes its bucket)",
  },
  remove: { upstreams: "Delete an upstream no route uses", routes: "Delete a route" },
} as const;

function restKind(collection: "upstreams" | "routes", item: object, create: object, patch: object) {
  const summary = (op: keyof typeof SUMMARIES) => SUMMARIES[op][collection];
  return {
    collection,
    schemas: { item, list: itemsOf(item), create, patch },
    summaries: {
      list: `List the tenant's ${collection}`,
      create: summary("create"),
      get: summary("get"),
      update: summary("update"),
      remove: summary("remove"),
    },
  };
}

export const upstreamResource = restKind("upstreams", upstream, createUpstreamBody, patchUpstreamBody);
export const routeResource = restKind("routes", route, createRouteBody, patchRouteBody);
