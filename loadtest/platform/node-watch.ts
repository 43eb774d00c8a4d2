/**
 * Watches the data planes while a scenario runs: their ops `/status` every `statusMs`
 * (config version per node for the report's plot, config age, fetch errors, readiness,
 * in-flight) and their `/metrics` every second (what each node decided, by corral-reason,
 * per second, from corral_dp_requests_total). Keeps a per-node summary for thresholds.
 */
import { request } from "undici";
import type { ChartHandle, Params, ScenarioContext } from "../scenario/types.ts";
import { parsePromText, sumByLabel } from "./prom-text.ts";

export type WatchedNode = { slot: string; ops: string };

/** The fields of a data plane's /status the harness reads. */
export type NodeStatus = {
  version: number;
  ready: boolean;
  configAgeMs: number | null;
  fetchError: string | null;
  connected: boolean;
  inflight: number;
};

export type NodeSummary = {
  slot: string;
  firstVersion: number;
  lastVersion: number;
  /** distinct versions seen */
  versions: number;
  maxConfigAgeMs: number;
  fetchErrorSeen: boolean;
  notReadySamples: number;
  unreachableSamples: number;
  samples: number;
  last: NodeStatus | undefined;
};

export async function fetchStatus(ops: string, timeoutMs = 1000): Promise<NodeStatus | undefined> {
  try {
    const res = await request(`${ops}/status`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    return res.statusCode === 200 ? (JSON.parse(text) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}

async function fetchText(url: string): Promise<string | undefined> {
  try {
    const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Longest stretch of [from, to] without one of the change times in it. Pure. */
export function longestGap(changeTimes: number[], from: number, to: number): number {
  const edges = [from, ...changeTimes.filter((t) => t > from && t < to).sort((a, b) => a - b), to];
  let longest = 0;
  for (let i = 1; i < edges.length; i++) longest = Math.max(longest, edges[i]! - edges[i - 1]!);
  return longest;
}

const newSummary = (slot: string): NodeSummary => ({
  slot,
  firstVersion: -1,
  lastVersion: 0,
  versions: 0,
  maxConfigAgeMs: 0,
  fetchErrorSeen: false,
  notReadySamples: 0,
  unreachableSamples: 0,
  samples: 0,
  last: undefined,
});

export class NodeWatch<P extends Params> {
  readonly #ctx: ScenarioContext<P>;
  readonly #nodes: () => WatchedNode[];
  readonly #summaries = new Map<string, NodeSummary>();
  readonly #seenVersions = new Map<string, Set<number>>();
  readonly #changes = new Map<string, Array<[atEpochMs: number, version: number]>>();
  readonly #lastCounts = new Map<string, Map<string, number>>();
  readonly #age: ChartHandle;
  readonly #decisions: ChartHandle;
  readonly #inflight: ChartHandle;
  #timers: NodeJS.Timeout[] = [];

  constructor(ctx: ScenarioContext<P>, nodes: () => WatchedNode[]) {
    this.#ctx = ctx;
    this.#nodes = nodes;
    this.#age = ctx.chart("Config age per node (s since the CP last confirmed the served version)", "s");
    this.#decisions = ctx.chart("Data-plane decisions by corral-reason, all nodes (per s)", "req/s");
    this.#inflight = ctx.chart("In-flight requests per node", "requests");
  }

  start(statusMs = 500): this {
    if (this.#timers.length > 0) return this;
    void this.pollStatus();
    this.#timers = [
      setInterval(() => void this.pollStatus(), statusMs),
      setInterval(() => void this.pollDecisions(), 1000),
    ];
    for (const t of this.#timers) t.unref();
    return this;
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  summaries(): NodeSummary[] {
    return this.#nodes().map((n) => this.#summaries.get(n.slot) ?? newSummary(n.slot));
  }

  /**
   * Longest time, in ms, any of `slots` served one version between `fromEpochMs` and
   * `toEpochMs` (how long the node went without a new version).
   */
  longestWithoutChange(slots: string[], fromEpochMs: number, toEpochMs: number): number {
    const gaps = slots.map((slot) =>
      longestGap(
        (this.#changes.get(slot) ?? []).map(([t]) => t),
        fromEpochMs,
        toEpochMs,
      ),
    );
    return Math.max(0, ...gaps);
  }

  async pollStatus(): Promise<void> {
    await Promise.all(this.#nodes().map(async (n) => this.#record(n.slot, await fetchStatus(n.ops))));
  }

  #record(slot: string, status: NodeStatus | undefined): void {
    const s = this.#summaries.get(slot) ?? newSummary(slot);
    this.#summaries.set(slot, s);
    s.samples++;
    if (!status) {
      s.unreachableSamples++;
      return;
    }
    s.last = status;
    if (s.firstVersion < 0) s.firstVersion = status.version;
    s.lastVersion = Math.max(s.lastVersion, status.version);
    const seen = this.#seenVersions.get(slot) ?? new Set<number>();
    this.#seenVersions.set(slot, seen.add(status.version));
    s.versions = seen.size;
    s.maxConfigAgeMs = Math.max(s.maxConfigAgeMs, status.configAgeMs ?? 0);
    s.fetchErrorSeen ||= Boolean(status.fetchError);
    if (!status.ready) s.notReadySamples++;
    const changes = this.#changes.get(slot) ?? [];
    this.#changes.set(slot, changes);
    if (changes.at(-1)?.[1] !== status.version) changes.push([Date.now(), status.version]);
    this.#ctx.recordConfigVersion(slot, status.version);
    this.#age.point(slot, (status.configAgeMs ?? 0) / 1000);
    this.#inflight.point(slot, status.inflight);
  }

  /** Per-second increase of every node's request counter by reason, summed over nodes. */
  async pollDecisions(): Promise<void> {
    const perReason = new Map<string, number>();
    await Promise.all(
      this.#nodes().map(async (n) => {
        const text = await fetchText(`${n.ops}/metrics`);
        if (text === undefined) return;
        const counts = sumByLabel(parsePromText(text), "corral_dp_requests_total", "reason");
        const previous = this.#lastCounts.get(n.slot);
        this.#lastCounts.set(n.slot, counts);
        if (!previous) return;
        for (const [reason, count] of counts) {
          const before = previous.get(reason) ?? 0;
          const delta = count >= before ? count - before : count; // restarted node: counter reset
          perReason.set(reason, (perReason.get(reason) ?? 0) + delta);
        }
      }),
    );
    for (const [reason, delta] of perReason) this.#decisions.point(reason, delta);
  }
}
