/**
 * Checks a compiled snapshot's internal references before it is published (like
 * go-control-plane's Snapshot.Consistent()): every route's upstream exists in its tenant,
 * ids and key hashes are unique, every shard member is a known slot. Pure.
 */
import type { Slot, Snapshot, Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

export function snapshotProblems(snapshot: Snapshot): string[] {
  const check = new ConsistencyCheck(snapshot.slots);
  for (const tenant of snapshot.tenants) check.tenant(tenant);
  return check.problems;
}

/** A key as the fleet-wide uniqueness checks see it: its id and its hash in hex. */
export interface KeyIdentity {
  id: string;
  hash: string;
}

export function keyIdentities(tenant: Tenant): KeyIdentity[] {
  return tenant.keys.map((k) => ({ id: k.id, hash: Buffer.from(k.hash).toString("hex") }));
}

/**
 * The same checks, tenant by tenant: a whole tenant (`tenant`), or one an incremental compile
 * reuses unchanged (`reused`: its fragment was checked when encoded, so only what depends on
 * the rest of the snapshot — its id, shard members and keys being unique — is checked again).
 */
export class ConsistencyCheck {
  readonly problems: string[] = [];
  readonly #slotNames = new Set<string>();
  readonly #tenantIds = new Set<string>();
  readonly #keyIds = new Set<string>();
  readonly #keyHashes = new Set<string>();

  constructor(slots: readonly Slot[]) {
    for (const slot of slots) {
      if (!slot.name) this.problems.push("a slot has no name");
      if (this.#slotNames.has(slot.name)) this.problems.push(`slot ${slot.name} appears twice`);
      this.#slotNames.add(slot.name);
    }
  }

  tenant(tenant: Tenant): void {
    this.problems.push(...tenantProblems(tenant));
    for (const key of tenant.keys) {
      if (key.hash.length !== 32)
        this.problems.push(`key ${key.id} of tenant ${tenant.id} has a malformed hash`);
    }
    this.reused(tenant.id, tenant.shard, keyIdentities(tenant));
  }

  reused(id: string, shard: readonly string[], keys: readonly KeyIdentity[]): void {
    if (!id) this.problems.push("a tenant has no id");
    if (this.#tenantIds.has(id)) this.problems.push(`tenant ${id} appears twice`);
    this.#tenantIds.add(id);
    for (const member of shard) {
      if (!this.#slotNames.has(member))
        this.problems.push(`tenant ${id}: shard member ${member} is not a slot`);
    }
    for (const key of keys) {
      if (this.#keyIds.has(key.id)) this.problems.push(`key ${key.id} appears twice`);
      this.#keyIds.add(key.id);
      if (key.hash.length === 64 && this.#keyHashes.has(key.hash))
        this.problems.push(`key ${key.id} of tenant ${id} has a duplicate hash`);
      this.#keyHashes.add(key.hash);
    }
  }
}

function tenantProblems(tenant: Tenant): string[] {
  const problems: string[] = [];
  const where = `tenant ${tenant.id}`;
  if (tenant.status !== "active" && tenant.status !== "suspended")
    problems.push(`${where} has status ${tenant.status}`);
  if (!tenant.limits) problems.push(`${where} has no limits`);
  else if (tenant.limits.shardSize < 1) problems.push(`${where} has shard size ${tenant.limits.shardSize}`);
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
