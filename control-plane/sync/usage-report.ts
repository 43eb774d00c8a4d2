/**
 * The usage a node reports in its Status frames (docs/design.md §3.5), checked and rolled up
 * before it reaches Postgres. Pure. A frame with more than USAGE_ENTRIES_PER_FRAME entries is a
 * protocol violation; an entry that is not well formed (ids, outcome, an hour outside the
 * window, a count out of bounds) is refused on its own and counted, so a buggy or hostile node
 * can neither write rows of any shape nor add more than its bounded counts. Whether the node
 * serves the entry's tenant is checked when the rollup is written (node-connection.ts).
 */
import type { UsageCount } from "../../proto/gen/corral/sync/v1/sync.ts";
import { isUsageOutcome, USAGE_ENTRIES_PER_FRAME, USAGE_HOUR_MS } from "../../proto/usage-report.ts";
import { CorralError } from "../errors.ts";
import type { UsageRow } from "../store/usage.ts";

/** an entry's hour may be this far behind (a node that could not report for a while) */
export const USAGE_MAX_AGE_MS = 48 * USAGE_HOUR_MS;
/** requests in one entry at most (a node would need ~55k requests/s for a whole hour) */
export const USAGE_MAX_COUNT = 200_000_000;

const TENANT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const KEY_RE = /^([0-9a-f]{12})?$/;
const ROUTE_RE = /^(rt_[0-9a-f]{16})?$/;

export type UsageRefusal = "bad_id" | "bad_outcome" | "bad_hour" | "bad_count";

/** Why the entry is refused; undefined when it is well formed at `nowMs`. */
export function usageEntryProblem(e: UsageCount, nowMs: number): UsageRefusal | undefined {
  if (!TENANT_RE.test(e.tenantId) || !KEY_RE.test(e.keyId) || !ROUTE_RE.test(e.routeId)) return "bad_id";
  if (!isUsageOutcome(e.outcome)) return "bad_outcome";
  const h = e.hourStartMs;
  if (!Number.isSafeInteger(h) || h % USAGE_HOUR_MS !== 0 || h < nowMs - USAGE_MAX_AGE_MS || h > nowMs)
    return "bad_hour";
  if (!Number.isSafeInteger(e.count) || e.count < 1 || e.count > USAGE_MAX_COUNT) return "bad_count";
  return undefined;
}

/** Throws CORRAL_SYNC_BAD_FRAME when the frame carries more entries than a frame may. */
export function assertUsageBounded(entries: readonly UsageCount[]): void {
  if (entries.length > USAGE_ENTRIES_PER_FRAME)
    throw new CorralError(
      "CORRAL_SYNC_BAD_FRAME",
      `status carries ${entries.length} usage entries, at most ${USAGE_ENTRIES_PER_FRAME}`,
    );
}

/** Counts merged per (tenant, hour, key, route, outcome), bounded in entries, taken whole. */
export class UsageRollup {
  #rows = new Map<string, UsageRow>();
  readonly #maxEntries: number;

  constructor(maxEntries = 20_000) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** Adds the row's count; false (nothing added) when a new entry would pass the bound. */
  add(row: UsageRow): boolean {
    const id = `${row.tenantId}\n${row.hourMs}\n${row.keyId}\n${row.routeId}\n${row.outcome}`;
    const have = this.#rows.get(id);
    if (have) have.count += row.count;
    else if (this.#rows.size >= this.#maxEntries) return false;
    else this.#rows.set(id, { ...row });
    return true;
  }

  /** Every row, leaving the rollup empty. */
  take(): UsageRow[] {
    const rows = [...this.#rows.values()];
    this.#rows = new Map();
    return rows;
  }
}

export function usageRow(e: UsageCount): UsageRow {
  return {
    tenantId: e.tenantId,
    keyId: e.keyId,
    routeId: e.routeId,
    outcome: e.outcome,
    hourMs: e.hourStartMs,
    count: e.count,
  };
}
