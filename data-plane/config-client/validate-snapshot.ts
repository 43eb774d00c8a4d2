/**
 * Checks a decoded snapshot before anything is built from it (the DP side of "check before
 * publishing", with the CP's own check: proto/snapshot-consistency.ts), then gives its content
 * in the normalised plain shape. Pure; throws CORRAL_DP_CONFIG_INVALID naming the first problem.
 */
import type {
  ApiKey,
  Quota,
  Route,
  Snapshot,
  Tenant,
  Upstream,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  type ParsedTarget,
  parseTarget as parseTargetOrProblem,
  snapshotProblems,
  tenantProblems,
} from "../../proto/snapshot-consistency.ts";
import { streamingSetting } from "../../proto/route-streaming.ts";
import { checkQuotaOffset, isQuotaPeriod } from "../../runtime/quota-period.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { ConfigApplyError } from "../errors.ts";
import { DEFAULT_BUDGET } from "../retry/retry-budget.ts";
import { DEFAULT_GRPC_RETRY_CODES, DEFAULT_HTTP_RETRY_STATUSES } from "../retry/retry-policy.ts";
import { targetKey } from "../upstream/down-list.ts";
import type {
  PlainKey,
  PlainRoute,
  PlainTarget,
  PlainTenant,
  PlainUpstream,
  RouteProtocol,
  TenantStatus,
} from "../model/plain-config.ts";

export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

function refuse(problems: readonly string[]): void {
  if (problems.length > 0) throw new ConfigApplyError("CORRAL_DP_CONFIG_INVALID", problems[0]!);
}

const orDefault = (ms: number, fallback: number) => (ms === 0 ? fallback : ms);

/** "/api/" -> "/api"; "/" stays "/". */
export function normalizePathPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

export function parseTarget(where: string, raw: string): ParsedTarget {
  const parsed = parseTargetOrProblem(raw);
  if (typeof parsed === "string")
    throw new ConfigApplyError("CORRAL_DP_CONFIG_INVALID", `${where}: ${parsed}`);
  return parsed;
}

/** `tenantId`: upstream ids are unique only within their tenant. */
function plainUpstream(where: string, tenantId: string, u: Upstream): PlainUpstream {
  const targets: PlainTarget[] = u.targets.map((raw, i) => ({
    ...parseTarget(where, raw),
    weight: u.weights[i] ?? 1,
    key: "",
  }));
  for (const t of targets) t.key = targetKey(`${tenantId}/${u.id}`, t.origin);
  return {
    id: u.id,
    name: u.name,
    targets,
    connectTimeoutMs: orDefault(u.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    retryBudget: {
      ratio: u.retryBudgetPercent === 0 ? DEFAULT_BUDGET.ratio : u.retryBudgetPercent / 100,
      floorPerSecond: u.retryBudgetPercent === 0 ? DEFAULT_BUDGET.floorPerSecond : u.retryBudgetMinPerSecond,
      windowMs: orDefault(u.retryBudgetWindowMs, DEFAULT_BUDGET.windowMs),
    },
    targetKeys: targets.map((t) => t.key),
    outlier: u.outlier ?? DEFAULT_OUTLIER,
    healthCheck: u.healthCheck,
  };
}

function retryStatuses(r: Route, protocol: RouteProtocol): readonly number[] {
  if (r.retryStatuses.length > 0) return [...r.retryStatuses];
  return protocol === "grpc" ? DEFAULT_GRPC_RETRY_CODES : DEFAULT_HTTP_RETRY_STATUSES;
}

function plainRoute(r: Route): PlainRoute {
  const protocol: RouteProtocol = r.protocol === "grpc" ? "grpc" : "http";
  return {
    id: r.id,
    hosts: r.hosts.map((h) => h.toLowerCase()),
    pathPrefix: normalizePathPrefix(r.pathPrefix),
    methods: r.methods.map((m) => m.toUpperCase()),
    upstreamId: r.upstreamId,
    timeoutMs: orDefault(r.timeoutMs, DEFAULT_ROUTE_TIMEOUT_MS),
    protocol,
    public: r.public,
    limits: r.limits,
    idempotency: r.idempotency,
    retries: r.retries,
    retryStatuses: retryStatuses(r, protocol),
    stripPrefix: r.stripPrefix,
    websocket: r.websocket,
    websocketIdleTimeoutMs: streamingSetting(r, "websocketIdleTimeoutMs"),
    websocketMaxConnections: streamingSetting(r, "websocketMaxConnections"),
    websocketMaxMessageBytes: streamingSetting(r, "websocketMaxMessageBytes"),
    streamIdleTimeoutMs: streamingSetting(r, "streamIdleTimeoutMs"),
    clientRate: r.clientRate,
    clientBurst: r.clientBurst,
  };
}

/** Hashes are checked for uniqueness when the key table is built (snapshot-index.ts). */
function plainKey(k: ApiKey): PlainKey {
  const key: PlainKey = { id: k.id, invoke: k.scopes.includes("invoke") };
  if (k.quota) key.quota = k.quota;
  return key;
}

/** A period quota the node can enforce: a known period, an offset within it, a whole limit. */
export function quotaProblems(where: string, q: Quota | undefined): string[] {
  if (!q) return [];
  if (!isQuotaPeriod(q.period))
    return [`${where}: unknown quota period ${JSON.stringify(q.period.slice(0, 20))}`];
  const problems: string[] = [];
  if (!(Number.isSafeInteger(q.limit) && q.limit >= 0))
    problems.push(`${where}: quota limit ${q.limit} is not a count`);
  try {
    checkQuotaOffset(q.period, q.offsetMs);
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  return problems;
}

function tenantQuotaProblems(where: string, t: Tenant): string[] {
  return [
    ...quotaProblems(where, t.limits?.quota),
    ...t.keys.flatMap((k) => quotaProblems(`${where} key ${JSON.stringify(k.id.slice(0, 80))}`, k.quota)),
  ];
}

/** Checks one tenant alone and returns it normalised (the main thread re-reads tenants with it). */
export function plainTenant(t: Tenant): PlainTenant {
  refuse(tenantProblems(t));
  const where = `tenant ${JSON.stringify(t.id.slice(0, 80))}`;
  refuse(tenantQuotaProblems(where, t));
  return {
    id: t.id,
    name: t.name,
    status: t.status as TenantStatus,
    plan: t.plan,
    limits: t.limits,
    shard: t.shard,
    keys: t.keys.map(plainKey),
    routes: t.routes.map(plainRoute),
    upstreams: t.upstreams.map((u) => plainUpstream(`${where} upstream ${JSON.stringify(u.id)}`, t.id, u)),
    egressAllow: [...t.egressAllow],
  };
}

/** Validates the whole snapshot: every tenant, and uniqueness across tenants. */
export function validateSnapshot(snapshot: Snapshot): void {
  refuse(snapshotProblems(snapshot));
  for (const t of snapshot.tenants)
    refuse(tenantQuotaProblems(`tenant ${JSON.stringify(t.id.slice(0, 80))}`, t));
}
