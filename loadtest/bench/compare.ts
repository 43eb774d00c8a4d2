import type { LoadResult } from "../generator/merge.ts";
import type { LoadPlan, Target } from "../generator/plan.ts";
import { closedLoop } from "../generator/closed-loop.ts";
import { cpuSeconds } from "../sampler/cpu.ts";
import type { Contender, RunningContender } from "./contenders.ts";
import { findMaxThroughput, type MaxMethod } from "./max-throughput.ts";

/**
 * The side-by-side comparison. Every contender is started once in front of the same
 * upstream; measurements then alternate A, B, C, A, B, C … for `rounds` rounds so
 * drift on a shared machine hits all of them alike, and medians over rounds are
 * reported. A closed-loop warm-up of `warmupSec` per contender first (not measured) gets JIT,
 * connection pools and caches of every contender past their cold start, so round 1 is not a
 * cold outlier.
 *   1. max throughput of each (findMaxThroughput), with the CPU-seconds its own
 *      processes used, giving requests per core-second;
 *   2. load = `loadFraction` (50 %) of the slowest contender's max;
 *   3. open-loop latency of each at that load; added p99 = contender p99 minus direct
 *      p99 of the same round, median over rounds; and the CPU its own processes spent per
 *      request there (a figure of efficiency that does not depend on how much of a core a
 *      loaded machine lets it have, unlike the closed-loop max).
 */
export type CompareOptions = {
  contenders: Contender[];
  upstreamUrl: string;
  /** host:port of the gRPC upstream (protocol "grpc") */
  upstreamGrpc?: string;
  /** what is measured: HTTP GET /bench (default) or gRPC unary Echo */
  protocol?: "http" | "grpc";
  rounds: number;
  /** closed-loop warm-up per contender before the measured rounds (0: none) */
  warmupSec?: number;
  method: MaxMethod;
  connections: number;
  maxSec: number;
  latencySec: number;
  loadFraction: number;
  /** open-loop ramp settings (method "open") */
  ramp?: { startRps?: number; growth?: number; p99LimitMs?: number };
  runLoad: (label: string, plan: LoadPlan) => Promise<LoadResult>;
  log: (m: string) => void;
  onStarted?: (name: string, running: RunningContender) => void;
};

export type ContenderResult = {
  name: string;
  maxRps: number[];
  cores: number[];
  p50Ms: number[];
  p99Ms: number[];
  p999Ms: number[];
  addedP99Ms: number[];
  /** CPU microseconds its own processes spent per request at the latency load (none for direct) */
  cpuUsPerRequest: number[];
  errors: number;
};

export type CompareResult = { loadRps: number; results: ContenderResult[] };

/** The request a contender is measured with. */
export function benchTarget(running: RunningContender, protocol: "http" | "grpc" = "http"): Target {
  if (protocol === "grpc") {
    if (!running.grpc) throw new Error("this contender has no gRPC address");
    return { kind: "grpc", address: running.grpc, message: "bench", metadata: running.headers };
  }
  return { kind: "http", url: `${running.url}/bench`, headers: running.headers };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of the max-throughput phase, shared with other scenarios (bench-latency). */
export type MaxPhaseOptions = Omit<CompareOptions, "latencySec" | "loadFraction">;

/**
 * Starts every contender in front of the same upstream, warms them up and measures each
 * one's max throughput over `rounds` alternating rounds; runs `then` with them still up and
 * stops them all afterwards, also on failure.
 */
export async function withMeasuredContenders<T>(
  o: MaxPhaseOptions,
  then: (running: RunningContender[], results: ContenderResult[]) => Promise<T>,
): Promise<T> {
  const running: RunningContender[] = [];
  try {
    for (const c of o.contenders) {
      running.push(await c.start({ url: o.upstreamUrl, grpc: o.upstreamGrpc }));
      o.onStarted?.(c.name, running.at(-1)!);
    }
    const results: ContenderResult[] = o.contenders.map((c) => ({
      name: c.name,
      maxRps: [],
      cores: [],
      p50Ms: [],
      p99Ms: [],
      p999Ms: [],
      addedP99Ms: [],
      cpuUsPerRequest: [],
      errors: 0,
    }));
    await warmUp(o, running);
    await measureMax(o, running, results);
    return await then(running, results);
  } finally {
    await Promise.all(running.map((r) => r.stop()));
  }
}

/** The max throughput of the slowest contender (median over rounds). */
export const slowestMax = (results: ContenderResult[]) => Math.min(...results.map((r) => median(r.maxRps)));

export function compareContenders(o: CompareOptions): Promise<CompareResult> {
  return withMeasuredContenders(o, async (running, results) => {
    const loadRps = Math.max(1, o.loadFraction * slowestMax(results));
    o.log(`latency at ${Math.round(loadRps)} rps (${o.loadFraction * 100} % of the slowest max)`);
    await measureLatency(o, running, results, loadRps);
    return { loadRps, results };
  });
}

async function warmUp(o: MaxPhaseOptions, running: RunningContender[]) {
  if (!o.warmupSec) return;
  for (const [i, c] of o.contenders.entries()) {
    const target = benchTarget(running[i]!, o.protocol);
    await closedLoop({ target, connections: o.connections, durationSec: o.warmupSec, warmupSec: 0 });
    o.log(`warmed up ${c.name} (${o.warmupSec} s closed loop)`);
  }
}

async function measureMax(o: MaxPhaseOptions, running: RunningContender[], results: ContenderResult[]) {
  for (let round = 1; round <= o.rounds; round++) {
    for (const [i, c] of o.contenders.entries()) {
      const cpuBefore = await cpuSeconds(running[i]!.pids);
      const started = performance.now();
      const max = await findMaxThroughput({
        url: `${running[i]!.url}/bench`,
        target: benchTarget(running[i]!, o.protocol),
        method: o.method,
        connections: o.connections,
        durationSec: o.maxSec,
        ...o.ramp,
        runLoad: (label, plan) => o.runLoad(`${c.name}-r${round}-${label}`, plan),
      });
      const wallSec = (performance.now() - started) / 1000;
      const cpuUsed = (await cpuSeconds(running[i]!.pids)) - cpuBefore;
      results[i]!.maxRps.push(max.maxRps);
      results[i]!.cores.push(cpuUsed / wallSec);
      results[i]!.errors += max.errors;
      o.log(`round ${round} max ${c.name}: ${Math.round(max.maxRps)} rps`);
    }
  }
}

async function measureLatency(
  o: CompareOptions,
  running: RunningContender[],
  results: ContenderResult[],
  rps: number,
) {
  const directIndex = o.contenders.findIndex((c) => c.name === "direct");
  for (let round = 1; round <= o.rounds; round++) {
    const p99 = new Map<number, number>();
    for (const [i, c] of o.contenders.entries()) {
      const pids = running[i]!.pids;
      const cpuBefore = await cpuSeconds(pids);
      const r = await o.runLoad(`latency-${c.name}-r${round}`, {
        tenants: [{ tenant: c.name, rate: rps, target: benchTarget(running[i]!, o.protocol) }],
        durationSec: o.latencySec,
        connections: o.connections,
      });
      const lat = r.totals.latency;
      results[i]!.p50Ms.push(lat.p50Ms);
      results[i]!.p99Ms.push(lat.p99Ms);
      results[i]!.p999Ms.push(lat.p999Ms);
      results[i]!.errors += r.totals.errors;
      const requests = r.totals.ok + r.totals.errors;
      if (pids.length > 0 && requests > 0)
        results[i]!.cpuUsPerRequest.push((((await cpuSeconds(pids)) - cpuBefore) * 1e6) / requests);
      p99.set(i, lat.p99Ms);
      o.log(`round ${round} latency ${c.name}: p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms`);
    }
    if (directIndex < 0) continue;
    for (const [i, value] of p99) results[i]!.addedP99Ms.push(value - p99.get(directIndex)!);
  }
}
