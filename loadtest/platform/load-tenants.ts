/**
 * From tenant specs to a load plan's tenants: create them through the admin API, wait
 * until every node serves the config that has them, resolve each one's shard (placement-
 * aware routing) and check each shard member answers the tenant's route.
 */
import { request } from "undici";
import type { TenantLoad } from "../generator/plan.ts";
import type { Params, ScenarioContext } from "../scenario/types.ts";
import { waitForLatest } from "./convergence.ts";
import { type NodeAddress, resolveShard, type Shard } from "./placement.ts";
import type { Rig } from "./rig.ts";
import { type CreatedTenant, createTenants, type TenantSpec } from "./tenants.ts";

export type LoadTenant = CreatedTenant & { shard: Shard };

export function runningNodes(rig: Rig): Array<NodeAddress & { ops: string }> {
  return rig
    .nodes()
    .filter((n) => n.running)
    .map((n) => ({ slot: n.slot, url: n.url, ops: n.ops }));
}

async function answers(url: string, key: string): Promise<string> {
  try {
    const res = await request(url, {
      headers: { "x-api-key": key },
      headersTimeout: 3000,
      bodyTimeout: 3000,
    });
    await res.body.dump();
    const reason = res.headers["corral-reason"];
    return res.statusCode === 200 ? "200" : `${res.statusCode} ${reason ?? ""}`.trim();
  } catch (err) {
    return (err as Error).message;
  }
}

/** Polls every origin of the tenant's shard until it answers 200 (at most `timeoutMs`). */
export async function waitServed(tenant: LoadTenant, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const origin of tenant.shard.origins) {
    let last = await answers(`${origin}${tenant.path}`, tenant.key);
    while (last !== "200") {
      if (performance.now() > deadline)
        throw new Error(`tenant ${tenant.id} not served by ${origin} within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
      last = await answers(`${origin}${tenant.path}`, tenant.key);
    }
  }
}

/**
 * Resolves a tenant's shard; while nodes answer the placement endpoint with no member yet
 * (the slots join the config a version after the nodes say Hello), asks again.
 */
async function resolveShardSoon(nodes: NodeAddress[], tenant: string, key: string, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  let shard = await resolveShard(nodes, tenant, key);
  // "fallback": no node answered 200 yet, e.g. the version with the tenant's key is still on
  // its way (changes are debounced into the next version); "empty": no shard yet
  while (shard.source !== "placement" && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    shard = await resolveShard(nodes, tenant, key);
  }
  return shard;
}

export async function prepareTenants<P extends Params>(
  ctx: ScenarioContext<P>,
  rig: Rig,
  specs: TenantSpec[],
  timeoutMs = 30_000,
): Promise<LoadTenant[]> {
  const since = performance.now();
  const created = await createTenants(rig.admin, specs);
  const nodes = runningNodes(rig);
  const converged = await waitForLatest(rig.admin, nodes, timeoutMs);
  if (converged.behind.length > 0)
    throw new Error(
      `nodes did not apply version ${converged.version} within ${timeoutMs} ms: ${JSON.stringify(converged.behind)}`,
    );
  const tenants: LoadTenant[] = [];
  for (const t of created) tenants.push({ ...t, shard: await resolveShardSoon(nodes, t.id, t.key, 5000) });
  for (const t of tenants) await waitServed(t, timeoutMs);
  const aware = tenants.filter((t) => t.shard.source === "placement").length;
  const empty = tenants.filter((t) => t.shard.source === "empty").length;
  ctx.log(
    `${tenants.length} tenants served at version ${converged.version} after ${Math.round(performance.now() - since)} ms; ` +
      `placement-aware routing for ${aware}; on every node: ${tenants.length - aware - empty} ` +
      `(no placement endpoint), ${empty} (empty shard)`,
  );
  return tenants;
}

/** One load per tenant, spread over its shard (see HttpTarget.origins). */
export function tenantLoads(tenants: LoadTenant[], rates: number[]): TenantLoad[] {
  return tenants.map((t, i) => ({
    tenant: t.id,
    rate: rates[i]!,
    target: {
      kind: "http",
      url: `${t.shard.origins[0]}${t.path}`,
      headers: { "x-api-key": t.key },
      origins: t.shard.origins,
    },
  }));
}

/** Tenants routed by the placement endpoint (the rest go to every node). */
export function placementAwareCount(tenants: LoadTenant[]): number {
  return tenants.filter((t) => t.shard.source === "placement").length;
}
