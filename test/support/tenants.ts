/**
 * Tenants made the way an operator makes them: through the admin API. One helper for every
 * test (and the load harness): a tenant, optionally an upstream with routes to it, and keys.
 */
import { egressAllowFor } from "./egress.ts";

/** What the helper needs of an admin API client: a POST that resolves with the created resource or throws. */
export interface AdminPoster {
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

export interface RouteSpec {
  pathPrefix: string;
  timeoutMs?: number;
  protocol?: "http" | "grpc";
}

/** An upstream's body for the admin API, without its name. */
export type UpstreamSpec = { targets: string[] } & Record<string, unknown>;

export interface TenantSpec {
  id: string;
  /** default: the id */
  name?: string;
  plan?: string;
  limits?: Record<string, unknown>;
  /**
   * an upstream named `upstreamName` (default "api") with this target — or these targets and
   * policy (weights, healthCheck, outlier …) — and `routes` to it
   */
  upstream?: string | UpstreamSpec;
  upstreamName?: string;
  /** default: one route at "/" when there is an upstream */
  routes?: RouteSpec[];
  /** the tenant's egress exceptions; default: exactly the upstream's host:port */
  egressAllow?: string[];
  /** keys to issue, by name, with their scopes; default one invoke key named "test" */
  keys?: Record<string, string[]>;
}

export interface CreatedTenant {
  id: string;
  /** the first key's secret */
  key: string;
  /** every key issued, by name */
  keys: Record<string, { id: string; key: string }>;
  upstreamId?: string;
  routeIds: string[];
}

export async function createTenant(admin: AdminPoster, spec: TenantSpec): Promise<CreatedTenant> {
  const upstream: UpstreamSpec =
    typeof spec.upstream === "string" ? { targets: [spec.upstream] } : (spec.upstream ?? { targets: [] });
  const base = `/admin/v1/tenants/${spec.id}`;
  await admin.post("/admin/v1/tenants", {
    id: spec.id,
    name: spec.name ?? spec.id,
    egressAllow: spec.egressAllow ?? egressAllowFor(...upstream.targets),
    ...(spec.plan ? { plan: spec.plan } : {}),
    ...(spec.limits ? { limits: spec.limits } : {}),
  });
  const routeIds: string[] = [];
  let upstreamId: string | undefined;
  if (spec.upstream) {
    const created = await admin.post<{ id: string }>(`${base}/upstreams`, {
      name: spec.upstreamName ?? "api",
      ...upstream,
    });
    upstreamId = created.id;
    for (const r of spec.routes ?? [{ pathPrefix: "/" }]) {
      routeIds.push((await admin.post<{ id: string }>(`${base}/routes`, { ...r, upstreamId })).id);
    }
  }
  const keys: CreatedTenant["keys"] = {};
  for (const [name, scopes] of Object.entries(spec.keys ?? { test: ["invoke"] })) {
    keys[name] = await admin.post<{ id: string; key: string }>(`${base}/keys`, { name, scopes });
  }
  const first = Object.values(keys)[0];
  if (!first) throw new Error(`tenant ${spec.id}: no key asked for`);
  return { id: spec.id, key: first.key, keys, upstreamId, routeIds };
}
