import { type BrownoutRig, startBrownoutRig } from "../faults/brownout-rig.ts";
import { tenantLoads } from "../platform/load-tenants.ts";
import { FLEET_PARAMS, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * One tenant's upstream has three equal targets, each a process of its own behind toxiproxy
 * (faults/brownout-rig.ts). Steady load first (the spread per target), then target 0 goes bad
 * three ways in turn — answering 503, resetting connections, answering 2 s late — each for a
 * phase and then a phase healed; last every target vanishes at once. The nodes balance by power
 * of two choices over least outstanding and eject passively (data-plane/upstream/); the route
 * retries (`retries` attempts, the default statuses 502/503/504, the upstream's default retry
 * budget), each retry to a target the request has not tried (data-plane/retry/).
 *
 * Figures per fault: success rate of the tenant's requests, extra upstream load (requests the
 * targets served beyond one per request sent: the retries), time to eject (fault on → the first 500 ms in
 * which target 0 served nothing) and time to recover (fault off → the first 100 ms in which it
 * served its share again, at least 20 % of the traffic), and target 0's share. Every target
 * down: the share of answers that were 503 circuit_open (immediate, never queued) and the time
 * to recover when they return. Three other tenants share the fleet's usual upstream.
 */
const FAULTS = ["503", "reset", "latency"] as const;
type Fault = (typeof FAULTS)[number];
const POLL_MS = 100;

/** Requests each target served, per POLL_MS, while a phase runs. */
class ServedPoller {
  readonly samples: Array<{ atMs: number; served: number[] }> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #rig: BrownoutRig;

  constructor(rig: BrownoutRig) {
    this.#rig = rig;
    this.#timer = setInterval(() => void this.#sample(), POLL_MS);
  }

  async #sample(): Promise<void> {
    const atMs = performance.now();
    const served = await Promise.all(this.#rig.targets.map((_, i) => this.#rig.served(i)));
    this.samples.push({ atMs, served });
  }

  /** Stops, after one last sample (what was served since the previous one). */
  async stop(): Promise<number[]> {
    clearInterval(this.#timer);
    await this.#sample();
    const totals = [0, 0, 0];
    for (const s of this.samples) for (const [i, n] of s.served.entries()) totals[i]! += n;
    return totals;
  }

  /** ms from `fromMs` to the first run of `run` samples in which target 0 served nothing; -1 if none. */
  quietAfter(fromMs: number, run: number): number {
    const after = this.samples.filter((s) => s.atMs >= fromMs);
    for (let i = 0; i + run <= after.length; i++)
      if (after.slice(i, i + run).every((s) => s.served[0] === 0)) return after[i]!.atMs - fromMs;
    return -1;
  }

  /** ms from `fromMs` to the first sample in which target 0 served at least `share` of all; -1 if none. */
  backAfter(fromMs: number, share: number): number {
    const hit = this.samples.find((s) => {
      const total = s.served.reduce((a, b) => a + b, 0);
      return s.atMs >= fromMs && total > 0 && s.served[0]! >= share * total;
    });
    return hit ? hit.atMs - fromMs : -1;
  }
}

export default defineScenario({
  name: "upstream-brownout",
  description:
    "One of a tenant's three upstream targets answers 503, resets, answers 2 s late; then all vanish: success rate, extra load, time to eject and to recover, spread",
  params: {
    ...FLEET_PARAMS,
    dataPlanes: 2,
    tenants: 3,
    rate: 60,
    brownoutRate: 200,
    phaseSec: 6,
    consecutiveFailures: 5,
    baseEjectionMs: 2_000,
    maxEjectionMs: 10_000,
    retries: 2,
  },
  thresholds: [
    {
      metric: "steady.spread_max_deviation",
      description: "equal targets: largest deviation of a target's share from the mean",
      max: 0.1,
    },
    { metric: "503.success_rate", description: "one target answering 503 (retried elsewhere)", min: 0.999 },
    {
      metric: "reset.success_rate",
      description: "one target resetting connections (retried elsewhere)",
      min: 0.999,
    },
    { metric: "latency.success_rate", description: "one target 2 s late", min: 0.999 },
    { metric: "latency.sick_share", description: "the slow target's share of the traffic", max: 0.1 },
    { metric: "503.extra_load", description: "upstream requests beyond one per request", max: 0.1 },
    { metric: "reset.extra_load", description: "upstream requests beyond one per request", max: 0.1 },
    { metric: "503.time_to_eject_ms", description: "fault on → the sick target gets nothing", max: 2_000 },
    {
      metric: "503.time_to_recover_ms",
      description: "fault off → its share again (within the longest ejection)",
      max: (p) => p.maxEjectionMs + 1_000,
    },
    { metric: "all_down.circuit_open_share", description: "answers that were 503 circuit_open", min: 0.95 },
    {
      metric: "all_down.time_to_recover_ms",
      description: "targets back → 200 again (the open circuit probes once per base ejection time)",
      max: (p) => p.baseEjectionMs + 1_000,
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const rig = await startBrownoutRig(3);
    ctx.onCleanup(() => rig.stop());
    const session = await openFleet(ctx, {
      tenants: p.tenants + 1,
      tenantSpec: (i) =>
        i === p.tenants
          ? {
              timeoutMs: 10_000,
              route: { retries: { attempts: p.retries } },
              upstream: {
                targets: rig.targets.map((t) => t.httpUrl),
                outlier: {
                  consecutiveFailures: p.consecutiveFailures,
                  baseEjectionMs: p.baseEjectionMs,
                  maxEjectionMs: p.maxEjectionMs,
                  slowStartMs: 0,
                },
              },
            }
          : {},
    });
    const brown = session.tenants[p.tenants]!;
    const plan = (durationSec: number) => ({
      tenants: [
        ...session.loads(p.rate, 1, session.tenants.slice(0, p.tenants)),
        ...tenantLoads([brown], [p.brownoutRate]),
      ],
      durationSec,
      timeoutMs: 10_000,
    });
    const metrics: Record<string, number> = {};
    const phase = async (label: string, during: (poller: ServedPoller) => Promise<void> = async () => {}) => {
      await Promise.all(rig.targets.map((_, i) => rig.served(i)));
      const poller = new ServedPoller(rig);
      const [result] = await Promise.all([ctx.runLoad(label, plan(p.phaseSec)), during(poller)]);
      const served = await poller.stop();
      const mine = result.tenants.find((t) => t.tenant === brown.id)!;
      return { poller, served, mine };
    };

    const steady = await phase("steady");
    const mean = steady.served.reduce((a, b) => a + b, 0) / 3;
    metrics["steady.spread_max_deviation"] = Math.max(...steady.served.map((n) => Math.abs(n - mean) / mean));
    const rows: Array<Array<string | number>> = [["steady", ...steady.served, "", "", "", ""]];

    for (const fault of FAULTS) {
      const heal = await breakTarget(rig, fault);
      const faultOn = performance.now();
      const sick = await phase(fault);
      await heal();
      const faultOff = performance.now();
      const healed = await phase(`${fault}_healed`);
      const sent = sick.mine.ok + sick.mine.errors;
      const total = sick.served.reduce((a, b) => a + b, 0);
      metrics[`${fault}.success_rate`] = sick.mine.ok / Math.max(1, sent);
      metrics[`${fault}.extra_load`] = total / Math.max(1, sent) - 1;
      metrics[`${fault}.sick_share`] = sick.served[0]! / Math.max(1, total);
      metrics[`${fault}.time_to_eject_ms`] = sick.poller.quietAfter(faultOn, 5);
      metrics[`${fault}.time_to_recover_ms`] = healed.poller.backAfter(faultOff, 0.2);
      rows.push([
        fault,
        ...sick.served,
        metrics[`${fault}.success_rate`]!.toFixed(4),
        metrics[`${fault}.extra_load`]!.toFixed(4),
        Math.round(metrics[`${fault}.time_to_eject_ms`]!),
        Math.round(metrics[`${fault}.time_to_recover_ms`]!),
      ]);
    }

    const heals = await Promise.all(rig.targets.map((t) => rig.toxiproxy.partition(t.httpProxy)));
    const down = await phase("all_down");
    for (const h of heals) await h();
    const back = performance.now();
    const after = await phase("all_down_healed");
    const outcomes = down.mine.outcomes;
    metrics["all_down.circuit_open_share"] =
      (outcomes.circuit_open ?? 0) / Math.max(1, down.mine.ok + down.mine.errors);
    const firstOk = after.poller.samples.find((s) => s.atMs >= back && s.served.some((n) => n > 0));
    metrics["all_down.time_to_recover_ms"] = firstOk ? firstOk.atMs - back : -1;
    ctx.log(`all down: ${JSON.stringify(outcomes)}`);

    ctx.addTable({
      title: "requests each target served per phase (target 0 is the one that goes bad)",
      columns: [
        "phase",
        "target 0",
        "target 1",
        "target 2",
        "success rate",
        "extra load",
        "eject ms",
        "recover ms",
      ],
      rows,
    });
    return { metrics: { ...metrics, ...(await session.finish()) } };
  },
});

/** Makes target 0 go bad the given way; returns the heal. */
async function breakTarget(rig: BrownoutRig, fault: Fault): Promise<() => Promise<void>> {
  const proxy = rig.targets[0]!.httpProxy;
  if (fault === "503") {
    await rig.setMode(0, "fail");
    return () => rig.setMode(0, "ok");
  }
  const toxic =
    fault === "reset"
      ? ({ type: "reset_peer", timeoutMs: 0 } as const)
      : ({ type: "latency", latencyMs: 2_000 } as const);
  return rig.toxiproxy.addToxic(proxy, toxic);
}
