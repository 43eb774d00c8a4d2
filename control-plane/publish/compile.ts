/**
 * Compiles the database rows into one whole-fleet Snapshot (DESIGN §3.1). Pure and
 * deterministic: the same rows and options give the same message. Limits are resolved
 * from the tenant's plan with the tenant's overrides; only non-revoked keys travel, as hashes.
 */
import type {
  ApiKey,
  FleetSettings,
  Limits,
  Route,
  Slot,
  Snapshot,
  Tenant,
  Upstream,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { CorralError } from "../errors.ts";
import type { ActiveKeyRow, FleetRows } from "../store/fleet-rows.ts";
import type { NodeRow } from "../store/nodes.ts";
import type { RouteRow } from "../store/routes.ts";
import type { PlanRow, TenantRow } from "../store/tenants.ts";
import type { UpstreamRow } from "../store/upstreams.ts";
import { snapshotProblems } from "./consistency.ts";

export interface CompileOptions {
  version: number;
  epoch: number;
  createdAtMs: number;
  /** wall clock used for slot liveness */
  nowMs: number;
  /** a slot seen within this window with a live connection is live (default 60 s) */
  liveWindowMs?: number;
  /** a slot not seen for this long is dropped from the snapshot (default 10 min) */
  forgetDelayMs?: number;
  settings?: FleetSettings;
  /** placement hook: the tenant's shard (slot names); empty when absent */
  shardOf?: (tenant: { id: string; shardSize: number }, slots: readonly Slot[]) => string[];
}

export const DEFAULT_LIVE_WINDOW_MS = 60_000;
export const DEFAULT_FORGET_DELAY_MS = 10 * 60_000;

export function compileSnapshot(rows: FleetRows, opts: CompileOptions): Snapshot {
  const problems: string[] = [];
  const slots = compileSlots(rows.nodes, opts);
  const plans = new Map(rows.plans.map((p) => [p.name, p]));
  const byTenant = groupChildren(rows, problems);
  const tenants = [...rows.tenants]
    .sort((a, b) => compare(a.id, b.id))
    .map((t) => {
      const plan = plans.get(t.plan);
      if (!plan) problems.push(`tenant ${t.id} uses plan ${t.plan}, which does not exist`);
      const limits = resolveLimits(t, plan);
      const children = byTenant.get(t.id);
      return {
        id: t.id,
        name: t.name,
        status: t.status,
        plan: t.plan,
        limits,
        shard: opts.shardOf?.({ id: t.id, shardSize: limits.shardSize }, slots) ?? [],
        keys: (children?.keys ?? []).map(toApiKey).sort(byId),
        routes: (children?.routes ?? []).map(toRoute).sort(byId),
        upstreams: (children?.upstreams ?? []).map(toUpstream).sort(byId),
      } satisfies Tenant;
    });
  const snapshot: Snapshot = {
    version: opts.version,
    epoch: opts.epoch,
    createdAtMs: opts.createdAtMs,
    slots,
    tenants,
    settings: opts.settings ?? { strictPlacement: false, admission: undefined },
  };
  problems.push(...snapshotProblems(snapshot));
  if (problems.length > 0) {
    throw new CorralError(
      "CORRAL_SNAPSHOT_INCONSISTENT",
      `snapshot is inconsistent: ${problems.slice(0, 5).join("; ")}`,
      {
        problems: problems.slice(0, 50),
      },
    );
  }
  return snapshot;
}

export function resolveLimits(t: TenantRow, plan: PlanRow | undefined): Limits {
  return {
    rate: t.rate ?? plan?.rate ?? 0,
    burst: t.burst ?? plan?.burst ?? 0,
    concurrency: t.concurrency ?? plan?.concurrency ?? 0,
    priority: t.priority ?? plan?.priority ?? "standard",
    shardSize: t.shard_size ?? plan?.shard_size ?? 1,
    shadow: false,
    disabled: false,
  };
}

function compileSlots(nodes: readonly NodeRow[], opts: CompileOptions): Slot[] {
  const live = opts.liveWindowMs ?? DEFAULT_LIVE_WINDOW_MS;
  const forget = opts.forgetDelayMs ?? DEFAULT_FORGET_DELAY_MS;
  return nodes
    .filter((n) => opts.nowMs - n.last_seen.getTime() <= forget)
    .sort((a, b) => compare(a.slot, b.slot))
    .map((n) => ({
      name: n.slot,
      zone: n.zone,
      httpUrl: n.http_url,
      grpcAddress: n.grpc_address,
      live: n.connected_cp !== null && opts.nowMs - n.last_seen.getTime() <= live,
      lastSeenMs: n.last_seen.getTime(),
    }));
}

interface TenantChildren {
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
}

function groupChildren(rows: FleetRows, problems: string[]): Map<string, TenantChildren> {
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
  return { id: k.id, hash: Buffer.from(k.hash), scopes: [...k.scopes] };
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
    public: false,
    limits: undefined,
    idempotency: false,
    retries: 0,
    stripPrefix: r.strip_prefix,
  };
}

function toUpstream(u: UpstreamRow): Upstream {
  return { id: u.id, name: u.name, targets: [...u.targets], connectTimeoutMs: u.connect_timeout_ms };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byId(a: { id: string }, b: { id: string }): number {
  return compare(a.id, b.id);
}
