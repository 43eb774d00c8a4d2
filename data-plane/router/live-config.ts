/**
 * The configuration a node serves: per-tenant route tables and the key index, built from the
 * plain tenants a snapshot carries. Built chunk by chunk (addTenants) so a large snapshot never
 * holds the event loop for long, then swapped in whole; never mutated after finish().
 */
import type { FleetSettings, Limits, Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type {
  PlainConfigMeta,
  PlainTenant,
  PlainUpstream,
  TenantStatus,
} from "../config-client/plain-config.ts";
import { KeyIndex } from "./key-index.ts";
import { type CompiledRoute, TenantRoutes } from "./route-table.ts";

export interface TenantEntry {
  readonly id: string;
  readonly status: TenantStatus;
  readonly plan: string;
  readonly limits: Limits | undefined;
  readonly shard: readonly string[];
  readonly routes: TenantRoutes;
}

export interface LiveConfig {
  readonly version: number;
  readonly epoch: number;
  readonly createdAtMs: number;
  readonly digestHex: string;
  readonly slots: readonly Slot[];
  readonly settings: FleetSettings | undefined;
  readonly tenants: ReadonlyMap<string, TenantEntry>;
  readonly keys: KeyIndex<TenantEntry>;
  /** pool keys (origin|connect timeout) of every upstream target: pools not listed are closed */
  readonly poolKeys: ReadonlySet<string>;
}

export function poolKey(origin: string, connectTimeoutMs: number): string {
  return `${origin}|${connectTimeoutMs}`;
}

export class LiveConfigBuilder {
  private readonly meta: PlainConfigMeta;
  private readonly tenants = new Map<string, TenantEntry>();
  private readonly keys = new KeyIndex<TenantEntry>();
  private readonly poolKeys = new Set<string>();

  constructor(meta: PlainConfigMeta) {
    this.meta = meta;
  }

  addTenants(chunk: readonly PlainTenant[]): void {
    for (const t of chunk) this.addTenant(t);
  }

  private addTenant(t: PlainTenant): void {
    const upstreams = new Map<string, PlainUpstream>();
    for (const u of t.upstreams) {
      upstreams.set(u.id, u);
      for (const target of u.targets) this.poolKeys.add(poolKey(target.origin, u.connectTimeoutMs));
    }
    const routes: CompiledRoute[] = t.routes.map((r) => ({
      ...r,
      tenantId: t.id,
      upstream: upstreams.get(r.upstreamId)!,
    }));
    const entry: TenantEntry = {
      id: t.id,
      status: t.status,
      plan: t.plan,
      limits: t.limits,
      shard: t.shard,
      routes: new TenantRoutes(routes),
    };
    this.tenants.set(t.id, entry);
    for (const k of t.keys) if (k.invoke) this.keys.add(k.id, k.hashHex, entry);
  }

  finish(): LiveConfig {
    const { version, epoch, createdAtMs, digestHex, slots, settings } = this.meta;
    return Object.freeze({
      version,
      epoch,
      createdAtMs,
      digestHex,
      slots,
      settings,
      tenants: this.tenants,
      keys: this.keys,
      poolKeys: this.poolKeys,
    });
  }
}
