/**
 * Checks a compiled snapshot's internal references before it is published (like
 * go-control-plane's Snapshot.Consistent()): every route's upstream exists in its tenant,
 * ids and key hashes are unique, every shard member is a known slot. Pure.
 */
import type { Snapshot, Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

export function snapshotProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  const slotNames = new Set<string>();
  for (const slot of snapshot.slots) {
    if (!slot.name) problems.push("a slot has no name");
    if (slotNames.has(slot.name)) problems.push(`slot ${slot.name} appears twice`);
    slotNames.add(slot.name);
  }
  const tenantIds = new Set<string>();
  const keyIds = new Set<string>();
  const keyHashes = new Set<string>();
  for (const tenant of snapshot.tenants) {
    if (!tenant.id) problems.push("a tenant has no id");
    if (tenantIds.has(tenant.id)) problems.push(`tenant ${tenant.id} appears twice`);
    tenantIds.add(tenant.id);
    problems.push(...tenantProblems(tenant, slotNames));
    for (const key of tenant.keys) {
      if (keyIds.has(key.id)) problems.push(`key ${key.id} appears twice`);
      keyIds.add(key.id);
      const hash = Buffer.from(key.hash).toString("hex");
      if (key.hash.length !== 32) problems.push(`key ${key.id} of tenant ${tenant.id} has a malformed hash`);
      else if (keyHashes.has(hash))
        problems.push(`key ${key.id} of tenant ${tenant.id} has a duplicate hash`);
      keyHashes.add(hash);
    }
  }
  return problems;
}

function tenantProblems(tenant: Tenant, slotNames: Set<string>): string[] {
  const problems: string[] = [];
  const where = `tenant ${tenant.id}`;
  if (tenant.status !== "active" && tenant.status !== "suspended")
    problems.push(`${where} has status ${tenant.status}`);
  if (!tenant.limits) problems.push(`${where} has no limits`);
  else if (tenant.limits.shardSize < 1) problems.push(`${where} has shard size ${tenant.limits.shardSize}`);
  for (const member of tenant.shard) {
    if (!slotNames.has(member)) problems.push(`${where}: shard member ${member} is not a slot`);
  }
  const upstreamIds = new Set<string>();
  for (const upstream of tenant.upstreams) {
    if (upstreamIds.has(upstream.id)) problems.push(`${where}: upstream ${upstream.id} appears twice`);
    upstreamIds.add(upstream.id);
    if (upstream.targets.length === 0) problems.push(`${where}: upstream ${upstream.id} has no targets`);
  }
  const routeIds = new Set<string>();
  for (const route of tenant.routes) {
    if (routeIds.has(route.id)) problems.push(`${where}: route ${route.id} appears twice`);
    routeIds.add(route.id);
    if (!upstreamIds.has(route.upstreamId))
      problems.push(`${where}: route ${route.id} uses upstream ${route.upstreamId}, which does not exist`);
    if (!route.pathPrefix.startsWith("/"))
      problems.push(`${where}: route ${route.id} path prefix must start with /`);
    if (route.protocol !== "http" && route.protocol !== "grpc")
      problems.push(`${where}: route ${route.id} has protocol ${route.protocol}`);
  }
  return problems;
}
