/**
 * What ties a kept tenant to the rest of the snapshot, remembered from the last compile that
 * passed its checks (issue 14): which tenant owns each key id, key hash and public host. With it
 * an incremental compile over an unchanged slot set checks only the tenants it re-encoded —
 * their own content (ConsistencyCheck over them alone, which also catches clashes among them)
 * and here their clashes with the tenants it kept — instead of every tenant of every version
 * (a third of a compile at 100,000 tenants). A kept tenant's shard named known slots when it was
 * checked and the slots have not changed since. Pure.
 */
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { KeyIdentity } from "./consistency.ts";

export interface PlacedTenant {
  keys: readonly KeyIdentity[];
  publicHosts: readonly string[];
}

/** The slot set a snapshot's shards are checked against. */
export function slotsKey(slots: readonly Slot[]): string {
  return slots.map((s) => s.name).join("\n");
}

export class FleetIndex {
  readonly slotsKey: string;
  readonly #keyIds = new Map<string, string>();
  readonly #keyHashes = new Map<string, string>();
  readonly #hosts = new Map<string, string>();

  constructor(slotsKey: string, tenants: Iterable<[string, PlacedTenant]> = []) {
    this.slotsKey = slotsKey;
    for (const [id, t] of tenants) this.#add(id, t);
  }

  /**
   * Clashes of the re-encoded tenants (`changed`) with the kept ones: a key id, key hash or
   * public host another tenant owns that is neither changed nor `removed`.
   */
  clashes(changed: ReadonlyMap<string, PlacedTenant>, removed: ReadonlySet<string>): string[] {
    const problems: string[] = [];
    const kept = (owner: string | undefined, id: string) =>
      owner !== undefined && owner !== id && !changed.has(owner) && !removed.has(owner);
    for (const [id, t] of changed) {
      for (const key of t.keys) {
        if (kept(this.#keyIds.get(key.id), id)) problems.push(`key ${key.id} appears twice`);
        if (key.hash.length === 64 && kept(this.#keyHashes.get(key.hash), id))
          problems.push(`key ${key.id} of tenant ${id} has a duplicate hash`);
      }
      for (const host of t.publicHosts) {
        const owner = this.#hosts.get(host);
        if (kept(owner, id))
          problems.push(`tenant ${id}: public host ${host} is public for tenant ${owner} too`);
      }
    }
    return problems;
  }

  /** After a compile passed: forgets what `before` held of the changed and removed tenants, adds `changed`. */
  update(
    before: ReadonlyMap<string, PlacedTenant>,
    changed: ReadonlyMap<string, PlacedTenant>,
    removed: ReadonlySet<string>,
  ): void {
    for (const id of [...changed.keys(), ...removed]) {
      const old = before.get(id);
      if (old) this.#remove(id, old);
    }
    for (const [id, t] of changed) this.#add(id, t);
  }

  #add(id: string, t: PlacedTenant): void {
    for (const key of t.keys) {
      this.#keyIds.set(key.id, id);
      if (key.hash.length === 64) this.#keyHashes.set(key.hash, id);
    }
    for (const host of t.publicHosts) this.#hosts.set(host, id);
  }

  #remove(id: string, t: PlacedTenant): void {
    const drop = (map: Map<string, string>, k: string) => {
      if (map.get(k) === id) map.delete(k);
    };
    for (const key of t.keys) {
      drop(this.#keyIds, key.id);
      drop(this.#keyHashes, key.hash);
    }
    for (const host of t.publicHosts) drop(this.#hosts, host);
  }
}
