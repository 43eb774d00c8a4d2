/**
 * What every API does to one kind of tenant-owned resource (routes, upstreams): list, find,
 * create, update (PATCH: merged, then checked as a new one would be) and remove, every read and
 * change scoped by the tenant id, an id that is not the tenant's CORRAL_ADMIN_NOT_FOUND. Each
 * change is a function for MutationRunner.run. A kind says only what differs: its table, how a
 * patch merges, and its checks.
 */
import { CorralError } from "../errors.ts";
import type { Queryable, TxClient } from "../store/db.ts";
import type { TenantTable } from "../store/tenant-resource.ts";
import { assertTenantExists } from "../store/tenants.ts";
import type { Change } from "./mutations.ts";

export interface ResourceRules<Item, New, Patch> {
  /** "route", "upstream": in errors */
  kind: string;
  table: TenantTable<Item, New>;
  /** the resource `patch` makes of `current`, as a new one would be given */
  merge(current: Item, patch: Patch): New;
  /** the checks of a new or merged resource that read nothing, before the tenant is looked up */
  check?(resource: New): void;
  /** the checks that read the change's transaction; `patch` is absent on create */
  admit(tx: TxClient, tenantId: string, resource: New, patch?: Patch): Promise<void>;
}

export interface ResourceChanges<Item, New, Patch> {
  list(q: Queryable, tenantId: string): Promise<Item[]>;
  /** CORRAL_ADMIN_NOT_FOUND unless the tenant has it */
  find(q: Queryable, tenantId: string, id: string): Promise<Item>;
  create(tenantId: string, input: New): Change;
  update(tenantId: string, id: string, patch: Patch): Change;
  remove(tenantId: string, id: string): Change;
}

export const notFound = (kind: string, id: string, tenantId: string) =>
  new CorralError("CORRAL_ADMIN_NOT_FOUND", `${kind} ${id} not found in tenant ${tenantId}`);

export function resourceChanges<Item, New, Patch>(
  rules: ResourceRules<Item, New, Patch>,
): ResourceChanges<Item, New, Patch> {
  const { kind, table } = rules;
  const find = async (q: Queryable, tenantId: string, id: string) =>
    (await table.get(q, tenantId, id)) ?? Promise.reject(notFound(kind, id, tenantId));
  return {
    list: table.list,
    find,
    create: (tenantId, input) => async (tx) => {
      rules.check?.(input);
      await assertTenantExists(tx, tenantId);
      await rules.admit(tx, tenantId, input);
      return { status: 201, body: await table.insert(tx, tenantId, input) };
    },
    update: (tenantId, id, patch) => async (tx) => {
      const merged = rules.merge(await find(tx, tenantId, id), patch);
      rules.check?.(merged);
      await rules.admit(tx, tenantId, merged, patch);
      const updated = await table.replace(tx, tenantId, id, merged);
      if (!updated) throw notFound(kind, id, tenantId);
      return { status: 200, body: updated };
    },
    remove: (tenantId, id) => async (tx) => {
      if (!(await table.remove(tx, tenantId, id))) throw notFound(kind, id, tenantId);
      return { status: 204, body: null };
    },
  };
}
