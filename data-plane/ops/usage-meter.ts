/**
 * Usage metering on the node (docs/design.md §3.5): requests per (tenant, key, route, outcome),
 * counted where the tenant is served, reported to the control plane in the `usage` entries of
 * the sync Status frames (at most USAGE_ENTRIES_PER_FRAME each; the rest wait for the next).
 *
 * The request path pays three map lookups (tenant, key, route: no string is built) and an increment. The clock is read only when the
 * counts are taken: what was counted since the last take is stamped with the UTC hour the
 * counting began in, so a count lands at most one Status interval (5 s) past an hour's end in
 * that hour. Memory is bounded: at most `maxCells` live cells and `maxPending` entries waiting
 * to be sent; counts past either bound are dropped and counted in `dropped` (a metric).
 */
import { Gauge, type Registry } from "prom-client";
import type { UsageCount } from "../../proto/gen/corral/sync/v1/sync.ts";
import {
  hourStart,
  USAGE_ENTRIES_PER_FRAME,
  USAGE_OUTCOMES,
  type UsageOutcome,
} from "../../proto/usage-report.ts";

export interface UsageMeterOptions {
  /** wall clock, ms */
  now: () => number;
  maxCells?: number;
  maxPending?: number;
}

/** Counts per outcome (indexed as USAGE_OUTCOMES) of one (tenant, key, route). */
type Counts = number[];
/** tenant -> key -> route -> counts: no string is built to count a request */
type Cells = Map<string, Map<string, Map<string, Counts>>>;

function newMap<K, V>(): Map<K, V> {
  return new Map();
}

/** The map's value under `key`, made (and kept) when it has none. */
function childOf<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(USAGE_OUTCOMES.map((o, i) => [o, i]));

export class UsageMeter {
  #cells: Cells = new Map();
  /** (tenant, key, route) triples in #cells */
  #triples = 0;
  #since: number;
  readonly #pending = new Map<string, UsageCount>();
  readonly #now: () => number;
  readonly #maxCells: number;
  readonly #maxPending: number;
  /** requests not metered because a bound was reached */
  dropped = 0;

  constructor(o: UsageMeterOptions) {
    this.#now = o.now;
    this.#maxCells = o.maxCells ?? 20_000;
    this.#maxPending = o.maxPending ?? 50_000;
    this.#since = hourStart(o.now());
  }

  /** One request of the tenant (key and route '' when unknown) with this outcome. */
  count(tenantId: string, keyId: string, routeId: string, outcome: UsageOutcome): void {
    const byKey = childOf(this.#cells, tenantId, newMap<string, Map<string, Counts>>);
    const byRoute = childOf(byKey, keyId, newMap<string, Counts>);
    let counts = byRoute.get(routeId);
    if (!counts) {
      if (this.#triples >= this.#maxCells) {
        this.dropped++;
        return;
      }
      counts = new Array<number>(USAGE_OUTCOMES.length).fill(0);
      byRoute.set(routeId, counts);
      this.#triples++;
    }
    counts[OUTCOME_INDEX.get(outcome)!]!++;
  }

  /** Up to `max` entries to report (oldest hours first); they leave the meter. */
  take(max = USAGE_ENTRIES_PER_FRAME): UsageCount[] {
    this.#seal();
    const out: UsageCount[] = [];
    for (const [id, entry] of this.#pending) {
      if (out.length >= max) break;
      out.push(entry);
      this.#pending.delete(id);
    }
    return out;
  }

  /** Entries waiting to be reported. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Moves the live counts into the pending entries, stamped with the hour counting began in. */
  #seal(): void {
    const hourStartMs = this.#since;
    const cells = this.#cells;
    this.#cells = new Map();
    this.#triples = 0;
    this.#since = hourStart(this.#now());
    for (const [tenantId, byKey] of cells)
      for (const [keyId, byRoute] of byKey)
        for (const [routeId, counts] of byRoute)
          counts.forEach((n, i) => {
            if (n > 0)
              this.#addPending({
                tenantId,
                keyId,
                routeId,
                outcome: USAGE_OUTCOMES[i]!,
                hourStartMs,
                count: n,
              });
          });
  }

  #addPending(e: UsageCount): void {
    const id = `${e.hourStartMs}\n${e.tenantId}\n${e.keyId}\n${e.routeId}\n${e.outcome}`;
    const have = this.#pending.get(id);
    if (have) have.count += e.count;
    else if (this.#pending.size < this.#maxPending) this.#pending.set(id, e);
    else this.dropped += e.count;
  }
}

/** corral_dp_usage_pending and corral_dp_usage_dropped_total, read from the meter when scraped. */
export function registerUsageGauges(registry: Registry, meter: UsageMeter): void {
  new Gauge({
    name: "corral_dp_usage_pending",
    help: "usage entries waiting for a Status frame to the control plane",
    registers: [registry],
    collect() {
      this.set(meter.pending);
    },
  });
  new Gauge({
    name: "corral_dp_usage_dropped_total",
    help: "requests not metered because the usage meter's memory bound was reached",
    registers: [registry],
    collect() {
      this.set(meter.dropped);
    },
  });
}
