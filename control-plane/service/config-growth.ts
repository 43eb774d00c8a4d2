/**
 * Keeps every commit publishable (issue: one tenant must never freeze the fleet). Inside a
 * change's transaction, after the change: the tenant's config is compiled as the snapshot
 * compiler would (compileTenant), its size recorded in tenants.config_bytes, and — only when
 * the change grows the config — checked against the tenant's quotas, then the sum of every
 * tenant's size plus the fleet reserve against the uncompressed payload bound. A refusal rolls
 * the change back. Shrinking changes (deletes, revocations, suspensions) record their size and
 * are never refused.
 */
import { compileTenant } from "../publish/compile.ts";
import { tenantPayloadBytes } from "../publish/tenant-size.ts";
import { type Pool, type Queryable, type TxClient, withTransaction } from "../store/db.ts";
import {
  loadTenantConfig,
  lockedTotalConfigBytes,
  lockTenantRow,
  storeConfigBytes,
  unmeasuredTenants,
} from "../store/tenant-config.ts";
import {
  assertFleetFits,
  assertWithinQuotas,
  type Quotas,
  resolveQuotas,
  type TenantUsage,
} from "./quotas.ts";

export interface GrowthBounds {
  /** uncompressed payload bound (CORRAL_SNAPSHOT_MAX_PAYLOAD) */
  maxPayload: number;
  /** bytes kept for slots, settings and the snapshot's own fields (CORRAL_SNAPSHOT_FLEET_RESERVE) */
  fleetReserve: number;
}

export interface TenantMeasure {
  usage: TenantUsage;
  quotas: Quotas;
}

/** What the tenant holds now and its effective quotas; undefined when there is no such tenant. */
export async function measureTenant(q: Queryable, tenantId: string): Promise<TenantMeasure | undefined> {
  const config = await loadTenantConfig(q, tenantId);
  if (!config) return undefined;
  const { keys, routes, upstreams } = config;
  const fragment = compileTenant(config.tenant, config.plan, { keys, routes, upstreams }, () => []);
  return {
    usage: {
      routes: routes.length,
      upstreams: upstreams.length,
      keys: keys.length,
      targets: upstreams.reduce((n, u) => n + u.targets.length, 0),
      configBytes: tenantPayloadBytes(fragment),
    },
    quotas: resolveQuotas(config.planQuotas, config.overrides),
  };
}

/** Records the tenant's size; when `grows`, refuses (throws) past a quota or the fleet bound. */
export async function settleTenantSize(
  tx: TxClient,
  tenantId: string,
  bounds: GrowthBounds,
  grows: boolean,
): Promise<void> {
  const measured = await measureTenant(tx, tenantId);
  if (!measured) return;
  if (grows) assertWithinQuotas(tenantId, measured.usage, measured.quotas);
  await storeConfigBytes(tx, tenantId, measured.usage.configBytes);
  if (grows) await assertFleetStillFits(tx, bounds);
}

/** The fleet-wide check alone (changes that add to the fleet's own part, e.g. declared slots). */
export async function assertFleetStillFits(tx: TxClient, bounds: GrowthBounds): Promise<void> {
  assertFleetFits(await lockedTotalConfigBytes(tx), bounds.fleetReserve, bounds.maxPayload);
}

/** At start: records the size of tenants created before quotas existed; returns how many. */
export async function measureUnmeasuredTenants(pool: Pool): Promise<number> {
  const ids = await unmeasuredTenants(pool);
  for (const id of ids) {
    await withTransaction(pool, async (tx) => {
      await lockTenantRow(tx, id);
      await settleTenantSize(tx, id, { maxPayload: 0, fleetReserve: 0 }, false);
    });
  }
  return ids.length;
}
