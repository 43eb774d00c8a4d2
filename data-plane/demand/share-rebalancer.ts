/**
 * Rebalances this node's share of each tenant's limit by demand (docs/design.md §5.5). Every ~250 ms
 * (jittered) it takes the rate-limited tenants active on this node whose shard has this node
 * and other members, writes their demand to the store and reads the members' reports in one
 * exchange, and sets this node's share from computeDemandShares (admission/demand-share.ts;
 * below the limit every member gets its demand plus an equal part of what is left).
 *
 * The request path never waits for it. When an exchange fails or times out, nothing changes:
 * shares stay as they were (and a tenant without one keeps the default 1/k). Exchanges never
 * overlap. A tenant that stops being active here (or leaves this node's shard) gets the
 * default share back.
 */
import { computeDemandShares, type DemandReport } from "../admission/demand-share.ts";
import { JitteredLoop, type Timers, withTimeout } from "../clock.ts";
import type { DemandCounter } from "./demand-counter.ts";
import type { DemandStore, OwnDemand } from "./demand-store.ts";

/** What the rebalancer needs from the node: the served config's tenants, the limiters' shares. */
export interface ShareTarget {
  /** the tenant's shard and whole rate limit (req/s, 0 = none) in the served config */
  tenantOf(tenant: string): { shard: readonly string[]; rate: number } | undefined;
  setShare(tenant: string, share: number): void;
  clearShare(tenant: string): void;
}

export interface ShareRebalancerOptions {
  slot: string;
  store: DemandStore;
  counter: DemandCounter;
  target: ShareTarget;
  timers: Timers;
  random: () => number;
  intervalMs?: number;
  /** an exchange taking longer counts as failed; default 1000 ms */
  timeoutMs?: number;
  /** fraction of an equal share every member keeps; default 0.05 */
  floor?: number;
  /** reports older than this are ignored; default 2000 ms */
  freshMs?: number;
  /** most tenants per exchange (the busiest first); default 5000 */
  maxTenants?: number;
  onError?: (err: unknown) => void;
  onExchange?: (tenants: number) => void;
}

const TIMED_OUT = new Error("demand exchange timed out");

type SharedTenant = { shard: readonly string[]; rate: number };

export class ShareRebalancer {
  readonly #o: ShareRebalancerOptions;
  readonly #shares = new Map<string, ReadonlyMap<string, number>>();
  readonly #loop: JitteredLoop;

  constructor(options: ShareRebalancerOptions) {
    this.#o = options;
    this.#loop = new JitteredLoop(options.timers, options.random, options.intervalMs ?? 250, () =>
      this.#exchange(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  /** Last shares computed for a tenant (by member), for status and tests. */
  sharesOf(tenant: string): ReadonlyMap<string, number> | undefined {
    return this.#shares.get(tenant);
  }

  /** One exchange; resolves when done (errors are reported, never thrown). */
  tick(): Promise<void> {
    return this.#loop.tick();
  }

  /** Stops the loop and closes the store. */
  async close(): Promise<void> {
    await this.#loop.stop();
    await this.#o.store.close();
  }

  /** Active tenants shared with other members, busiest first; the others get their default share. */
  #ownDemand(nowMs: number): { own: OwnDemand[]; tenants: Map<string, SharedTenant> } {
    const { counter, target, slot } = this.#o;
    const active = new Set(counter.active(nowMs));
    for (const tenant of this.#shares.keys()) {
      if (!active.has(tenant)) this.#forget(tenant);
    }
    const tenants = new Map<string, SharedTenant>();
    const own: OwnDemand[] = [];
    for (const tenant of active) {
      const t = target.tenantOf(tenant);
      if (!t || t.shard.length < 2 || !t.shard.includes(slot) || !(t.rate > 0)) {
        if (this.#shares.has(tenant)) this.#forget(tenant);
        continue;
      }
      tenants.set(tenant, t);
      own.push({ tenant, demand: counter.rate(tenant, nowMs) });
    }
    own.sort((a, b) => b.demand - a.demand);
    return { own: own.slice(0, this.#o.maxTenants ?? 5000), tenants };
  }

  async #exchange(): Promise<void> {
    const nowMs = this.#o.timers.now();
    const { own, tenants } = this.#ownDemand(nowMs);
    if (own.length === 0) return;
    let reports: Map<string, DemandReport[]>;
    try {
      reports = await withTimeout(
        this.#o.timers,
        this.#o.store.exchange(this.#o.slot, own, nowMs),
        this.#o.timeoutMs ?? 1000,
        TIMED_OUT,
      );
    } catch (err) {
      this.#o.onError?.(err);
      return;
    }
    for (const { tenant } of own) this.#apply(tenant, tenants.get(tenant)!, reports.get(tenant) ?? [], nowMs);
    this.#o.onExchange?.(own.length);
  }

  #apply(tenant: string, t: SharedTenant, reports: DemandReport[], nowMs: number): void {
    const { shares } = computeDemandShares({
      members: t.shard,
      limit: t.rate,
      reports,
      nowMs,
      previous: this.#shares.get(tenant),
      floor: this.#o.floor ?? 0.05,
      freshMs: this.#o.freshMs ?? 2000,
    });
    this.#shares.set(tenant, shares);
    this.#o.target.setShare(tenant, shares.get(this.#o.slot)!);
  }

  #forget(tenant: string): void {
    this.#shares.delete(tenant);
    this.#o.target.clearShare(tenant);
  }
}
