/**
 * The admin API's operations on tenant configuration: tenants, their keys, routes and
 * upstreams, plans and the fleet's settings. Reads return rows; changes return a `Change` the
 * transport runs through AdminService.run (Idempotency-Key, quotas, publish). Input the schemas
 * cannot check is checked here, with errors naming the field.
 */
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { CorralError } from "../errors.ts";
import { listApiKeys, setKeyQuota } from "../store/api-keys.ts";
import type { Pool } from "../store/db.ts";
import { deletePlan, getPlan, listPlanViews, type PlanLimits, putPlan } from "../store/plans.ts";
import type { NewRoute, RoutePatch } from "../store/routes.ts";
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
import type { NewUpstream, UpstreamPatch } from "../store/upstreams.ts";
import type { Change, NewKey } from "./config-changes.ts";
import * as changes from "./config-changes.ts";
import { measureTenant } from "./config-growth.ts";
import { normalizeEgressAllow, normalizeUpstream } from "./input-validation.ts";
import { assertPlanRateCovered, assertTenantRateCovered } from "./limit-rules.ts";
import { type PeriodQuotaInput, parseOptionalQuota, parsePeriodQuota } from "./period-quota.ts";
import type { ResourceChanges } from "./tenant-resource.ts";

export type { NewKey, NewRoute, NewUpstream, RoutePatch, UpstreamPatch };

/** Bodies as the admin API takes them: period quotas with ISO 8601 offsets. */
export type PlanBody = Omit<PlanLimits, "quota"> & { quota?: PeriodQuotaInput | null };
type QuotaOverrideInput = PeriodQuotaInput | null | "plan";
type WithQuotaInput<T extends { limits?: object }> = Omit<T, "limits"> & {
  limits?: Omit<NonNullable<T["limits"]>, "quota"> & { quota?: QuotaOverrideInput };
};
export type NewTenantBody = WithQuotaInput<NewTenant>;
export type TenantPatchBody = WithQuotaInput<TenantPatch>;

const notFound = (kind: string, id: string) =>
  new CorralError("CORRAL_ADMIN_NOT_FOUND", `${kind} ${id} not found`);
const admissionView = (s: StoredAdmission) => ({
  ...s.admission,
  updatedAt: s.updatedAt?.toISOString() ?? null,
});
const egressView = (s: StoredEgress) => ({ allow: s.allow, updatedAt: s.updatedAt?.toISOString() ?? null });

/**
 * The body as the store takes it: egress allow entries in canonical form, limits.quota parsed
 * into quotaOverride (400 naming a bad field).
 */
function tenantInput<T extends NewTenantBody | TenantPatchBody>(body: T): NewTenant | TenantPatch {
  const { limits, ...rest } = body;
  const { quota, ...otherLimits } = limits ?? {};
  const out: TenantPatch = { ...rest, ...(limits ? { limits: otherLimits } : {}) };
  if (body.egressAllow !== undefined)
    out.egressAllow = normalizeEgressAllow(body.egressAllow, "body/egressAllow");
  if (quota !== undefined)
    out.quotaOverride = quota === "plan" ? "plan" : parseOptionalQuota(quota, "body/limits/quota");
  return out;
}

/** One kind of a tenant's resources (routes, upstreams) for the admin API: reads, and changes to run. */
export interface AdminResource<Item, New, Patch> {
  /** CORRAL_ADMIN_NOT_FOUND for a tenant that does not exist */
  list(tenantId: string): Promise<Item[]>;
  get(tenantId: string, id: string): Promise<Item>;
  create(tenantId: string, body: New): Change;
  update(tenantId: string, id: string, patch: Patch): Change;
  remove(tenantId: string, id: string): Change;
}

export class AdminTenantConfig {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  // ---- tenants ----------------------------------------------------------------------

  createTenant(body: NewTenantBody): Change {
    const input = { ...tenantInput(body), id: body.id } as NewTenant;
    return async (tx) => {
      const created = await insertTenant(tx, input);
      await assertTenantRateCovered(tx, created.id);
      return { status: 201, body: created };
    };
  }

  listTenants(limit: number, afterId: string | undefined, search?: string) {
    return listTenants(this.#pool, limit, afterId, search);
  }

  async getTenant(id: string) {
    return (await getTenant(this.#pool, id)) ?? Promise.reject(notFound("tenant", id));
  }

  async tenantUsage(id: string) {
    const measured = await measureTenant(this.#pool, id);
    if (!measured) throw notFound("tenant", id);
    return { tenantId: id, ...measured };
  }

  updateTenant(id: string, patch: TenantPatchBody): Change {
    const input = tenantInput(patch);
    return async (tx) => {
      const updated = await updateTenant(tx, id, input);
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
  readonly routes = this.#served(changes.routes);
  readonly upstreams = this.#served(changes.upstreams, normalizeUpstream);

  /** Sets (null: removes) a key's own period quota; operators only. */
  setKeyQuota(tenantId: string, keyId: string, quota: PeriodQuotaInput | null): Change {
    const parsed = quota === null ? null : parsePeriodQuota(quota, "body/quota");
    return async (tx) => {
      const key = await setKeyQuota(tx, tenantId, keyId, parsed);
      if (!key) throw notFound("key", `${tenantId}/${keyId}`);
      return { status: 200, body: key };
    };
  }

  async listKeys(tenantId: string) {
    await assertTenantExists(this.#pool, tenantId);
    return listApiKeys(this.#pool, tenantId);
  }

  /** A kind of tenant resource as the admin API serves it: the tenant is the path's, a list needs it to exist. */
  #served<Item, New, Patch>(
    kind: ResourceChanges<Item, New, Patch>,
    normalize: (body: New) => New = (body) => body,
  ): AdminResource<Item, New, Patch> {
    return {
      list: async (tenantId) => {
        await assertTenantExists(this.#pool, tenantId);
        return kind.list(this.#pool, tenantId);
      },
      get: (tenantId, id) => kind.find(this.#pool, tenantId, id),
      create: (tenantId, body) => kind.create(tenantId, normalize(body)),
      update: kind.update,
      remove: kind.remove,
    };
  }

  // ---- plans ------------------------------------------------------------------------

  listPlans() {
    return listPlanViews(this.#pool);
  }

  async getPlan(name: string) {
    return (await getPlan(this.#pool, name)) ?? Promise.reject(notFound("plan", name));
  }

  putPlan(name: string, body: PlanBody): Change {
    const limits: PlanLimits = { ...body, quota: parseOptionalQuota(body.quota, "body/quota") };
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
