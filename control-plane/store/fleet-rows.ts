/** Everything the compiler needs, read in one (repeatable-read) transaction. */
import type { ApiKeyRow } from "./api-keys.ts";
import type { Queryable } from "./db.ts";
import { listNodeRows, type NodeRow } from "./nodes.ts";
import type { RouteRow } from "./routes.ts";
import { listPlans, type PlanRow, TENANT_COLUMNS, type TenantRow } from "./tenants.ts";
import type { UpstreamRow } from "./upstreams.ts";

export type ActiveKeyRow = Pick<ApiKeyRow, "id" | "tenant_id" | "hash" | "scopes" | "revoked_at">;

export interface FleetRows {
  plans: PlanRow[];
  tenants: TenantRow[];
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
  nodes: NodeRow[];
}

export async function loadFleetRows(q: Queryable): Promise<FleetRows> {
  const plans = await listPlans(q);
  const tenants = (await q.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY id`)).rows;
  const keys = (
    await q.query<ActiveKeyRow>(
      "SELECT id, tenant_id, hash, scopes, revoked_at FROM api_keys WHERE revoked_at IS NULL ORDER BY tenant_id, id",
    )
  ).rows;
  const routes = (await q.query<RouteRow>("SELECT * FROM routes ORDER BY tenant_id, created_at, id")).rows;
  const upstreams = (await q.query<UpstreamRow>("SELECT * FROM upstreams ORDER BY tenant_id, created_at, id"))
    .rows;
  const nodes = await listNodeRows(q);
  return { plans, tenants, keys, routes, upstreams, nodes };
}
