/**
 * What every API does to a tenant's keys, upstreams and routes: each change is a function for
 * MutationRunner.run (one transaction, change counter, idempotency record), each read throws
 * CORRAL_ADMIN_NOT_FOUND for an id that is not the tenant's. The admin API (any tenant, from
 * the path) and the tenant API (the caller's own tenant, from its key) both go through here.
 * Routes and upstreams are two kinds of tenant resource (tenant-resource.ts): this file says
 * only how each merges a patch and what it checks.
 */
import { checkTarget, egressPolicy } from "../../proto/egress-policy.ts";
import { CorralError } from "../errors.ts";
import { issueApiKey, revokeApiKey, type Scope } from "../store/api-keys.ts";
import type { TxClient } from "../store/db.ts";
import { claimRouteHosts } from "../store/route-hosts.ts";
import { type NewRoute, type Route, type RoutePatch, routeTable } from "../store/routes.ts";
import { egressAllowOf } from "../store/settings.ts";
import { assertTenantExists } from "../store/tenants.ts";
import { type NewUpstream, type Upstream, type UpstreamPatch, upstreamTable } from "../store/upstreams.ts";
import { normalizeUpstream } from "./input-validation.ts";
import type { Change } from "./mutations.ts";
import { notFound, resourceChanges } from "./tenant-resource.ts";

export type { Change };

export interface NewKey {
  name: string;
  scopes: Scope[];
}

/**
 * Upstreams: `targets` of a new one already normalised (normalizeTargets). A merged one is
 * checked as a new one would be: targets normalised, one weight per target, a check's timeout
 * within its interval, the longest ejection not below the first (normalizeUpstream), the name
 * unique. New targets must pass the egress policy (a patch is no way around it); CORRAL_ADMIN_IN_USE
 * on delete while a route uses it.
 */
export const upstreams = resourceChanges<Upstream, NewUpstream, UpstreamPatch>({
  kind: "upstream",
  table: upstreamTable,
  merge(current, patch) {
    const { weights, healthCheck, ...rest } = { ...current, ...patch };
    return normalizeUpstream({
      ...rest,
      ...(weights && weights.length > 0 ? { weights } : {}), // [] or null: all equal
      ...(healthCheck ? { healthCheck } : {}),
    });
  },
  admit: async (tx, tenantId, upstream, patch) => {
    if (!patch || patch.targets) await assertEgressAllows(tx, tenantId, upstream.targets);
  },
});

/** Every target must pass the egress policy of the fleet's and the tenant's allow lists, read in `tx`. */
async function assertEgressAllows(tx: TxClient, tenantId: string, targets: readonly string[]): Promise<void> {
  const policy = egressPolicy(...(await egressAllowOf(tx, tenantId)));
  for (const [i, target] of targets.entries()) {
    const denial = checkTarget(policy, target);
    if (denial === undefined) continue;
    const path = `body/targets/${i}`;
    const message = `is refused by the egress policy: ${denial} (an operator may allow it)`;
    throw new CorralError("CORRAL_ADMIN_EGRESS_DENIED", `${path} ${message}`, {
      errors: [{ path, message }],
    });
  }
}

/**
 * Routes: a new or merged one is checked for its shape (public, client limits) and retry
 * statuses, its hosts claimed against other tenants' public hosts; the upstream must be the
 * tenant's own (the store's foreign key).
 */
export const routes = resourceChanges<Route, NewRoute, RoutePatch>({
  kind: "route",
  table: routeTable,
  merge(current, patch) {
    const { limits, clientLimits, ...rest } = { ...current, ...patch };
    return { ...rest, ...(limits ? { limits } : {}), ...(clientLimits ? { clientLimits } : {}) };
  },
  check(route) {
    assertRouteShape(route);
    assertRetryStatuses(route);
  },
  admit: (tx, tenantId, route) => claimRouteHosts(tx, tenantId, route.hosts, route.public),
});

/** What the schema cannot say about a route: how public routes and client limits combine. */
export function routeShapeProblems(r: NewRoute): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (r.public && r.hosts.length === 0)
    problems.push({ path: "body/hosts", message: "a public route must name its hosts" });
  if (r.clientLimits && !r.public)
    problems.push({ path: "body/clientLimits", message: "client limits apply to public routes only" });
  return problems;
}

function assertRouteShape(r: NewRoute): void {
  const problems = routeShapeProblems(r);
  if (problems.length === 0) return;
  const detail = problems.map((p) => `${p.path} ${p.message}`).join("; ");
  throw new CorralError("CORRAL_ADMIN_VALIDATION", detail, { errors: problems });
}

/** Retry statuses are HTTP statuses 400-599 on http routes, gRPC codes 1-16 on grpc routes. */
function assertRetryStatuses(route: NewRoute): void {
  const [low, high] = route.protocol === "grpc" ? [1, 16] : [400, 599];
  const bad = (route.retries?.statuses ?? []).findIndex((s) => s < low || s > high);
  if (bad < 0) return;
  const path = `body/retries/statuses/${bad}`;
  const message = `must be ${route.protocol === "grpc" ? "a gRPC code" : "an HTTP status"} from ${low} to ${high}`;
  throw new CorralError("CORRAL_ADMIN_VALIDATION", `${path} ${message}`, { errors: [{ path, message }] });
}

/** The key is in the response only: a replay gets the same body without it (only the hash is stored). */
export function issueKey(tenantId: string, input: NewKey): Change {
  return async (tx) => {
    await assertTenantExists(tx, tenantId);
    const issued = await issueApiKey(tx, tenantId, input);
    const { key: _shownOnce, ...withoutKey } = issued;
    return { status: 201, body: issued, stored: { status: 201, body: withoutKey } };
  };
}

/** Revoking a revoked key succeeds and changes nothing. */
export function revokeKey(tenantId: string, keyId: string): Change {
  return async (tx) => {
    const result = await revokeApiKey(tx, tenantId, keyId);
    if (result === "not-found") throw notFound("key", keyId, tenantId);
    return { status: 204, body: null, changed: result === "revoked" };
  };
}
