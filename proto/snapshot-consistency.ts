/**
 * The snapshot consistency check both planes run: the CP on every version before it publishes
 * (control-plane/publish/consistency.ts), each DP on every version before it applies
 * (data-plane/config-client/validate-snapshot.ts). So a snapshot a node would refuse is never
 * published: the CP finds the problem, not the whole fleet. Pure; returns problems, throws
 * nothing (each side raises its own error code).
 *
 * Across the snapshot: slot names present and unique; tenant ids unique; a shard names only
 * known slots (when the snapshot has slots); the fleet's egress entries parse; a public host
 * belongs to one tenant (a keyless request is identified by its host alone).
 * In a tenant: its id, status, egress entries; upstream, route and key ids well formed and
 * unique in the tenant; every route's upstream exists; path prefix, hosts, methods, protocol,
 * retries, retry statuses, retry budgets, timeouts, streaming settings and client buckets in
 * range; a public route names hosts; targets parse (http/https, no credentials, query or fragment;
 * at most 64); weights, health checks and outlier settings within their bounds
 * (upstream-policy.ts); key hashes are 32 bytes.
 */
import { MAX_ALLOW_ENTRIES, parseAllowEntry } from "./egress-policy.ts";
import type { Route, Slot, Snapshot, Tenant, Upstream } from "./gen/corral/snapshot/v1/snapshot.ts";
import { streamingProblems } from "./route-streaming.ts";
import { upstreamPolicyProblems } from "./upstream-policy.ts";

export const MAX_TIMEOUT_MS = 3_600_000;
export const MAX_TARGETS = 64;
export const MAX_RETRIES = 10;
export const MAX_RETRY_STATUSES = 16;
export const MAX_RETRY_BUDGET_PER_SECOND = 1000;
export const MIN_RETRY_BUDGET_WINDOW_MS = 1000;
export const MAX_RETRY_BUDGET_WINDOW_MS = 60_000;
/** a public route's per-client bucket: requests per second and burst (the CP's input bounds) */
export const MAX_CLIENT_RATE = 1e6;
export const MAX_CLIENT_BURST = 1e7;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const METHOD_RE = /^[A-Z]{1,20}$/;
const HOST_RE = /^[a-z0-9.-]{1,253}$/;
const PATH_PREFIX_RE = /^\/[\x21-\x7e]{0,1023}$/;

const quote = (s: string, max = 80) => JSON.stringify(s.slice(0, max));

/** An upstream target as the proxy uses it. */
export interface ParsedTarget {
  url: string;
  origin: string;
  basePath: string;
}

/** "http://h:1/base/" or "h:1" (http assumed) -> origin and base path; else what is wrong. */
export function parseTarget(raw: string): ParsedTarget | string {
  const withScheme = raw.includes("://") ? raw : `http://${raw}`;
  if (!URL.canParse(withScheme)) return `target ${quote(raw, 200)} is not a URL or host:port`;
  const url = new URL(withScheme);
  if (url.protocol !== "http:" && url.protocol !== "https:") return `target scheme ${url.protocol}`;
  if (url.username || url.password || url.search || url.hash)
    return "target must not carry credentials, a query or a fragment";
  return { url: raw, origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") };
}

/** Egress allow entries: at most MAX_ALLOW_ENTRIES, each a CIDR, host or host:port. */
export function egressAllowProblems(where: string, entries: readonly string[]): string[] {
  if (entries.length > MAX_ALLOW_ENTRIES)
    return [`${where}: ${entries.length} egress entries (at most ${MAX_ALLOW_ENTRIES})`];
  const problems: string[] = [];
  for (const e of entries) {
    const parsed = parseAllowEntry(e);
    if (typeof parsed === "string") problems.push(`${where}: egress entry ${quote(e)} ${parsed}`);
  }
  return problems;
}

/** Whole-snapshot check, tenant by tenant, so an incremental compile can feed it reused tenants. */
export class SnapshotCheck {
  readonly problems: string[] = [];
  readonly #slotNames = new Set<string>();
  readonly #tenantIds = new Set<string>();
  /** public host -> the tenant that has it */
  readonly #publicHosts = new Map<string, string>();

  constructor(slots: readonly Slot[], fleetEgressAllow: readonly string[] = []) {
    for (const s of slots) {
      if (!s.name || this.#slotNames.has(s.name))
        this.problems.push(`slots: missing or repeated slot name ${JSON.stringify(s.name)}`);
      this.#slotNames.add(s.name);
    }
    this.problems.push(...egressAllowProblems("settings", fleetEgressAllow));
  }

  /** A whole tenant: its own content and how it fits the rest. */
  tenant(t: Tenant): void {
    this.problems.push(...tenantProblems(t));
    this.placed(t.id, t.shard, publicHosts(t));
  }

  /** A tenant checked before (an unchanged fragment): only how it fits the rest. */
  placed(id: string, shard: readonly string[], hosts: readonly string[] = []): void {
    // named only when there is a problem: this runs for every tenant of every version
    const where = () => `tenant ${quote(id)}`;
    if (this.#tenantIds.has(id)) this.problems.push(`${where()}: appears twice`);
    this.#tenantIds.add(id);
    for (const host of hosts) {
      const owner = this.#publicHosts.get(host);
      if (owner !== undefined && owner !== id)
        this.problems.push(`${where()}: public host ${quote(host)} is public for tenant ${quote(owner)} too`);
      this.#publicHosts.set(host, id);
    }
    if (this.#slotNames.size === 0) return;
    for (const s of shard)
      if (!this.#slotNames.has(s)) this.problems.push(`${where()}: shard names unknown slot ${s}`);
  }
}

/** The hosts a tenant's public routes name, lower case, each once. */
export function publicHosts(t: Tenant): string[] {
  const hosts = new Set<string>();
  for (const r of t.routes) if (r.public) for (const h of r.hosts) hosts.add(h.toLowerCase());
  return [...hosts];
}

export function snapshotProblems(snapshot: Snapshot): string[] {
  const check = new SnapshotCheck(snapshot.slots, snapshot.settings?.egressAllow ?? []);
  for (const t of snapshot.tenants) check.tenant(t);
  return check.problems;
}

/** One tenant's own content, without the rest of the snapshot. */
export function tenantProblems(t: Tenant): string[] {
  const where = `tenant ${quote(t.id)}`;
  const problems: string[] = [];
  if (!TENANT_ID_RE.test(t.id)) problems.push(`${where}: bad id ${quote(t.id)}`);
  if (t.status !== "active" && t.status !== "suspended")
    problems.push(`${where}: unknown status ${JSON.stringify(t.status)}`);
  const upstreamIds = uniqueIds(where, "upstream", t.upstreams, problems);
  uniqueIds(where, "route", t.routes, problems);
  uniqueIds(where, "key", t.keys, problems);
  for (const k of t.keys) {
    const at = `${where} key ${quote(k.id)}`;
    if (!ID_RE.test(k.id)) problems.push(`${at}: bad id ${quote(k.id)}`);
    if (k.hash.length !== 32) problems.push(`${at}: key hash is ${k.hash.length} bytes, expected 32`);
  }
  for (const r of t.routes) problems.push(...routeProblems(`${where} route ${quote(r.id)}`, r, upstreamIds));
  for (const u of t.upstreams) problems.push(...upstreamProblems(`${where} upstream ${quote(u.id)}`, u));
  problems.push(...egressAllowProblems(where, t.egressAllow));
  return problems;
}

function uniqueIds(
  where: string,
  kind: string,
  items: readonly { id: string }[],
  problems: string[],
): Set<string> {
  const ids = new Set<string>();
  for (const { id } of items) {
    if (ids.has(id)) problems.push(`${where}: ${kind} id ${JSON.stringify(id)} appears twice`);
    ids.add(id);
  }
  return ids;
}

function timeoutProblem(where: string, ms: number): string | undefined {
  return Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIMEOUT_MS
    ? undefined
    : `${where}: timeout ${ms} ms out of range`;
}

function inRange(x: number, max: number): boolean {
  return Number.isFinite(x) && x >= 0 && x <= max;
}

function routeProblems(where: string, r: Route, upstreamIds: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (!ID_RE.test(r.id)) problems.push(`${where}: bad id ${quote(r.id)}`);
  if (!PATH_PREFIX_RE.test(r.pathPrefix))
    problems.push(`${where}: bad path prefix ${JSON.stringify(r.pathPrefix)}`);
  if (!upstreamIds.has(r.upstreamId))
    problems.push(`${where}: references unknown upstream ${JSON.stringify(r.upstreamId)}`);
  for (const h of r.hosts)
    if (!HOST_RE.test(h.toLowerCase()))
      problems.push(`${where}: bad host ${JSON.stringify(h.toLowerCase())}`);
  for (const m of r.methods)
    if (!METHOD_RE.test(m.toUpperCase()))
      problems.push(`${where}: bad method ${JSON.stringify(m.toUpperCase())}`);
  if (r.retries > MAX_RETRIES) problems.push(`${where}: ${r.retries} retries (at most ${MAX_RETRIES})`);
  problems.push(...retryStatusProblems(where, r));
  const timeout = timeoutProblem(where, r.timeoutMs);
  if (timeout) problems.push(timeout);
  if (r.protocol !== "" && r.protocol !== "http" && r.protocol !== "grpc")
    problems.push(`${where}: unknown protocol ${JSON.stringify(r.protocol)}`);
  problems.push(...streamingProblems(where, r));
  if (r.public && r.hosts.length === 0) problems.push(`${where}: a public route must name its hosts`);
  if (!inRange(r.clientRate, MAX_CLIENT_RATE) || !inRange(r.clientBurst, MAX_CLIENT_BURST))
    problems.push(`${where}: client bucket ${r.clientRate}/s burst ${r.clientBurst} out of range`);
  return problems;
}

/** Retry statuses: at most MAX_RETRY_STATUSES, HTTP 5xx/4xx statuses on http routes, gRPC codes 1-16 on grpc routes. */
function retryStatusProblems(where: string, r: Route): string[] {
  if (r.retryStatuses.length > MAX_RETRY_STATUSES)
    return [`${where}: ${r.retryStatuses.length} retry statuses (at most ${MAX_RETRY_STATUSES})`];
  const [low, high] = r.protocol === "grpc" ? [1, 16] : [400, 599];
  const bad = r.retryStatuses.filter((s) => s < low || s > high);
  return bad.length === 0 ? [] : [`${where}: retry statuses ${bad.join(", ")} outside ${low}-${high}`];
}

function retryBudgetProblems(where: string, u: Upstream): string[] {
  const problems: string[] = [];
  if (u.retryBudgetPercent > 100)
    problems.push(`${where}: retry budget ${u.retryBudgetPercent} % (at most 100)`);
  if (u.retryBudgetMinPerSecond > MAX_RETRY_BUDGET_PER_SECOND)
    problems.push(
      `${where}: retry budget floor ${u.retryBudgetMinPerSecond}/s (at most ${MAX_RETRY_BUDGET_PER_SECOND})`,
    );
  const w = u.retryBudgetWindowMs;
  if (w !== 0 && (w < MIN_RETRY_BUDGET_WINDOW_MS || w > MAX_RETRY_BUDGET_WINDOW_MS))
    problems.push(`${where}: retry budget window ${w} ms out of range`);
  return problems;
}

function upstreamProblems(where: string, u: Upstream): string[] {
  const problems: string[] = retryBudgetProblems(where, u);
  if (!ID_RE.test(u.id)) problems.push(`${where}: bad id ${quote(u.id)}`);
  if (u.targets.length > MAX_TARGETS)
    problems.push(`${where}: ${u.targets.length} targets (at most ${MAX_TARGETS})`);
  for (const target of u.targets) {
    const parsed = parseTarget(target);
    if (typeof parsed === "string") problems.push(`${where}: ${parsed}`);
  }
  const timeout = timeoutProblem(where, u.connectTimeoutMs);
  if (timeout) problems.push(timeout);
  problems.push(...upstreamPolicyProblems(where, u));
  return problems;
}
