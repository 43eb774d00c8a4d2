/**
 * What every API does to a tenant's keys, upstreams and routes: each change is a function for
 * MutationRunner.run (one transaction, change counter, idempotency record), each read throws
 * CORRAL_ADMIN_NOT_FOUND for an id that is not the tenant's. The admin API (any tenant, from
 * the path) and the tenant API (the caller's own tenant, from its key) both go through here.
 */
import { checkTarget, egressPolicy } from "../../proto/egress-policy.ts";
import { CorralError } from "../errors.ts";
import { issueApiKey, revokeApiKey, type Scope } from "../store/api-keys.ts";
import type { Queryable, TxClient } from "../store/db.ts";
import {
  deleteRoute,
  getRoute,
  insertRoute,
  type NewRoute,
  type Route,
  type RoutePatch,
  replaceRoute,
} from "../store/routes.ts";
import { claimRouteHosts } from "../store/route-hosts.ts";
import { egressAllowOf } from "../store/settings.ts";
import { assertTenantExists } from "../store/tenants.ts";
import {
  deleteUpstream,
  getUpstream,
  insertUpstream,
  type NewUpstream,
  replaceUpstream,
  type Upstream,
  type UpstreamPatch,
} from "../store/upstreams.ts";
import { normalizeUpstream } from "./input-validation.ts";
import type { MutationResult } from "./mutations.ts";

export type Change = (tx: TxClient) => Promise<MutationResult>;

export interface NewKey {
  name: string;
  scopes: Scope[];
}

const notFound = (kind: string, id: string, tenantId: string) =>
  new CorralError("CORRAL_ADMIN_NOT_FOUND", `${kind} ${id} not found in tenant ${tenantId}`);

/**
 * `targets` already normalised (normalizeTargets). Each must pass the egress policy of the
 * fleet's and the tenant's allow lists, read in the change's transaction.
 */
export function createUpstream(tenantId: string, input: NewUpstream): Change {
  return async (tx) => {
    await assertTenantExists(tx, tenantId);
    await assertEgressAllows(tx, tenantId, input.targets);
    return { status: 201, body: await insertUpstream(tx, tenantId, input) };
  };
}

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
 * The merged upstream is checked as a new one would be: targets normalised, new ones checked
 * against the egress policy (a patch is no way around it), one weight per target, a check's
 * timeout within its interval, the longest ejection not below the first (normalizeUpstream),
 * the name unique.
 */
export function updateUpstream(tenantId: string, upstreamId: string, patch: UpstreamPatch): Change {
  return async (tx) => {
    const current = await findUpstream(tx, tenantId, upstreamId);
    const { weights, healthCheck, ...rest } = { ...current, ...patch };
    const merged = normalizeUpstream({
      ...rest,
      ...(weights && weights.length > 0 ? { weights } : {}), // [] or null: all equal
      ...(healthCheck ? { healthCheck } : {}),
    });
    if (patch.targets) await assertEgressAllows(tx, tenantId, merged.targets);
    const updated = await replaceUpstream(tx, tenantId, upstreamId, merged);
    if (!updated) throw notFound("upstream", upstreamId, tenantId);
    return { status: 200, body: updated };
  };
}

/** CORRAL_ADMIN_IN_USE while a route uses the upstream. */
export function removeUpstream(tenantId: string, upstreamId: string): Change {
  return async (tx) => {
    if (!(await deleteUpstream(tx, tenantId, upstreamId))) throw notFound("upstream", upstreamId, tenantId);
    return { status: 204, body: null };
  };
}

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

export function createRoute(tenantId: string, input: NewRoute): Change {
  return async (tx) => {
    assertRouteShape(input);
    await assertTenantExists(tx, tenantId);
    assertRetryStatuses(input);
    await claimRouteHosts(tx, tenantId, input.hosts, input.public);
    return { status: 201, body: await insertRoute(tx, tenantId, input) };
  };
}

/**
 * The merged route is checked as a new one would be: its shape (public, idempotency, client
 * limits), retry statuses, its hosts claimed against other tenants' public hosts, the upstream
 * the tenant's own.
 */
export function updateRoute(tenantId: string, routeId: string, patch: RoutePatch): Change {
  return async (tx) => {
    const current = await findRoute(tx, tenantId, routeId);
    const { limits, clientLimits, ...rest } = { ...current, ...patch };
    const merged: NewRoute = {
      ...rest,
      ...(limits ? { limits } : {}),
      ...(clientLimits ? { clientLimits } : {}),
    };
    assertRouteShape(merged);
    assertRetryStatuses(merged);
    await claimRouteHosts(tx, tenantId, merged.hosts, merged.public);
    const updated = await replaceRoute(tx, tenantId, routeId, merged);
    if (!updated) throw notFound("route", routeId, tenantId);
    return { status: 200, body: updated };
  };
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

export function removeRoute(tenantId: string, routeId: string): Change {
  return async (tx) => {
    if (!(await deleteRoute(tx, tenantId, routeId))) throw notFound("route", routeId, tenantId);
    return { status: 204, body: null };
  };
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

export async function findRoute(q: Queryable, tenantId: string, routeId: string): Promise<Route> {
  return (await getRoute(q, tenantId, routeId)) ?? Promise.reject(notFound("route", routeId, tenantId));
}

export async function findUpstream(q: Queryable, tenantId: string, upstreamId: string): Promise<Upstream> {
  return (
    (await getUpstream(q, tenantId, upstreamId)) ?? Promise.reject(notFound("upstream", upstreamId, tenantId))
  );
}
