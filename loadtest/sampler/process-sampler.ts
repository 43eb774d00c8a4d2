import { readdir } from "node:fs/promises";
import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { fetchNodeMetrics, readProcStats } from "./proc-stats.ts";

/**
 * Samples every watched process once per interval: RSS and open fds from /proc, heap,
 * external memory, array buffers and event-loop lag from its /metrics when given (the
 * `process.memoryUsage()` figures); plus the generator itself (its
 * own memory and the delay of its own event loop, which bounds how well it keeps
 * its schedule). A process that is gone is sampled as `alive: false`.
 */
export type ProcessTarget = { name: string; pid: number; metricsUrl?: string };

export type ProcessSample = {
  atEpochMs: number;
  name: string;
  pid: number;
  alive: boolean;
  rssBytes?: number;
  heapUsedBytes?: number;
  heapTotalBytes?: number;
  /** memory of C++ objects bound to JS objects, array buffers included */
  externalBytes?: number;
  /** ArrayBuffers and SharedArrayBuffers (Buffers among them); part of external */
  arrayBuffersBytes?: number;
  /** old generation after the process's last full GC (retained heap); from its /metrics */
  heapLiveBytes?: number;
  fds?: number;
  eventLoopDelayP99Ms?: number;
};

export const SELF = "generator";
const MAX_SAMPLES = 1_000_000;
/** monitorEventLoopDelay records whole timer intervals; the delay is what exceeds this. */
const LOOP_RESOLUTION_MS = 10;

export class ProcessSampler {
  readonly #targets = new Map<string, ProcessTarget>();
  readonly #samples: ProcessSample[] = [];
  readonly #intervalMs: number;
  readonly #loopDelay: ELDHistogram;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(options: { intervalMs?: number } = {}) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  }

  /** Watches a process (replacing one of the same name, e.g. after a restart). */
  add(target: ProcessTarget): void {
    this.#targets.set(target.name, target);
  }

  remove(name: string): void {
    this.#targets.delete(name);
  }

  start(): void {
    if (this.#timer) return;
    this.#loopDelay.enable();
    this.#timer = setInterval(() => void this.sampleNow(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#loopDelay.disable();
  }

  samples(): ProcessSample[] {
    return [...this.#samples];
  }

  /** Takes one sample of every target and of the generator (skipped if the last is still running). */
  async sampleNow(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const taken = await Promise.all([
        sampleSelf(this.#loopDelay),
        ...[...this.#targets.values()].map(sampleTarget),
      ]);
      if (this.#samples.length + taken.length > MAX_SAMPLES) this.#samples.splice(0, taken.length);
      this.#samples.push(...taken);
    } finally {
      this.#busy = false;
    }
  }
}

const now = () => performance.timeOrigin + performance.now();

async function sampleSelf(loopDelay: ELDHistogram): Promise<ProcessSample> {
  const memory = process.memoryUsage();
  const fds = await readdir("/proc/self/fd").then(
    (list) => list.length,
    () => undefined,
  );
  const sample = {
    atEpochMs: now(),
    name: SELF,
    pid: process.pid,
    alive: true,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    fds,
    eventLoopDelayP99Ms:
      loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : undefined,
  };
  loopDelay.reset();
  return sample;
}

async function sampleTarget(target: ProcessTarget): Promise<ProcessSample> {
  const atEpochMs = now();
  const [stats, metrics] = await Promise.all([
    readProcStats(target.pid),
    target.metricsUrl ? fetchNodeMetrics(target.metricsUrl) : undefined,
  ]);
  return {
    atEpochMs,
    name: target.name,
    pid: target.pid,
    alive: stats !== undefined,
    rssBytes: stats?.rssBytes ?? metrics?.rssBytes,
    heapUsedBytes: metrics?.heapUsedBytes,
    heapTotalBytes: metrics?.heapTotalBytes,
    externalBytes: metrics?.externalBytes,
    arrayBuffersBytes: metrics?.arrayBuffersBytes,
    heapLiveBytes: metrics?.heapLiveBytes,
    fds: stats?.fds,
    eventLoopDelayP99Ms: metrics?.eventLoopLagP99Ms,
  };
}
