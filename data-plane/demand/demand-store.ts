/**
 * Where shard members meet to share their demand (docs/design.md §5.5): each node writes its own
 * demand per tenant and reads every member's, in one round trip. The interface is tiny so the
 * rebalancer can be tested against an in-memory store; RedisDemandStore is the real one.
 *
 * Redis layout: one hash per tenant, `corral:demand:<tenant>`, field = slot, value =
 * `<demand req/s>:<wall-clock ms>`; the key expires `ttlMs` after the last write, so a tenant
 * nobody reports any more leaves nothing behind. Values are parsed defensively (bounded count,
 * numbers only): Redis is external input.
 */
import type { Redis } from "ioredis";
import { failFastRedis } from "../../runtime/fail-fast-redis.ts";
import type { DemandReport } from "../admission/demand-share.ts";

export interface OwnDemand {
  tenant: string;
  /** requests per second offered to this node */
  demand: number;
}

export interface DemandStore {
  /** Writes this slot's demand of each tenant and returns every member's report per tenant. */
  exchange(slot: string, own: readonly OwnDemand[], nowMs: number): Promise<Map<string, DemandReport[]>>;
  close(): Promise<void>;
}

export const DEMAND_KEY_PREFIX = "corral:demand:";
/** Most member reports read per tenant (a shard has at most 64 members). */
const MAX_FIELDS = 64;

export function demandKey(tenant: string): string {
  return DEMAND_KEY_PREFIX + tenant;
}

export function encodeDemand(demand: number, atMs: number): string {
  return `${Math.round(demand * 1000) / 1000}:${Math.round(atMs)}`;
}

/** The reports in one tenant's hash; malformed fields are skipped. */
export function parseDemandHash(hash: Record<string, string> | null | undefined): DemandReport[] {
  const out: DemandReport[] = [];
  for (const [member, value] of Object.entries(hash ?? {})) {
    if (out.length >= MAX_FIELDS) break;
    const m = /^(\d{1,12}(?:\.\d{1,6})?):(\d{1,15})$/.exec(value);
    if (m) out.push({ member, demand: Number(m[1]), atMs: Number(m[2]) });
  }
  return out;
}

export interface RedisDemandStoreOptions {
  url: string;
  /** how long a tenant's hash lives after its last write; default 5000 ms */
  ttlMs?: number;
  /** default 300 ms: an exchange never waits longer */
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

/**
 * A fail-fast client (runtime/fail-fast-redis.ts): the request path never waits for Redis, and
 * the rebalancer keeps its last shares.
 */
export class RedisDemandStore implements DemandStore {
  readonly #redis: Redis;
  readonly #ttlMs: number;

  constructor(options: RedisDemandStoreOptions) {
    this.#ttlMs = options.ttlMs ?? 5000;
    this.#redis = failFastRedis(options.url, options.commandTimeoutMs ?? 300, options.onError);
  }

  async exchange(
    slot: string,
    own: readonly OwnDemand[],
    nowMs: number,
  ): Promise<Map<string, DemandReport[]>> {
    const pipeline = this.#redis.pipeline();
    for (const { tenant, demand } of own) {
      const key = demandKey(tenant);
      pipeline.hset(key, slot, encodeDemand(demand, nowMs)).pexpire(key, this.#ttlMs).hgetall(key);
    }
    const results = (await pipeline.exec()) ?? [];
    const out = new Map<string, DemandReport[]>();
    own.forEach(({ tenant }, i) => {
      const [err, hash] = results[i * 3 + 2] ?? [new Error("missing reply")];
      if (err) throw err;
      out.set(tenant, parseDemandHash(hash as Record<string, string>));
    });
    return out;
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }
}
