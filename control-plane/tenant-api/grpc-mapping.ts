/**
 * Between corral.tenant.v1 messages and the service layer, pure: requests become the JSON input
 * the REST API takes (absent optional fields are left out, so the schemas fill the same defaults
 * and a gRPC call and its REST twin hash alike for idempotency), results become messages, and a
 * CorralError becomes a gRPC status with `corral-code` and `corral-problem-bin` trailers.
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import type * as pb from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { type CorralError, toProblem } from "../errors.ts";
import type { UsageReport } from "../service/usage-reader.ts";
import type { ApiKeyInfo } from "../store/api-keys.ts";
import type { PeriodQuotaView } from "../store/period-quota.ts";
import type { Route } from "../store/routes.ts";
import type { Tenant } from "../store/tenants.ts";
import type { Upstream } from "../store/upstreams.ts";
import type { CreatedKey, TenantShard } from "./service.ts";

/** `{a: undefined}` members dropped: an absent proto3 optional field means "use the default". */
function present(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

const nonEmpty = (list: string[]) => (list.length > 0 ? list : undefined);

const retriesInput = (r: pb.RouteRetries | undefined) => r && { attempts: r.attempts, statuses: r.statuses };
const budgetInput = (b: pb.RetryBudget | undefined) =>
  b && { percent: b.percent, minPerSecond: b.minPerSecond, windowMs: b.windowMs };

export function routeInput(req: pb.CreateRouteRequest): Record<string, unknown> {
  return present({
    pathPrefix: req.pathPrefix,
    hosts: nonEmpty(req.hosts),
    methods: nonEmpty(req.methods),
    upstreamId: req.upstreamId,
    timeoutMs: req.timeoutMs,
    protocol: req.protocol,
    stripPrefix: req.stripPrefix,
    limits: req.limits && { rate: req.limits.rate, burst: req.limits.burst },
    retries: retriesInput(req.retries),
    websocket: req.websocket,
    websocketIdleTimeoutMs: req.websocketIdleTimeoutMs,
    websocketMaxConnections: req.websocketMaxConnections,
    streamIdleTimeoutMs: req.streamIdleTimeoutMs,
    websocketMaxMessageBytes: req.websocketMaxMessageBytes,
    public: req.public,
    idempotency: req.idempotency,
    clientLimits: req.clientLimits && { rate: req.clientLimits.rate, burst: req.clientLimits.burst },
  });
}

export function upstreamInput(req: pb.CreateUpstreamRequest): Record<string, unknown> {
  return present({
    name: req.name,
    targets: req.targets,
    connectTimeoutMs: req.connectTimeoutMs,
    retryBudget: budgetInput(req.retryBudget),
    weights: req.weights.length > 0 ? req.weights : undefined,
    healthCheck: req.healthCheck && present({ ...req.healthCheck }),
    outlier: req.outlier && present({ ...req.outlier }),
  });
}

/** "timeout_ms" -> "timeoutMs": the REST field an update_mask entry names. */
const restField = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The REST patch of an update: the fields in `mask` with the values `from` gives (undefined for
 * a field the message cannot carry: the schema then names it). An unknown name stays in the
 * patch, so the patch schema refuses it by name.
 */
function maskedPatch(mask: string[], from: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const name of mask) patch[restField(name)] = from[restField(name)];
  return patch;
}

export function routePatch(req: pb.UpdateRouteRequest): Record<string, unknown> {
  const r = req.route;
  return maskedPatch(req.updateMask, {
    ...r,
    limits: r?.limits ? { rate: r.limits.rate, burst: r.limits.burst } : null,
    clientLimits: r?.clientLimits ? { rate: r.clientLimits.rate, burst: r.clientLimits.burst } : null,
    retries: retriesInput(r?.retries),
  });
}

export function upstreamPatch(req: pb.UpdateUpstreamRequest): Record<string, unknown> {
  const u = req.upstream;
  return maskedPatch(req.updateMask, {
    ...u,
    // an absent health check turns the checks off; absent outlier settings are the defaults
    healthCheck: u?.healthCheck ? present({ ...u.healthCheck }) : null,
    outlier: present({ ...u?.outlier }),
    retryBudget: budgetInput(u?.retryBudget),
  });
}

export function keyInput(req: pb.CreateKeyRequest): Record<string, unknown> {
  return present({ name: req.name, scopes: nonEmpty(req.scopes) });
}

/** null (the tenant's quota: none) travels as limit 0; undefined (the plan's) as absent. */
function quotaMessage(q: PeriodQuotaView | null | undefined): pb.PeriodQuota | undefined {
  if (q === undefined) return undefined;
  return q === null ? { limit: 0, period: "", offset: "" } : { ...q };
}

export function tenantMessage(t: Tenant): pb.Tenant {
  const { priority, quota, ...limits } = t.limits;
  return {
    id: t.id,
    name: t.name,
    plan: t.plan,
    status: t.status,
    limits: { ...limits, priority, quota: quotaMessage(quota) },
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

export function placementMessage(p: TenantShard): pb.Placement {
  return { k: p.k, configuredK: p.configuredK, n: p.n, shard: p.shard.map((m) => ({ ...m })) };
}

export function routeMessage(r: Route): pb.Route {
  return {
    id: r.id,
    pathPrefix: r.pathPrefix,
    hosts: r.hosts,
    methods: r.methods,
    upstreamId: r.upstreamId,
    timeoutMs: r.timeoutMs,
    protocol: r.protocol,
    stripPrefix: r.stripPrefix,
    limits: r.limits ? { rate: r.limits.rate, burst: r.limits.burst } : undefined,
    createdAt: r.createdAt,
    retries: { attempts: r.retries.attempts, statuses: r.retries.statuses },
    websocket: r.websocket,
    websocketIdleTimeoutMs: r.websocketIdleTimeoutMs,
    websocketMaxConnections: r.websocketMaxConnections,
    streamIdleTimeoutMs: r.streamIdleTimeoutMs,
    websocketMaxMessageBytes: r.websocketMaxMessageBytes,
    public: r.public,
    idempotency: r.idempotency,
    clientLimits: r.clientLimits ? { rate: r.clientLimits.rate, burst: r.clientLimits.burst } : undefined,
  };
}

export function upstreamMessage(u: Upstream): pb.Upstream {
  return {
    id: u.id,
    name: u.name,
    targets: u.targets,
    connectTimeoutMs: u.connectTimeoutMs,
    createdAt: u.createdAt,
    retryBudget: { ...u.retryBudget },
    weights: u.weights ?? [],
    healthCheck: u.healthCheck ? { ...u.healthCheck } : undefined,
    outlier: { ...u.outlier },
  };
}

export function keyMessage(k: ApiKeyInfo | CreatedKey): pb.ApiKey {
  const revokedAt = "revokedAt" in k ? (k.revokedAt ?? undefined) : undefined;
  const quota = "quota" in k ? (k.quota ?? undefined) : undefined;
  return { id: k.id, name: k.name, scopes: k.scopes, createdAt: k.createdAt, revokedAt, quota };
}

/** GetUsageRequest -> the usage query (empty strings: the defaults). */
export function usageInput(req: pb.GetUsageRequest): Record<string, unknown> {
  return present({
    from: req.from || undefined,
    to: req.to || undefined,
    granularity: req.granularity || undefined,
    by: req.by || undefined,
  });
}

export function usageMessage(u: UsageReport): pb.GetUsageResponse {
  return {
    quota: u.quota ?? undefined,
    history: u.history.map((b) => ({ ...b })),
    from: u.from,
    to: u.to,
    granularity: u.granularity,
  };
}

/** "body/targets/0" -> "targets[0]", "body/pathPrefix" -> "path_prefix", "body" -> "request". */
export function protoFieldPath(path: string): string {
  const parts = path
    .replace(/^body\/?/, "")
    .split("/")
    .filter(Boolean);
  if (parts.length === 0) return "request";
  return parts
    .map((p) => (/^[0-9]+$/.test(p) ? `[${p}]` : `.${p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`))
    .join("")
    .slice(1);
}

/** Field paths in a validation detail, as proto field paths. */
function protoDetail(detail: string): string {
  return detail.replace(/\bbody(?:\/[A-Za-z0-9_]+)*/g, protoFieldPath);
}

interface FieldError {
  path: string;
  message: string;
}

/**
 * The gRPC status of an error: its code, its detail, and the problem document as trailers; an
 * error that says when to come back adds `retry-after` (seconds) and `grpc-retry-pushback-ms`
 * (the trailer gRPC clients' retry policies honour).
 */
export function serviceError(err: CorralError): Partial<ServiceError> {
  const problem = toProblem(err);
  const errors = problem.errors as FieldError[] | undefined;
  if (Array.isArray(errors)) problem.errors = errors.map((e) => ({ ...e, path: protoFieldPath(e.path) }));
  problem.detail = protoDetail(problem.detail);
  const metadata = new Metadata();
  metadata.set("corral-code", err.code);
  metadata.set("corral-problem-bin", Buffer.from(JSON.stringify(problem), "utf8"));
  const { retryAfterSeconds } = err.extensions;
  if (typeof retryAfterSeconds === "number") {
    metadata.set("retry-after", String(retryAfterSeconds));
    metadata.set("grpc-retry-pushback-ms", String(retryAfterSeconds * 1000));
  }
  return { code: err.grpcStatus, details: problem.detail, metadata };
}
