/**
 * The configuration a node serves, over a snapshot index (flat tables in ArrayBuffers, built
 * by the snapshot worker). A tenant is decoded from its bytes the first time a request needs
 * it and kept for the life of this config; adopt() carries decoded tenants whose bytes did not
 * change over from the previous config, so a new version does not make every tenant cold.
 * Tenants with health-checked upstreams are listed apart (healthChecked()) and stay decoded
 * across versions even when their bytes change, so their checks do not pause.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { hashApiKey, MAX_KEY_LENGTH } from "../../proto/api-key.ts";
import { type EgressPolicy, egressPolicy } from "../../proto/egress-policy.ts";
import {
  type FleetSettings,
  type Limits,
  type Slot,
  Tenant,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { PlainKey, PlainUpstream, ReadTenant, TenantStatus } from "../model/plain-config.ts";
import type { SnapshotIndex } from "../model/snapshot-index.ts";
import { findKey, findTenant, hashHost } from "./binary-tables.ts";
import { type CompiledRoute, TenantRoutes } from "./route-table.ts";

export interface TenantEntry {
  readonly id: string;
  readonly status: TenantStatus;
  readonly plan: string;
  readonly limits: Limits | undefined;
  readonly shard: readonly string[];
  readonly keys: readonly PlainKey[];
  readonly routes: TenantRoutes;
  /** the tenant's upstreams that have an active health check, with the tenant's egress policy */
  readonly checkedUpstreams: readonly { upstream: PlainUpstream; egress: EgressPolicy }[];
}

export interface Identity {
  tenant: TenantEntry;
  keyId: string;
}

/** Longest host name (RFC 1035), with room for a bracketed IPv6 literal. */
const MAX_HOST_LENGTH = 255;
/** Decoded tenants carried over per event-loop turn by adopt(). */
const ADOPT_BATCH = 2_000;
/** Verified keys remembered per config (the oldest goes first when full). */
const IDENTITY_CACHE_SIZE = 10_000;

/** `fleetEgress`: the fleet's egress exceptions, added to the tenant's own. */
function decodeTenant(bytes: Uint8Array, fleetEgress: readonly string[], read: ReadTenant): TenantEntry {
  const t = read(Tenant.decode(bytes));
  const upstreams = new Map(t.upstreams.map((u) => [u.id, u]));
  const egress = egressPolicy(fleetEgress, t.egressAllow);
  const routes: CompiledRoute[] = t.routes.map((r) => ({
    ...r,
    tenantId: t.id,
    upstream: upstreams.get(r.upstreamId)!,
    egress,
  }));
  return {
    id: t.id,
    status: t.status,
    plan: t.plan,
    limits: t.limits,
    shard: t.shard,
    keys: t.keys,
    routes: new TenantRoutes(routes),
    checkedUpstreams: t.upstreams.filter((u) => u.healthCheck).map((upstream) => ({ upstream, egress })),
  };
}

function sameList(a: readonly string[] = [], b: readonly string[] = []): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export class LiveConfig {
  readonly version: number;
  readonly epoch: number;
  readonly createdAtMs: number;
  readonly digestHex: string;
  readonly slots: readonly Slot[];
  readonly settings: FleetSettings | undefined;
  /** the fleet's key for peer-forward hops (settings.hopKey), undefined in a snapshot without one */
  readonly hopKey: Buffer | undefined;
  readonly tenantCount: number;
  private readonly index: SnapshotIndex;
  private readonly decoded = new Map<number, TenantEntry>();
  /** the decoded tenants that have upstreams with active health checks */
  private readonly checked = new Set<TenantEntry>();
  /** presented key (exact string) -> its identity, for keys this config already verified */
  private readonly verified = new Map<string, Identity>();

  private readonly readTenant: ReadTenant;

  /** `readTenant` validates and normalises a decoded tenant (config-client's plainTenant) */
  constructor(index: SnapshotIndex, readTenant: ReadTenant) {
    this.index = index;
    this.readTenant = readTenant;
    const { version, epoch, createdAtMs, digestHex, slots, settings, tenantCount } = index.meta;
    this.version = version;
    this.epoch = epoch;
    this.createdAtMs = createdAtMs;
    this.digestHex = digestHex;
    this.slots = slots;
    this.settings = settings;
    const key = settings?.hopKey;
    this.hopKey = key && key.length >= 32 ? Buffer.from(key) : undefined;
    this.tenantCount = tenantCount;
  }

  /** Tenants decoded so far. */
  get decodedCount(): number {
    return this.decoded.size;
  }

  private bytesOf(i: number): Uint8Array {
    const r = this.index.tenantRanges;
    return this.index.payload.subarray(r[2 * i]!, r[2 * i + 1]!);
  }

  tenantAt(i: number): TenantEntry {
    let entry = this.decoded.get(i);
    if (!entry) {
      entry = decodeTenant(this.bytesOf(i), this.settings?.egressAllow ?? [], this.readTenant);
      this.keep(i, entry);
    }
    return entry;
  }

  private keep(i: number, entry: TenantEntry): void {
    this.decoded.set(i, entry);
    if (entry.checkedUpstreams.length > 0) this.checked.add(entry);
  }

  /** Decoded tenants with health-checked upstreams (the node checks those of its shard's tenants). */
  healthChecked(): Iterable<TenantEntry> {
    return this.checked;
  }

  tenant(id: string): TenantEntry | undefined {
    const i = findTenant(this.index.tenants, id);
    return i === undefined ? undefined : this.tenantAt(i);
  }

  /**
   * The tenant whose invoke-scoped key this is: SHA-256 of the key, looked up in the key table
   * (constant-time comparison of hashes). A key that verified is remembered by its exact string
   * for the life of this config (a new config starts empty, so revoked keys are forgotten with
   * it), which saves the hash on every later request; unknown keys are never remembered, so
   * they cannot crowd out real ones. The lookup by string compares contents only on a string
   * hash match with a remembered key, which a caller without that key cannot aim for.
   */
  identify(presented: string | undefined): Identity | undefined {
    if (!presented || presented.length > MAX_KEY_LENGTH) return undefined;
    const known = this.verified.get(presented);
    if (known) return known;
    const slot = findKey(this.index.keyTable, hashApiKey(presented));
    if (!slot) return undefined;
    const tenant = this.tenantAt(slot.tenantIndex);
    const identity: Identity = { tenant, keyId: tenant.keys[slot.ordinal]!.id };
    if (this.verified.size >= IDENTITY_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(presented, identity);
    return identity;
  }

  /**
   * The tenant a host is public for (keyless public routes, docs/design.md §5.1): `host`
   * normalised (normalizeHost). A host is public for one tenant at most.
   */
  publicTenant(host: string): TenantEntry | undefined {
    if (host === "" || host.length > MAX_HOST_LENGTH) return undefined;
    const slot = findKey(this.index.publicHosts, hashHost(host));
    return slot && this.tenantAt(slot.tenantIndex);
  }

  /** Takes over the previous config's decoded tenants whose bytes are unchanged, in batches. */
  async adopt(previous: LiveConfig | undefined): Promise<number> {
    // a decoded tenant holds the fleet's egress exceptions too: it stays only while they do
    if (!previous || !sameList(previous.settings?.egressAllow, this.settings?.egressAllow)) return 0;
    let adopted = 0;
    let batch = 0;
    for (const [oldIndex, entry] of previous.decoded) {
      const i = findTenant(this.index.tenants, entry.id);
      if (i !== undefined && !this.decoded.has(i) && sameBytes(previous.bytesOf(oldIndex), this.bytesOf(i))) {
        this.keep(i, entry);
        adopted++;
      } else if (i !== undefined && previous.checked.has(entry)) {
        // its health checks go on without waiting for the tenant's next request
        this.tenantAt(i);
      }
      if (++batch % ADOPT_BATCH === 0) await nextTurn();
    }
    return adopted;
  }
}
