/**
 * Checks a decoded snapshot before anything is built from it (the DP side of "check before
 * publishing", with the CP's own check: proto/snapshot-consistency.ts), then gives its content
 * in the normalised plain shape. Pure; throws CORRAL_DP_CONFIG_INVALID naming the first problem.
 */
import type {
  ApiKey,
  Route,
  Snapshot,
  Tenant,
  Upstream,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  parseTarget as parseTargetOrProblem,
  snapshotProblems,
  tenantProblems,
} from "../../proto/snapshot-consistency.ts";
import { ConfigApplyError } from "../errors.ts";
import { DEFAULT_BUDGET } from "../retry/retry-budget.ts";
import { DEFAULT_GRPC_RETRY_CODES, DEFAULT_HTTP_RETRY_STATUSES } from "../retry/retry-policy.ts";
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

export function parseTarget(where: string, raw: string): PlainTarget {
  const parsed = parseTargetOrProblem(raw);
  if (typeof parsed === "string")
    throw new ConfigApplyError("CORRAL_DP_CONFIG_INVALID", `${where}: ${parsed}`);
  return parsed;
}

function plainUpstream(where: string, u: Upstream): PlainUpstream {
  return {
    id: u.id,
    name: u.name,
    targets: u.targets.map((t) => parseTarget(where, t)),
    connectTimeoutMs: orDefault(u.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    retryBudget: {
      ratio: u.retryBudgetPercent === 0 ? DEFAULT_BUDGET.ratio : u.retryBudgetPercent / 100,
      floorPerSecond: u.retryBudgetPercent === 0 ? DEFAULT_BUDGET.floorPerSecond : u.retryBudgetMinPerSecond,
      windowMs: orDefault(u.retryBudgetWindowMs, DEFAULT_BUDGET.windowMs),
    },
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
  };
}

/** Hashes are checked for uniqueness when the key table is built (snapshot-index.ts). */
function plainKey(k: ApiKey): PlainKey {
  return { id: k.id, invoke: k.scopes.includes("invoke") };
}

/** Checks one tenant alone and returns it normalised (the main thread re-reads tenants with it). */
export function plainTenant(t: Tenant): PlainTenant {
  refuse(tenantProblems(t));
  const where = `tenant ${JSON.stringify(t.id.slice(0, 80))}`;
  return {
    id: t.id,
    name: t.name,
    status: t.status as TenantStatus,
    plan: t.plan,
    limits: t.limits,
    shard: t.shard,
    keys: t.keys.map(plainKey),
    routes: t.routes.map(plainRoute),
    upstreams: t.upstreams.map((u) => plainUpstream(`${where} upstream ${JSON.stringify(u.id)}`, u)),
    egressAllow: [...t.egressAllow],
  };
}

/** Validates the whole snapshot: every tenant, and uniqueness across tenants. */
export function validateSnapshot(snapshot: Snapshot): void {
  refuse(snapshotProblems(snapshot));
}
