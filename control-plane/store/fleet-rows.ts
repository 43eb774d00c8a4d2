/** Everything the compiler needs, read in one (repeatable-read) transaction. */
import type { AdmissionSettings } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { DeclaredSlotRow } from "../placement/fleet-slots.ts";
import type { ApiKeyRow } from "./api-keys.ts";
import type { Queryable } from "./db.ts";
import { listNodeRows, type NodeRow } from "./nodes.ts";
import { PERIOD_QUOTA_COLUMNS, type PeriodQuotaColumns } from "./period-quota.ts";
import type { RouteRow } from "./routes.ts";
import { getAdmission, getEgress } from "./settings.ts";
import { databaseNowMs, listDeclaredSlots } from "./slots.ts";
import { loadTenantRows, type TenantRows } from "./tenant-revisions.ts";
import { listPlans, type PlanRow, type TenantRow } from "./tenants.ts";
import type { UpstreamRow } from "./upstreams.ts";

export type ActiveKeyRow = Pick<ApiKeyRow, "id" | "tenant_id" | "hash" | "scopes" | "revoked_at"> &
  PeriodQuotaColumns;

/** What a live key compiles from: its hash, scopes and its own period quota. */
export const ACTIVE_KEY_COLUMNS = `id, tenant_id, hash, scopes, revoked_at, ${PERIOD_QUOTA_COLUMNS}`;

export interface FleetRows {
  plans: PlanRow[];
  tenants: TenantRow[];
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
  nodes: NodeRow[];
  /** slots operators declared */
  declaredSlots?: DeclaredSlotRow[];
  admission?: AdmissionSettings;
  /** the fleet's egress exceptions (canonical allow entries) */
  egressAllow?: string[];
  /** the database clock when the rows were read (last_seen is on this clock) */
  dbNowMs?: number;
}

/** Everything but the tenants' own rows: plans, nodes, slots, fleet settings, the clock. */
export type FleetParts = Omit<FleetRows, keyof TenantRows>;

export async function loadFleetRows(q: Queryable): Promise<FleetRows> {
  const parts = await loadFleetParts(q);
  return { ...parts, ...(await loadTenantRows(q)) };
}

export async function loadFleetParts(q: Queryable): Promise<FleetParts> {
  const plans = await listPlans(q);
  const nodes = await listNodeRows(q);
  const declaredSlots = await listDeclaredSlots(q);
  const { admission } = await getAdmission(q);
  const egressAllow = (await getEgress(q)).allow;
  const dbNowMs = await databaseNowMs(q);
  return { plans, nodes, declaredSlots, admission, egressAllow, dbNowMs };
}
