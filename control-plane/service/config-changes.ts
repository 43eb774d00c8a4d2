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
import { deleteRoute, getRoute, insertRoute, type NewRoute, type Route } from "../store/routes.ts";
import { claimRouteHosts } from "../store/route-hosts.ts";
import { egressAllowOf } from "../store/settings.ts";
import { assertTenantExists } from "../store/tenants.ts";
import {
  deleteUpstream,
  getUpstream,
  insertUpstream,
  type NewUpstream,
  type Upstream,
} from "../store/upstreams.ts";
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
    const policy = egressPolicy(...(await egressAllowOf(tx, tenantId)));
    for (const [i, target] of input.targets.entries()) {
      const denial = checkTarget(policy, target);
      if (denial === undefined) continue;
      const path = `body/targets/${i}`;
      const message = `is refused by the egress policy: ${denial} (an operator may allow it)`;
      throw new CorralError("CORRAL_ADMIN_EGRESS_DENIED", `${path} ${message}`, {
        errors: [{ path, message }],
      });
    }
    return { status: 201, body: await insertUpstream(tx, tenantId, input) };
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

export function createRoute(tenantId: string, input: NewRoute): Change {
  return async (tx) => {
    const problems = routeShapeProblems(input);
    if (problems.length > 0) {
      const detail = problems.map((p) => `${p.path} ${p.message}`).join("; ");
      throw new CorralError("CORRAL_ADMIN_VALIDATION", detail, { errors: problems });
    }
    await assertTenantExists(tx, tenantId);
    await claimRouteHosts(tx, tenantId, input.hosts, input.public);
    return { status: 201, body: await insertRoute(tx, tenantId, input) };
  };
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
