/**
 * A small open-loop load for the isolation tests: every target's requests are scheduled
 * at fixed intervals from a shared epoch start, whatever earlier requests do; each request
 * records its scheduled time, its latency from that time (so a stall shows as latency, not as
 * a lower rate) and its outcome. An optional on/off schedule of short slots sends only during
 * the "on" slots, so a run alternates "with" and "without" this load many times over.
 *
 * Run in this thread (pacedLoad) or, as a file, in a worker thread (workerData:
 * PacedWorkerData; posts {samples}): the noisy tenant's load comes from a worker so the measured
 * load keeps its own event loop.
 */
import { setPriority } from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { Pool } from "undici";

export interface PacedTarget {
  tenant: string;
  /** origins of the tenant's shard: requests go round-robin over them */
  origins: string[];
  path: string;
  headers: Record<string, string>;
  rate: number;
}

export interface PacedPlan {
  targets: PacedTarget[];
  startEpochMs: number;
  durationMs: number;
  /** send only in the slots marked on (slot i = [start + i*ms, start + (i+1)*ms)) */
  slots?: Slots;
}

export interface Slots {
  ms: number;
  on: boolean[];
}

export interface Sample {
  tenant: string;
  /** scheduled send time, epoch ms */
  atMs: number;
  /** from the scheduled time to the end of the response */
  ms: number;
  /** "ok" or the corral-reason / error code */
  outcome: string;
}

const epochNow = () => performance.timeOrigin + performance.now();

/** Whether a request scheduled at atMs falls in an "on" slot (always, without a schedule). */
export function slotOn(plan: Pick<PacedPlan, "startEpochMs" | "slots">, atMs: number): boolean {
  if (!plan.slots) return true;
  return plan.slots.on[Math.floor((atMs - plan.startEpochMs) / plan.slots.ms)] === true;
}

/**
 * `count` slots in pairs, one slot of each pair on and the other off, which one by a seeded coin:
 * anything on the machine that lasts two slots or more falls half in on slots, half in off
 * slots, and nothing periodic elsewhere can line up with the on slots.
 */
export function pairedSlots(ms: number, count: number, seed = 20_261_121): Slots {
  const on: boolean[] = [];
  let x = seed >>> 0;
  while (on.length < count) {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    const first = (x >>> 16) % 2 === 0;
    on.push(first, !first);
  }
  return { ms, on: on.slice(0, count) };
}

/** Sends one request of a target to an origin: "ok", or the corral-reason / error code. */
export interface Sender {
  send(origin: string, target: PacedTarget): Promise<string>;
  close(): Promise<void>;
}

/** HTTP GETs over a keep-alive pool per origin: "ok" for a 200. */
export function httpSender(): Sender {
  const pools = new Map<string, Pool>();
  const pool = (origin: string) => {
    let p = pools.get(origin);
    if (!p) {
      p = new Pool(origin, { connections: 16, keepAliveTimeout: 30_000 });
      pools.set(origin, p);
    }
    return p;
  };
  return {
    async send(origin, t) {
      const res = await pool(origin).request({ path: t.path, method: "GET", headers: t.headers });
      await res.body.dump();
      const reason = res.headers["corral-reason"];
      return res.statusCode === 200 ? "ok" : String(reason ?? `http_${res.statusCode}`);
    },
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

async function sendOne(sender: Sender, origin: string, t: PacedTarget, atMs: number): Promise<Sample> {
  let outcome: string;
  try {
    outcome = await sender.send(origin, t);
  } catch (err) {
    outcome = (err as { code?: string }).code ?? "error";
  }
  return { tenant: t.tenant, atMs, ms: epochNow() - atMs, outcome };
}

/** Every request due by now, in schedule order. */
function due(plan: PacedPlan, next: number[], now: number): { t: number; atMs: number }[] {
  const out: { t: number; atMs: number }[] = [];
  plan.targets.forEach((target, t) => {
    const interval = 1000 / target.rate;
    for (;;) {
      const atMs = plan.startEpochMs + (next[t]! + ((t * 0.618) % 1)) * interval;
      if (atMs > now || atMs >= plan.startEpochMs + plan.durationMs) break;
      next[t]!++;
      if (slotOn(plan, atMs)) out.push({ t, atMs });
    }
  });
  return out;
}

/** Runs the plan; requests go through the sender (default: HTTP), which it closes at the end. */
export async function pacedLoad(plan: PacedPlan, sender: Sender = httpSender()): Promise<Sample[]> {
  const next = plan.targets.map(() => 0);
  const turns = plan.targets.map(() => 0);
  const pending: Promise<Sample>[] = [];
  const end = plan.startEpochMs + plan.durationMs;
  for (let now = epochNow(); now < end; now = epochNow()) {
    for (const { t, atMs } of due(plan, next, now)) {
      const target = plan.targets[t]!;
      const origin = target.origins[turns[t]!++ % target.origins.length]!;
      pending.push(sendOne(sender, origin, target, atMs));
    }
    await sleep(1);
  }
  const samples = await Promise.all(pending);
  await sender.close();
  return samples;
}

/** workerData of a load run in a worker thread; niceness applies to that thread only (Linux). */
export interface PacedWorkerData {
  paced: PacedPlan;
  niceness?: number;
}

if (!isMainThread && parentPort && (workerData as PacedWorkerData | undefined)?.paced) {
  const data = workerData as PacedWorkerData;
  if (data.niceness !== undefined) setPriority(data.niceness);
  parentPort.postMessage({ samples: await pacedLoad(data.paced) });
}
