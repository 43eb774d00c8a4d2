/**
 * Checks a compiled snapshot before it is published (like go-control-plane's
 * Snapshot.Consistent()): first the check every node runs before it applies
 * (proto/snapshot-consistency.ts), so a version a node would refuse is never published; then
 * what the compiler itself promises on top: every tenant has limits with a shard size of at
 * least 1, every upstream a target, key ids and hashes are unique across the fleet, and a shard
 * names only known slots even when the fleet has none. Pure.
 */
import type { Slot, Snapshot, Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { SnapshotCheck } from "../../proto/snapshot-consistency.ts";

export function snapshotProblems(snapshot: Snapshot): string[] {
  const check = new ConsistencyCheck(snapshot.slots, snapshot.settings?.egressAllow ?? []);
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
  readonly #shared: SnapshotCheck;
  readonly #own: string[] = [];
  readonly #noSlots: boolean;
  readonly #keyIds = new Set<string>();
  readonly #keyHashes = new Set<string>();

  constructor(slots: readonly Slot[], fleetEgressAllow: readonly string[] = []) {
    this.#shared = new SnapshotCheck(slots, fleetEgressAllow);
    this.#noSlots = slots.length === 0;
  }

  get problems(): string[] {
    return [...this.#shared.problems, ...this.#own];
  }

  tenant(tenant: Tenant): void {
    this.#shared.tenant(tenant);
    this.#own.push(...compilerPromises(tenant));
    this.#fleetWide(tenant.id, tenant.shard, keyIdentities(tenant));
  }

  reused(
    id: string,
    shard: readonly string[],
    keys: readonly KeyIdentity[],
    hosts: readonly string[] = [],
  ): void {
    this.#shared.placed(id, shard, hosts);
    this.#fleetWide(id, shard, keys);
  }

  #fleetWide(id: string, shard: readonly string[], keys: readonly KeyIdentity[]): void {
    if (this.#noSlots && shard.length > 0) this.#own.push(`tenant ${id}: shard names slots the fleet lacks`);
    for (const key of keys) {
      if (this.#keyIds.has(key.id)) this.#own.push(`key ${key.id} appears twice`);
      this.#keyIds.add(key.id);
      if (key.hash.length === 64 && this.#keyHashes.has(key.hash))
        this.#own.push(`key ${key.id} of tenant ${id} has a duplicate hash`);
      this.#keyHashes.add(key.hash);
    }
  }
}

function compilerPromises(tenant: Tenant): string[] {
  const problems: string[] = [];
  const where = `tenant ${tenant.id}`;
  if (!tenant.limits) problems.push(`${where} has no limits`);
  else if (tenant.limits.shardSize < 1) problems.push(`${where} has shard size ${tenant.limits.shardSize}`);
  for (const upstream of tenant.upstreams) {
    if (upstream.targets.length === 0) problems.push(`${where}: upstream ${upstream.id} has no targets`);
  }
  return problems;
}
