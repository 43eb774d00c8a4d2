/**
 * Usage metering on the node (docs/design.md §3.5): requests per (tenant, key, route, outcome),
 * counted where the tenant is served, reported to the control plane in the `usage` entries of
 * the sync Status frames (at most USAGE_ENTRIES_PER_FRAME each; the rest wait for the next).
 *
 * The request path pays one map lookup and an increment. The clock is read only when the
 * counts are taken: what was counted since the last take is stamped with the UTC hour the
 * counting began in, so a count lands at most one Status interval (5 s) past an hour's end in
 * that hour. Memory is bounded: at most `maxCells` live cells and `maxPending` entries waiting
 * to be sent; counts past either bound are dropped and counted in `dropped` (a metric).
 */
import { Gauge, type Registry } from "prom-client";
import type { UsageCount } from "../../proto/gen/corral/sync/v1/sync.ts";
import { hourStart, USAGE_ENTRIES_PER_FRAME, type UsageOutcome } from "../../proto/usage-report.ts";

export interface UsageMeterOptions {
  /** wall clock, ms */
  now: () => number;
  maxCells?: number;
  maxPending?: number;
}

interface Cell {
  tenantId: string;
  keyId: string;
  routeId: string;
  outcome: UsageOutcome;
  n: number;
}

export class UsageMeter {
  #cells = new Map<string, Cell>();
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
    const id = `${tenantId}\n${keyId}\n${routeId}\n${outcome}`;
    const cell = this.#cells.get(id);
    if (cell) cell.n++;
    else if (this.#cells.size < this.#maxCells)
      this.#cells.set(id, { tenantId, keyId, routeId, outcome, n: 1 });
    else this.dropped++;
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

  /** Moves the live cells into the pending entries, stamped with the hour counting began in. */
  #seal(): void {
    const hour = this.#since;
    const cells = this.#cells;
    this.#cells = new Map();
    this.#since = hourStart(this.#now());
    for (const [id, c] of cells) {
      const key = `${hour}\n${id}`;
      const entry = this.#pending.get(key);
      if (entry) entry.count += c.n;
      else if (this.#pending.size < this.#maxPending)
        this.#pending.set(key, {
          tenantId: c.tenantId,
          keyId: c.keyId,
          routeId: c.routeId,
          outcome: c.outcome,
          hourStartMs: hour,
          count: c.n,
        });
      else this.dropped += c.n;
    }
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
