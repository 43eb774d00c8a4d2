/**
 * Compiles the database rows into one whole-fleet Snapshot (docs/design.md §3.1). Pure and
 * deterministic: the same rows and options give the same message. Limits are resolved
 * from the tenant's plan with the tenant's overrides; only non-revoked keys travel, as hashes.
 * Slots are the declared and registered ones still in the fleet (placement/fleet-slots.ts); each
 * tenant's shard comes from the placement hook over exactly those slots. limits.shardSize is
 * the configured k (capped by MAX_SHARD_SIZE); the shard has min(k, N) members, so a node
 * splitting the tenant's rate divides by the shard's length.
 */
import {
  type AdmissionSettings,
  type ApiKey,
  type HealthCheck,
  Limits,
  type Quota,
  type Route,
  type Slot,
  type Snapshot,
  type Tenant,
  type Upstream,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { CorralError } from "../errors.ts";
import { DEFAULT_FORGET_DELAY_MS, DEFAULT_LIVE_WINDOW_MS, fleetSlots } from "../placement/fleet-slots.ts";
import { clampShardSize } from "../placement/index.ts";
import type { ActiveKeyRow, FleetParts, FleetRows } from "../store/fleet-rows.ts";
import type { RouteRow } from "../store/routes.ts";
import type { TenantRows } from "../store/tenant-revisions.ts";
import { DEFAULT_ADMISSION } from "../store/settings.ts";
import { type PeriodQuota, rowQuota } from "../store/period-quota.ts";
import { type PlanRow, type TenantRow, tenantQuotaOverride } from "../store/tenants.ts";
import type { HealthCheckSettings, UpstreamRow } from "../store/upstreams.ts";
import { snapshotProblems } from "./consistency.ts";

export interface CompileOptions {
  version: number;
  epoch: number;
  createdAtMs: number;
  /** wall clock used for slot liveness when the rows do not carry the database's (dbNowMs) */
  nowMs: number;
  /** a slot seen within this window with a live connection is live (default 60 s) */
  liveWindowMs?: number;
  /** an undeclared slot not seen for this long is dropped from the snapshot (default 10 min) */
  forgetDelayMs?: number;
  /** nodes answer 421 with the shard instead of forwarding (CORRAL_PLACEMENT_STRICT) */
  strictPlacement?: boolean;
  /** placement hook: the tenant's shard (slot names); empty when absent */
  shardOf?: (tenant: { id: string; shardSize: number }, slots: readonly Slot[]) => string[];
  /** the key nodes sign peer-forward hops with (deriveHopKey of CORRAL_NODE_SECRET) */
  hopKey?: Uint8Array;
  /** told the slot table of every compiled snapshot (the fleet watcher compares against it) */
  onSlots?: (slots: readonly Slot[]) => void;
}

export { DEFAULT_FORGET_DELAY_MS, DEFAULT_LIVE_WINDOW_MS };

export function compileSnapshot(rows: FleetRows, opts: CompileOptions): Snapshot {
  const problems: string[] = [];
  const slots = compileSlots(rows, opts);
  const plans = new Map(rows.plans.map((p) => [p.name, p]));
  const byTenant = groupChildren(rows, problems);
  const tenants = [...rows.tenants]
    .sort((a, b) => compare(a.id, b.id))
    .map((t) => {
      const plan = plans.get(t.plan);
      if (!plan) problems.push(missingPlan(t));
      return compileTenant(t, plan, byTenant.get(t.id), (limits) =>
        opts.shardOf ? opts.shardOf({ id: t.id, shardSize: limits.shardSize }, slots) : [],
      );
    });
  const snapshot: Snapshot = { ...snapshotFrame(rows, slots, opts), tenants };
  problems.push(...snapshotProblems(snapshot));
  assertConsistent(problems);
  opts.onSlots?.(slots);
  return snapshot;
}

/** The snapshot's slots: the declared and registered ones still in the fleet. */
export function compileSlots(rows: FleetParts, opts: CompileOptions): Slot[] {
  return fleetSlots(rows.declaredSlots ?? [], rows.nodes, {
    nowMs: rows.dbNowMs ?? opts.nowMs,
    liveWindowMs: opts.liveWindowMs ?? DEFAULT_LIVE_WINDOW_MS,
    forgetDelayMs: opts.forgetDelayMs ?? DEFAULT_FORGET_DELAY_MS,
  });
}

/** Everything in the snapshot but its tenants. */
export function snapshotFrame(rows: FleetParts, slots: Slot[], opts: CompileOptions): Snapshot {
  return {
    version: opts.version,
    epoch: opts.epoch,
    createdAtMs: opts.createdAtMs,
    slots,
    tenants: [],
    settings: {
      strictPlacement: opts.strictPlacement ?? false,
      admission: { ...(rows.admission ?? DEFAULT_ADMISSION) } satisfies AdmissionSettings,
      egressAllow: [...(rows.egressAllow ?? [])],
      hopKey: Buffer.from(opts.hopKey ?? []),
    },
  };
}

export function missingPlan(t: { id: string; plan: string }): string {
  return `tenant ${t.id} uses plan ${t.plan}, which does not exist`;
}

/** Throws CORRAL_SNAPSHOT_INCONSISTENT when there is any problem. */
export function assertConsistent(problems: readonly string[]): void {
  if (problems.length === 0) return;
  throw new CorralError(
    "CORRAL_SNAPSHOT_INCONSISTENT",
    `snapshot is inconsistent: ${problems.slice(0, 5).join("; ")}`,
    { problems: problems.slice(0, 50) },
  );
}

/**
 * A tenant's limits: each of its overrides, else its plan's value. rate 0 means no rate limit
 * and concurrency 0 no concurrency limit; shadow and disabled default to false. The period
 * quota: the tenant's override (which may be "none"), else the plan's.
 */
export function resolveLimits(t: TenantRow, plan: PlanRow | undefined): Limits {
  return {
    rate: t.rate ?? plan?.rate ?? 0,
    burst: t.burst ?? plan?.burst ?? 0,
    concurrency: t.concurrency ?? plan?.concurrency ?? 0,
    priority: t.priority ?? plan?.priority ?? "standard",
    shardSize: clampShardSize(t.shard_size ?? plan?.shard_size ?? 1),
    shadow: t.limits_shadow ?? false,
    disabled: t.limits_disabled ?? false,
    quota: toQuota(resolveQuota(t, plan)),
  };
}

/** The tenant's period quota: its override (undefined = the plan's, null = none), else the plan's. */
export function resolveQuota(t: TenantRow, plan: PlanRow | undefined): PeriodQuota | undefined {
  const override = tenantQuotaOverride(t);
  return override === undefined ? plan && rowQuota(plan) : (override ?? undefined);
}

function toQuota(q: PeriodQuota | undefined): Quota | undefined {
  return q && { limit: q.limit, period: q.period, offsetMs: q.offsetMs };
}

/**
 * One tenant's fragment of the snapshot: its limits, its shard (from `shardOf`, given the
 * resolved limits), its live keys, routes and upstreams sorted by id. The snapshot compiler and
 * the per-tenant size check (service/config-growth.ts) build it the same way.
 */
export function compileTenant(
  t: TenantRow,
  plan: PlanRow | undefined,
  children: TenantChildren | undefined,
  shardOf: (limits: Limits) => string[],
): Tenant {
  const limits = resolveLimits(t, plan);
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    plan: t.plan,
    limits,
    shard: shardOf(limits),
    keys: (children?.keys ?? []).map(toApiKey).sort(byId),
    routes: (children?.routes ?? []).map(toRoute).sort(byId),
    upstreams: (children?.upstreams ?? []).map(toUpstream).sort(byId),
    egressAllow: [...(t.egress_allow ?? [])],
  };
}

export interface TenantChildren {
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
}

export function groupChildren(rows: TenantRows, problems: string[]): Map<string, TenantChildren> {
  const groups = new Map<string, TenantChildren>(
    rows.tenants.map((t) => [t.id, { keys: [], routes: [], upstreams: [] }]),
  );
  const add = <K extends keyof TenantChildren>(kind: K, row: TenantChildren[K][number]) => {
    const group = groups.get(row.tenant_id);
    if (!group) problems.push(`${kind} ${row.id} belongs to tenant ${row.tenant_id}, which does not exist`);
    else (group[kind] as TenantChildren[K][number][]).push(row);
  };
  for (const k of rows.keys) if (k.revoked_at === null) add("keys", k);
  for (const r of rows.routes) add("routes", r);
  for (const u of rows.upstreams) add("upstreams", u);
  return groups;
}

function toApiKey(k: ActiveKeyRow): ApiKey {
  return { id: k.id, hash: Buffer.from(k.hash), scopes: [...k.scopes], quota: toQuota(rowQuota(k)) };
}

function toRoute(r: RouteRow): Route {
  return {
    id: r.id,
    hosts: [...r.hosts],
    pathPrefix: r.path_prefix,
    methods: [...r.methods],
    upstreamId: r.upstream_id,
    timeoutMs: r.timeout_ms,
    protocol: r.protocol,
    public: r.public,
    limits: routeLimits(r),
    idempotency: r.idempotency,
    retries: r.retry_attempts,
    stripPrefix: r.strip_prefix,
    websocket: r.websocket,
    websocketIdleTimeoutMs: r.websocket_idle_timeout_ms ?? 0,
    websocketMaxConnections: r.websocket_max_connections ?? 0,
    streamIdleTimeoutMs: r.stream_idle_timeout_ms ?? 0,
    websocketMaxMessageBytes: r.websocket_max_message_bytes ?? 0,
    clientRate: r.client_rate ?? 0,
    clientBurst: r.client_burst ?? 0,
    retryStatuses: [...r.retry_statuses],
  };
}

/** A route bucket when the route has one: only rate and burst mean anything in it. */
function routeLimits(r: RouteRow): Limits | undefined {
  if (r.rate === null || r.burst === null) return undefined;
  return Limits.fromPartial({ rate: r.rate, burst: r.burst });
}

function toUpstream(u: UpstreamRow): Upstream {
  return {
    id: u.id,
    name: u.name,
    targets: [...u.targets],
    connectTimeoutMs: u.connect_timeout_ms,
    retryBudgetPercent: u.retry_budget_percent,
    retryBudgetMinPerSecond: u.retry_budget_min_per_second,
    retryBudgetWindowMs: u.retry_budget_window_ms,
    weights: u.weights ? [...u.weights] : [],
    healthCheck: u.health_check ? healthCheck(u.health_check) : undefined,
    outlier: u.outlier ? { ...u.outlier } : undefined,
  };
}

function healthCheck(h: HealthCheckSettings): HealthCheck {
  return {
    path: h.protocol === "http" ? h.path : "",
    grpc: h.protocol === "grpc",
    grpcService: h.protocol === "grpc" ? h.service : "",
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    healthyThreshold: h.healthyThreshold,
    unhealthyThreshold: h.unhealthyThreshold,
  };
}

/** Code-unit order: the order tenants (and their children) have in the snapshot. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byId(a: { id: string }, b: { id: string }): number {
  return compare(a.id, b.id);
}
