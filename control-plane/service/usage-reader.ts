/**
 * Usage as tenants and operators read it (docs/design.md §3.5): the current period of the
 * tenant's quota (limit, used, remaining, resets-at) and its hourly or daily history, from the
 * metering rows in Postgres; "used" from the nodes' quota counters in Redis when the CP has
 * CORRAL_REDIS_URL (exact, what the nodes enforce), else — or when Redis fails — from the rows
 * (hourly: the hours the period overlaps, reported up to a Status interval late). Reading never
 * touches the request path. Queries are bounded: at most 31 days per hourly and 400 per daily
 * report; bad bounds are 400 naming the field.
 */
import { quotaCounterKey } from "../../runtime/quota-keys.ts";
import { quotaWindow } from "../../runtime/quota-period.ts";
import type { CorralError } from "../errors.ts";
import { resolveQuota } from "../publish/compile.ts";
import type { Pool } from "../store/db.ts";
import { formatIsoDuration } from "../store/period-quota.ts";
import { getTenantAndPlan } from "../store/tenants.ts";
import {
  admittedBetween,
  type Granularity,
  heaviestTenants,
  MAX_HISTORY_ROWS,
  type UsageBucket,
  type UsageSplit,
  usageHistory,
} from "../store/usage.ts";
import { invalid } from "./input-validation.ts";
import type { PeriodQuota } from "./period-quota.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** the longest report per granularity, and the default when `from` is absent */
const SPAN: Record<Granularity, { maxMs: number; defaultMs: number; stepMs: number }> = {
  hour: { maxMs: 31 * DAY_MS, defaultMs: DAY_MS, stepMs: HOUR_MS },
  day: { maxMs: 400 * DAY_MS, defaultMs: 30 * DAY_MS, stepMs: DAY_MS },
};
export const TOP_PERIODS = ["hour", "day", "week", "month"] as const;
export type TopPeriod = (typeof TOP_PERIODS)[number];

/** What the CP needs of Redis: one GET (ioredis fits). */
export interface QuotaCounters {
  get(key: string): Promise<string | null>;
}

export interface UsageQuery {
  from?: string;
  to?: string;
  granularity?: Granularity;
  /** split each bucket by key or by route */
  by?: UsageSplit;
}

export interface QuotaUsage {
  limit: number;
  used: number;
  remaining: number;
  period: PeriodQuota["period"];
  offset: string;
  periodStart: string;
  resetsAt: string;
  /** counters: the nodes' shared counters in Redis; metering: the hourly rows */
  source: "counters" | "metering";
}

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  granularity: Granularity;
  quota: QuotaUsage | null;
  history: {
    start: string;
    keyId?: string;
    routeId?: string;
    admitted: number;
    refused: Record<string, number>;
  }[];
}

export interface UsageReaderDeps {
  pool: Pool;
  counters?: QuotaCounters;
  /** wall clock, ms */
  now?: () => number;
  onCounterError?: (err: unknown) => void;
}

/** The report's window: [from, to) aligned to the granularity, checked. */
export function reportWindow(
  q: UsageQuery,
  nowMs: number,
): { fromMs: number; toMs: number; granularity: Granularity } {
  const granularity = q.granularity ?? "hour";
  const { maxMs, defaultMs, stepMs } = SPAN[granularity];
  const at = (field: "from" | "to", text: string | undefined, otherwise: number) => {
    if (text === undefined) return otherwise;
    const ms = Date.parse(text);
    if (!Number.isFinite(ms)) throw invalid(`querystring/${field}`, "must be an RFC 3339 date-time");
    return ms;
  };
  const toMs = Math.ceil(at("to", q.to, nowMs) / stepMs) * stepMs;
  const fromMs = Math.floor(at("from", q.from, toMs - defaultMs) / stepMs) * stepMs;
  if (fromMs >= toMs) throw invalid("querystring/from", "must be before to");
  if (toMs - fromMs > maxMs)
    throw invalid(
      "querystring/from",
      `must be at most ${maxMs / DAY_MS} days before to for granularity ${granularity}`,
    );
  return { fromMs, toMs, granularity };
}

export class UsageReader {
  readonly #deps: UsageReaderDeps;
  readonly #now: () => number;

  constructor(deps: UsageReaderDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** The tenant's usage report; `notFound` when there is no such tenant. */
  async report(tenantId: string, query: UsageQuery, notFound: () => CorralError): Promise<UsageReport> {
    const nowMs = this.#now();
    const window = reportWindow(query, nowMs);
    const rows = await getTenantAndPlan(this.#deps.pool, tenantId);
    if (!rows) throw notFound();
    const quota = resolveQuota(rows.tenant, rows.plan);
    const history = await usageHistory(this.#deps.pool, tenantId, { ...window, split: query.by });
    if (!history)
      throw invalid(
        "querystring/from",
        `the window holds more than ${MAX_HISTORY_ROWS} rows of history: ask for a shorter one, or without by`,
      );
    return {
      tenantId,
      from: new Date(window.fromMs).toISOString(),
      to: new Date(window.toMs).toISOString(),
      granularity: window.granularity,
      quota: quota ? await this.#quotaUsage(tenantId, quota, nowMs) : null,
      history: history.map((b) => bucketView(b, query.by)),
    };
  }

  /** The `limit` tenants with the most admitted requests in the current calendar `period` (UTC). */
  async top(period: TopPeriod, limit: number) {
    const { startMs, endMs } = quotaWindow(this.#now(), period, 0);
    const items = await heaviestTenants(this.#deps.pool, startMs, endMs, limit);
    return { period, from: new Date(startMs).toISOString(), to: new Date(endMs).toISOString(), items };
  }

  async #quotaUsage(tenantId: string, quota: PeriodQuota, nowMs: number): Promise<QuotaUsage> {
    const { startMs, endMs } = quotaWindow(nowMs, quota.period, quota.offsetMs);
    let used = await this.#counted(tenantId, startMs);
    const source = used === undefined ? "metering" : "counters";
    // the hours the period overlaps: a period starting inside an hour counts that whole hour
    used ??= await admittedBetween(this.#deps.pool, tenantId, Math.floor(startMs / HOUR_MS) * HOUR_MS, endMs);
    return {
      limit: quota.limit,
      used,
      remaining: Math.max(0, quota.limit - used),
      period: quota.period,
      offset: formatIsoDuration(quota.offsetMs),
      periodStart: new Date(startMs).toISOString(),
      resetsAt: new Date(endMs).toISOString(),
      source,
    };
  }

  /** The nodes' counter of the period in Redis; undefined without Redis or when it fails. */
  async #counted(tenantId: string, periodStartMs: number): Promise<number | undefined> {
    const counters = this.#deps.counters;
    if (!counters) return undefined;
    try {
      const value = await counters.get(quotaCounterKey(tenantId, { kind: "tenant" }, periodStartMs));
      const n = Number(value ?? 0);
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    } catch (err) {
      this.#deps.onCounterError?.(err);
      return undefined;
    }
  }
}

function bucketView(b: UsageBucket, by: UsageSplit | undefined) {
  const part = by === "key" ? { keyId: b.part } : by === "route" ? { routeId: b.part } : {};
  return { start: new Date(b.startMs).toISOString(), ...part, admitted: b.admitted, refused: b.refused };
}
