/**
 * The admin API's operations on tenant configuration: tenants, their keys, routes and
 * upstreams, plans and the fleet's settings. Reads return rows; changes return a `Change` the
 * transport runs through AdminService.run (Idempotency-Key, quotas, publish). Input the schemas
 * cannot check is checked here, with errors naming the field.
 */
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { CorralError } from "../errors.ts";
import { listApiKeys } from "../store/api-keys.ts";
import type { Pool } from "../store/db.ts";
import { deletePlan, getPlan, listPlanViews, type PlanLimits, putPlan } from "../store/plans.ts";
import { listRoutes, type NewRoute, type RoutePatch } from "../store/routes.ts";
import {
  getAdmission,
  getEgress,
  putAdmission,
  putEgress,
  type StoredAdmission,
  type StoredEgress,
} from "../store/settings.ts";
import {
  assertTenantExists,
  deleteTenant,
  getTenant,
  insertTenant,
  listTenants,
  type NewTenant,
  type TenantPatch,
  updateTenant,
} from "../store/tenants.ts";
import { listUpstreams, type NewUpstream, type UpstreamPatch } from "../store/upstreams.ts";
import type { Change, NewKey } from "./config-changes.ts";
import * as changes from "./config-changes.ts";
import { measureTenant } from "./config-growth.ts";
import { normalizeEgressAllow, normalizeUpstream } from "./input-validation.ts";
import { assertPlanRateCovered, assertTenantRateCovered } from "./limit-rules.ts";

export type { NewKey, NewRoute, NewTenant, NewUpstream, PlanLimits, RoutePatch, TenantPatch, UpstreamPatch };

const notFound = (kind: string, id: string) =>
  new CorralError("CORRAL_ADMIN_NOT_FOUND", `${kind} ${id} not found`);
const admissionView = (s: StoredAdmission) => ({
  ...s.admission,
  updatedAt: s.updatedAt?.toISOString() ?? null,
});
const egressView = (s: StoredEgress) => ({ allow: s.allow, updatedAt: s.updatedAt?.toISOString() ?? null });

/** The body with its egress allow entries in canonical form (400 naming a bad one). */
function withEgressAllow<T extends { egressAllow?: string[] }>(body: T): T {
  if (body.egressAllow === undefined) return body;
  return { ...body, egressAllow: normalizeEgressAllow(body.egressAllow, "body/egressAllow") };
}

export class AdminTenantConfig {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  // ---- tenants ----------------------------------------------------------------------

  createTenant(body: NewTenant): Change {
    return async (tx) => {
      const created = await insertTenant(tx, withEgressAllow(body));
      await assertTenantRateCovered(tx, created.id);
      return { status: 201, body: created };
    };
  }

  listTenants(limit: number, afterId: string | undefined) {
    return listTenants(this.#pool, limit, afterId);
  }

  async getTenant(id: string) {
    return (await getTenant(this.#pool, id)) ?? Promise.reject(notFound("tenant", id));
  }

  async tenantUsage(id: string) {
    const measured = await measureTenant(this.#pool, id);
    if (!measured) throw notFound("tenant", id);
    return { tenantId: id, ...measured };
  }

  updateTenant(id: string, patch: TenantPatch): Change {
    return async (tx) => {
      const updated = await updateTenant(tx, id, withEgressAllow(patch));
      if (!updated) throw notFound("tenant", id);
      await assertTenantRateCovered(tx, updated.id);
      return { status: 200, body: updated };
    };
  }

  deleteTenant(id: string): Change {
    return async (tx) => {
      if (!(await deleteTenant(tx, id))) throw notFound("tenant", id);
      return { status: 204, body: null };
    };
  }

  // ---- a tenant's keys, routes and upstreams ----------------------------------------

  readonly issueKey = changes.issueKey;
  readonly revokeKey = changes.revokeKey;
  readonly createRoute = changes.createRoute;
  readonly updateRoute = changes.updateRoute;
  readonly removeRoute = changes.removeRoute;
  readonly removeUpstream = changes.removeUpstream;

  createUpstream(tenantId: string, body: NewUpstream): Change {
    return changes.createUpstream(tenantId, normalizeUpstream(body));
  }

  readonly updateUpstream = changes.updateUpstream;

  async listKeys(tenantId: string) {
    await assertTenantExists(this.#pool, tenantId);
    return listApiKeys(this.#pool, tenantId);
  }

  async listRoutes(tenantId: string) {
    await assertTenantExists(this.#pool, tenantId);
    return listRoutes(this.#pool, tenantId);
  }

  async listUpstreams(tenantId: string) {
    await assertTenantExists(this.#pool, tenantId);
    return listUpstreams(this.#pool, tenantId);
  }

  getRoute(tenantId: string, routeId: string) {
    return changes.findRoute(this.#pool, tenantId, routeId);
  }

  getUpstream(tenantId: string, upstreamId: string) {
    return changes.findUpstream(this.#pool, tenantId, upstreamId);
  }

  // ---- plans ------------------------------------------------------------------------

  listPlans() {
    return listPlanViews(this.#pool);
  }

  async getPlan(name: string) {
    return (await getPlan(this.#pool, name)) ?? Promise.reject(notFound("plan", name));
  }

  putPlan(name: string, limits: PlanLimits): Change {
    return async (tx) => {
      const { plan, created } = await putPlan(tx, name, limits);
      await assertPlanRateCovered(tx, name);
      return { status: created ? 201 : 200, body: plan };
    };
  }

  deletePlan(name: string): Change {
    return async (tx) => {
      if (!(await deletePlan(tx, name))) throw notFound("plan", name);
      return { status: 204, body: null };
    };
  }

  // ---- fleet settings ---------------------------------------------------------------

  async getAdmission() {
    return admissionView(await getAdmission(this.#pool));
  }

  putAdmission(settings: AdmissionSettings): Change {
    return async (tx) => ({ status: 200, body: admissionView(await putAdmission(tx, settings)) });
  }

  async getEgress() {
    return egressView(await getEgress(this.#pool));
  }

  putEgress(allow: string[]): Change {
    const normalized = normalizeEgressAllow(allow, "body/allow");
    return async (tx) => ({ status: 200, body: egressView(await putEgress(tx, normalized)) });
  }
}
