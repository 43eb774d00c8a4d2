import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { type LoadResult, mergeLanes } from "./merge.ts";
import { runLane } from "./open-loop.ts";
import { type LoadPlan, type ResolvedPlan, resolvePlan, splitPlan } from "./plan.ts";
import type { LanePartial, SecondPartial } from "./recorder.ts";

/**
 * Runs a load plan: in this thread (workers: 0) or split over N worker threads whose
 * schedules interleave exactly (lane w sends indices w, w+N, …), then merges the
 * lanes' counts and histograms into one result.
 */
export async function runLoad(plan: LoadPlan, signal?: AbortSignal): Promise<LoadResult> {
  const resolved = resolvePlan(plan, nowEpochMs());
  if (resolved.workers === 0) return runInThread(resolved, signal);
  return runInWorkers(resolved, signal);
}

export const nowEpochMs = (): number => performance.timeOrigin + performance.now();

async function runInThread(plan: ResolvedPlan, signal?: AbortSignal): Promise<LoadResult> {
  const seconds: SecondPartial[] = [];
  const started = { ...plan, startEpochMs: nowEpochMs() + 5 };
  const partial = await runLane(started, { signal, onSeconds: (s) => seconds.push(...s) });
  return mergeLanes(started, [partial], seconds);
}

type LaneWorker = { worker: Worker; ready: Promise<void>; done: Promise<LanePartial> };

function startWorker(seconds: SecondPartial[]): LaneWorker {
  const worker = new Worker(new URL("./load-worker.ts", import.meta.url));
  let markReady!: () => void;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  const done = new Promise<LanePartial>((resolve, reject) => {
    worker.on(
      "message",
      (m: "ready" | { seconds: SecondPartial[] } | { done: LanePartial } | { error: string }) => {
        if (m === "ready") markReady();
        else if ("seconds" in m) seconds.push(...m.seconds);
        else if ("done" in m) resolve(m.done);
        else reject(new Error(`load worker failed: ${m.error}`));
      },
    );
    worker.on("error", reject);
    worker.on("exit", (code) => reject(new Error(`load worker exited with code ${code}`)));
  });
  ready.catch(() => {});
  return { worker, ready: Promise.race([ready, done.then(() => {})]), done };
}

async function runInWorkers(plan: ResolvedPlan, signal?: AbortSignal): Promise<LoadResult> {
  const seconds: SecondPartial[] = [];
  const workers = Array.from({ length: plan.workers }, () => startWorker(seconds));
  const onAbort = () => {
    for (const w of workers) w.worker.postMessage("abort");
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await Promise.all(workers.map((w) => w.ready));
    const started = { ...plan, startEpochMs: nowEpochMs() + 50 };
    const lanes = splitPlan(started, plan.workers);
    workers.forEach((w, i) => {
      w.worker.postMessage({ start: lanes[i] });
    });
    const partials = await Promise.all(workers.map((w) => w.done));
    return mergeLanes(started, partials, seconds);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
