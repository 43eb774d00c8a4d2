/**
 * Checks a decoded snapshot before anything is built from it (the DP side of "check before
 * publishing"): every reference resolves, every value is in range, nothing is duplicated.
 * Pure. Returns the content in the normalised plain shape; throws CORRAL_DP_CONFIG_INVALID.
 */
import type {
  ApiKey,
  Route,
  Snapshot,
  Tenant,
  Upstream,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { MAX_ALLOW_ENTRIES, parseAllowEntry } from "../../proto/egress-policy.ts";
import { ConfigApplyError } from "../errors.ts";
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
const MAX_TIMEOUT_MS = 3_600_000;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const METHOD_RE = /^[A-Z]{1,20}$/;
const HOST_RE = /^[a-z0-9.-]{1,253}$/;
const PATH_PREFIX_RE = /^\/[\x21-\x7e]{0,1023}$/;

function invalid(where: string, what: string): never {
  throw new ConfigApplyError("CORRAL_DP_CONFIG_INVALID", `${where}: ${what}`);
}

function checkId(where: string, id: string, re = ID_RE): void {
  if (!re.test(id)) invalid(where, `bad id ${JSON.stringify(id.slice(0, 80))}`);
}

function checkTimeout(where: string, ms: number, fallback: number): number {
  if (ms === 0) return fallback;
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMEOUT_MS) invalid(where, `timeout ${ms} ms out of range`);
  return ms;
}

/** "/api/" -> "/api"; "/" stays "/". */
export function normalizePathPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

export function parseTarget(where: string, raw: string): PlainTarget {
  const withScheme = raw.includes("://") ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    invalid(where, `target ${JSON.stringify(raw.slice(0, 200))} is not a URL or host:port`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") invalid(where, `target scheme ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash)
    invalid(where, "target must not carry credentials, a query or a fragment");
  return { url: raw, origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") };
}

function plainUpstream(where: string, u: Upstream): PlainUpstream {
  checkId(where, u.id);
  if (u.targets.length > 64) invalid(where, `${u.targets.length} targets (at most 64)`);
  return {
    id: u.id,
    name: u.name,
    targets: u.targets.map((t) => parseTarget(where, t)),
    connectTimeoutMs: checkTimeout(where, u.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
  };
}

function plainProtocol(where: string, protocol: string): RouteProtocol {
  if (protocol === "" || protocol === "http") return "http";
  if (protocol === "grpc") return "grpc";
  return invalid(where, `unknown protocol ${JSON.stringify(protocol)}`);
}

function plainRoute(where: string, r: Route, upstreams: Set<string>): PlainRoute {
  checkId(where, r.id);
  if (!PATH_PREFIX_RE.test(r.pathPrefix)) invalid(where, `bad path prefix ${JSON.stringify(r.pathPrefix)}`);
  if (!upstreams.has(r.upstreamId))
    invalid(where, `references unknown upstream ${JSON.stringify(r.upstreamId)}`);
  const hosts = r.hosts.map((h) => h.toLowerCase());
  for (const h of hosts) if (!HOST_RE.test(h)) invalid(where, `bad host ${JSON.stringify(h)}`);
  const methods = r.methods.map((m) => m.toUpperCase());
  for (const m of methods) if (!METHOD_RE.test(m)) invalid(where, `bad method ${JSON.stringify(m)}`);
  if (r.retries > 10) invalid(where, `${r.retries} retries (at most 10)`);
  return {
    id: r.id,
    hosts,
    pathPrefix: normalizePathPrefix(r.pathPrefix),
    methods,
    upstreamId: r.upstreamId,
    timeoutMs: checkTimeout(where, r.timeoutMs, DEFAULT_ROUTE_TIMEOUT_MS),
    protocol: plainProtocol(where, r.protocol),
    public: r.public,
    limits: r.limits,
    idempotency: r.idempotency,
    retries: r.retries,
    stripPrefix: r.stripPrefix,
  };
}

/** Egress allow entries: at most MAX_ALLOW_ENTRIES, each a CIDR, host or host:port. */
export function checkEgressAllow(where: string, entries: readonly string[]): string[] {
  if (entries.length > MAX_ALLOW_ENTRIES)
    invalid(where, `${entries.length} egress entries (at most ${MAX_ALLOW_ENTRIES})`);
  for (const e of entries) {
    const parsed = parseAllowEntry(e);
    if (typeof parsed === "string")
      invalid(where, `egress entry ${JSON.stringify(e.slice(0, 80))} ${parsed}`);
  }
  return [...entries];
}

/** Hashes are checked for uniqueness when the key table is built (snapshot-index.ts). */
function plainKey(where: string, k: ApiKey): PlainKey {
  checkId(where, k.id);
  if (k.hash.length !== 32) invalid(where, `key hash is ${k.hash.length} bytes, expected 32`);
  return { id: k.id, invoke: k.scopes.includes("invoke") };
}

function tenantStatus(where: string, status: string): TenantStatus {
  if (status === "active" || status === "suspended") return status;
  return invalid(where, `unknown status ${JSON.stringify(status)}`);
}

function uniqueIds(where: string, kind: string, items: { id: string }[]): Set<string> {
  const ids = new Set<string>();
  for (const { id } of items) {
    if (ids.has(id)) invalid(where, `${kind} id ${JSON.stringify(id)} appears twice`);
    ids.add(id);
  }
  return ids;
}

/** What must be unique or resolve across the whole snapshot; absent when one tenant is re-read alone. */
export interface ValidationScope {
  slotNames: Set<string>;
  tenantIds: Set<string>;
}

function checkUnique(scope: ValidationScope, where: string, t: Tenant): void {
  if (scope.tenantIds.has(t.id)) invalid(where, "appears twice");
  scope.tenantIds.add(t.id);
  for (const s of t.shard)
    if (scope.slotNames.size > 0 && !scope.slotNames.has(s)) invalid(where, `shard names unknown slot ${s}`);
}

/** Checks one tenant and returns it normalised (the same function re-reads it on the main thread). */
export function plainTenant(t: Tenant, scope?: ValidationScope): PlainTenant {
  const where = `tenant ${JSON.stringify(t.id.slice(0, 80))}`;
  checkId(where, t.id, TENANT_ID_RE);
  if (scope) checkUnique(scope, where, t);
  const upstreamIds = uniqueIds(where, "upstream", t.upstreams);
  uniqueIds(where, "route", t.routes);
  uniqueIds(where, "key", t.keys);
  return {
    id: t.id,
    name: t.name,
    status: tenantStatus(where, t.status),
    plan: t.plan,
    limits: t.limits,
    shard: t.shard,
    keys: t.keys.map((k) => plainKey(`${where} key ${JSON.stringify(k.id)}`, k)),
    routes: t.routes.map((r) => plainRoute(`${where} route ${JSON.stringify(r.id)}`, r, upstreamIds)),
    upstreams: t.upstreams.map((u) => plainUpstream(`${where} upstream ${JSON.stringify(u.id)}`, u)),
    egressAllow: checkEgressAllow(where, t.egressAllow),
  };
}

/** Validates the whole snapshot: every tenant, and uniqueness across tenants. */
export function validateSnapshot(snapshot: Snapshot): void {
  const slotNames = new Set<string>();
  for (const s of snapshot.slots) {
    if (!s.name || slotNames.has(s.name))
      invalid("slots", `missing or repeated slot name ${JSON.stringify(s.name)}`);
    slotNames.add(s.name);
  }
  checkEgressAllow("settings", snapshot.settings?.egressAllow ?? []);
  const scope: ValidationScope = { slotNames, tenantIds: new Set() };
  for (const t of snapshot.tenants) plainTenant(t, scope);
}
