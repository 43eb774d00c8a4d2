/**
 * Placement at the edges: reads slots, nodes and tenants from Postgres and runs the pure
 * placement code on them, exactly as the snapshot compiler does, so the admin API shows the
 * shards the fleet is (or is about to be) given. Also the compiler's placement options.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { CompileOptions } from "../publish/compile.ts";
import {
  analyzePlacement,
  clampShardSize,
  effectiveShardSize,
  type PlacementAnalysis,
  PlacementInputError,
  type PlacementTenant,
} from "../placement/index.ts";
import { type Pool, type Queryable, withTransaction } from "../store/db.ts";
import { listNodeRows } from "../store/nodes.ts";
import { databaseNowMs, listDeclaredSlots } from "../store/slots.ts";
import { fleetSlots, type SlotPolicy, type SlotView, slotViews } from "../placement/fleet-slots.ts";
import type { PlacementSeed } from "./placement-seed.ts";
import { ShardCache } from "./shard-cache.ts";

export interface PlacementConfig {
  seed: PlacementSeed;
  forgetDelayMs: number;
  liveWindowMs: number;
  strict: boolean;
  /** signs peer-forward hops on the nodes; travels in the snapshot */
  hopKey: Uint8Array;
}

export interface ShardMember {
  slot: string;
  zone: string;
  live: boolean;
}

export interface TenantPlacement {
  tenant: string;
  /** members in the shard: the configured k capped by MAX_SHARD_SIZE and the fleet size */
  k: number;
  /** the tenant's override, else its plan's shard size */
  configuredK: number;
  n: number;
  shard: ShardMember[];
  seedFingerprint: string;
}

export type FleetAnalysis = PlacementAnalysis & {
  seedFingerprint: string;
  slots: { slot: string; zone: string; live: boolean; tenants: number }[];
};

/** tenants placed between two yields to the event loop (about 10 ms of work) */
const PLACEMENT_CHUNK = 2_000;

export class PlacementService {
  readonly config: PlacementConfig;
  readonly #pool: Pool;
  readonly #shards: ShardCache;
  /** analyses running now, by failed-slot list: concurrent callers share one */
  readonly #analyses = new Map<string, Promise<FleetAnalysis>>();

  constructor(pool: Pool, config: PlacementConfig) {
    this.#pool = pool;
    this.config = config;
    this.#shards = new ShardCache(config.seed.seed);
  }

  /** The compiler's placement options; `onSlots` hears each compiled slot table. */
  compileOptions(onSlots?: (slots: readonly Slot[]) => void): Partial<CompileOptions> {
    return {
      shardOf: this.#shards.generation(),
      forgetDelayMs: this.config.forgetDelayMs,
      liveWindowMs: this.config.liveWindowMs,
      strictPlacement: this.config.strict,
      hopKey: this.config.hopKey,
      onSlots,
    };
  }

  /** Every slot declared or registered, with what placement makes of it. */
  async slotViews(q: Queryable = this.#pool): Promise<SlotView[]> {
    const [declared, nodes, nowMs] = await this.#slotInputs(q);
    return slotViews(declared, nodes, this.#policy(nowMs));
  }

  /** The slot table a snapshot compiled now would carry. */
  async currentSlots(q: Queryable = this.#pool): Promise<Slot[]> {
    const [declared, nodes, nowMs] = await this.#slotInputs(q);
    return fleetSlots(declared, nodes, this.#policy(nowMs));
  }

  /** The tenant's shard over the current fleet; undefined when there is no such tenant. */
  async tenantPlacement(tenantId: string): Promise<TenantPlacement | undefined> {
    const read = await this.#readFleet(tenantId);
    const tenant = read.tenants[0];
    if (!tenant) return undefined;
    const k = effectiveShardSize(tenant.k, read.slots.length);
    const byName = new Map(read.slots.map((s) => [s.name, s]));
    const shard = this.#shards.lookup({ id: tenant.id, shardSize: clampShardSize(tenant.k) }, read.slots);
    return {
      tenant: tenant.id,
      k,
      configuredK: tenant.k,
      n: read.slots.length,
      shard: shard.map((name) => ({
        slot: name,
        zone: byName.get(name)!.zone,
        live: byName.get(name)!.live,
      })),
      seedFingerprint: this.config.seed.fingerprint,
    };
  }

  /**
   * Which of the tenants have `slot` in their shard over the current fleet (the shard the
   * snapshot gives them, or is about to): usage metering takes counts from those members only.
   */
  async shardMembers(slot: string, tenantIds: readonly string[]): Promise<ReadonlySet<string>> {
    if (tenantIds.length === 0) return new Set();
    const read = await this.#readFleet(tenantIds);
    const members = read.tenants.filter((t) =>
      this.#shards.lookup({ id: t.id, shardSize: clampShardSize(t.k) }, read.slots).includes(slot),
    );
    return new Set(members.map((t) => t.id));
  }

  /**
   * Blast radius over every tenant: k distribution, slot loads, overlap measured against theory,
   * and the tenants losing their whole shard if `failed` slots die. Shards are computed in chunks
   * so a large fleet does not stall the event loop; concurrent calls for the same slots share one run.
   */
  analysis(failed: readonly string[]): Promise<FleetAnalysis> {
    const key = [...failed].sort().join(",");
    let running = this.#analyses.get(key);
    if (!running) {
      running = this.#analyze(failed).finally(() => this.#analyses.delete(key));
      this.#analyses.set(key, running);
    }
    return running;
  }

  async #analyze(failed: readonly string[]): Promise<FleetAnalysis> {
    const read = await this.#readFleet();
    const known = new Set(read.slots.map((s) => s.name));
    const unknown = failed.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new PlacementInputError(`failed slots not in the fleet: ${unknown.slice(0, 10).join(", ")}`);
    }
    const placed = await this.#placeAll(read.slots, read.tenants);
    const loads = new Map<string, number>();
    for (const t of placed) for (const slot of t.shard ?? []) loads.set(slot, (loads.get(slot) ?? 0) + 1);
    return {
      ...analyzePlacement(read.slots, placed, this.config.seed.seed, failed),
      seedFingerprint: this.config.seed.fingerprint,
      slots: read.slots.map((s) => ({
        slot: s.name,
        zone: s.zone,
        live: s.live,
        tenants: loads.get(s.name) ?? 0,
      })),
    };
  }

  async #placeAll(slots: readonly Slot[], tenants: { id: string; k: number }[]): Promise<PlacementTenant[]> {
    const placed: PlacementTenant[] = [];
    for (let i = 0; i < tenants.length; i += PLACEMENT_CHUNK) {
      for (const t of tenants.slice(i, i + PLACEMENT_CHUNK)) {
        const shard = this.#shards.lookup({ id: t.id, shardSize: clampShardSize(t.k) }, slots);
        placed.push({ id: t.id, k: effectiveShardSize(t.k, slots.length), shard });
      }
      if (i + PLACEMENT_CHUNK < tenants.length) await yieldToEventLoop();
    }
    return placed;
  }

  /** The tenants' configured shard sizes (all tenants when undefined) and the current slots, of one moment. */
  #readFleet(tenantIds?: string | readonly string[]) {
    return withTransaction(
      this.#pool,
      async (tx) => ({
        tenants: await configuredShardSizes(tx, tenantIds),
        slots: await this.currentSlots(tx),
      }),
      "repeatable read",
    );
  }

  #policy(nowMs: number): SlotPolicy {
    return { nowMs, liveWindowMs: this.config.liveWindowMs, forgetDelayMs: this.config.forgetDelayMs };
  }

  /** one query after another: `q` may be a transaction's client */
  async #slotInputs(q: Queryable) {
    return [await listDeclaredSlots(q), await listNodeRows(q), await databaseNowMs(q)] as const;
  }
}

/** Each tenant's configured shard size (its override, else its plan's), by id; of the given tenants or all. */
async function configuredShardSizes(
  q: Queryable,
  tenantIds?: string | readonly string[],
): Promise<{ id: string; k: number }[]> {
  const ids = typeof tenantIds === "string" ? [tenantIds] : tenantIds;
  const { rows } = await q.query<{ id: string; k: number }>(
    `SELECT t.id, COALESCE(t.shard_size, p.shard_size, 1) AS k
     FROM tenants t LEFT JOIN plans p ON p.name = t.plan
     WHERE ($1::text[] IS NULL OR t.id = ANY($1)) ORDER BY t.id`,
    [ids ?? null],
  );
  return rows;
}
