/**
 * Static stability (docs/design.md §3.3), with real processes: two control-plane replicas, one
 * Postgres, two data planes and three tenants. An open-loop load (loadtest/generator) of
 * 3 tenants x 2 nodes x 12 rps runs; about a second in, every CP replica and Postgres are
 * SIGKILLed, and the load goes on for 60 s more. Not one request may fail, the nodes stay
 * ready, and both report their config as stale and growing staleness: /status configAgeMs
 * and the corral_dp_config_age_seconds metric are at least the time since the kill.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LoadResult } from "../../loadtest/generator/merge.ts";
import { nowEpochMs, runLoad } from "../../loadtest/generator/run-load.ts";
import { metricSum, metricValue } from "../support/metrics.ts";
import { poll } from "../support/poll.ts";
import { type ChaosPlatform, nodeStatus, PATH, startChaosPlatform } from "./static-stability-support.ts";

const OUTAGE_UNDER_LOAD_MS = 60_000;
/** the load reaches every node well within this, and then still runs the whole outage */
const LOAD_REACHES_NODES_MS = 5000;
const RATE_PER_TENANT_AND_NODE = 12;
const SAMPLE_EVERY_MS = 5000;

interface AgeSample {
  slot: string;
  sinceKillMs: number;
  statusAgeMs: number | null;
  metricAgeSec: number | undefined;
  ready: boolean;
  connected: boolean;
}

describe("static stability: every control plane and Postgres killed under load", { timeout: 120_000 }, () => {
  let c: ChaosPlatform;

  before(async () => {
    c = await startChaosPlatform({ controlPlanes: 2, dataPlanes: 2, tenants: 3 });
  });

  after(async () => {
    await c?.stop();
  });

  async function killControlPlanesAndPostgres(): Promise<number> {
    const pgPid = c.postgres.pid;
    assert.ok(pgPid, "a private Postgres (not CORRAL_TEST_PG_URL) is needed to kill it");
    const killedAt = nowEpochMs();
    for (const cp of c.platform.cps) cp.kill("SIGKILL");
    process.kill(pgPid, "SIGKILL");
    await Promise.all(c.platform.cps.map((cp) => cp.waitExit()));
    return killedAt;
  }

  /** /status and the config-age metric of every node, every SAMPLE_EVERY_MS until the load ends */
  async function sampleAges(killedAt: number, load: Promise<LoadResult>): Promise<AgeSample[]> {
    const samples: AgeSample[] = [];
    let done = false;
    void load.finally(() => {
      done = true;
    });
    while (!done) {
      for (const dp of c.platform.dps) {
        const [status, metric] = await Promise.all([
          nodeStatus(dp),
          metricValue(dp.ops, "corral_dp_config_age_seconds"),
        ]);
        samples.push({
          slot: dp.slot,
          sinceKillMs: nowEpochMs() - killedAt,
          statusAgeMs: status.configAgeMs,
          metricAgeSec: metric,
          ready: status.ready,
          connected: status.connected,
        });
      }
      await Promise.race([load, new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS))]);
    }
    return samples;
  }

  it("serves every request of the existing tenants for 60 s and reports growing config age", async (t) => {
    const tenants = c.platform.dps.flatMap((dp) =>
      c.tenants.map((tk) => ({
        tenant: `${tk.id}@${dp.slot}`,
        rate: RATE_PER_TENANT_AND_NODE,
        target: { kind: "http" as const, url: `${dp.url}${PATH}`, headers: { "x-api-key": tk.key } },
      })),
    );
    const durationSec = (LOAD_REACHES_NODES_MS + OUTAGE_UNDER_LOAD_MS) / 1000;
    const served = () =>
      Promise.all(c.platform.dps.map((dp) => metricSum(dp.ops, "corral_dp_requests_total")));
    const servedBefore = await served();
    const load = runLoad({ tenants, durationSec, timeoutMs: 5000, connections: 4 });
    // kill once the load is being served by every node
    await poll("every node serving the load", async () =>
      (await served()).every((n, i) => n > servedBefore[i]!),
    );
    const killedAt = await killControlPlanesAndPostgres();
    const samples = await sampleAges(killedAt, load);
    const result = await load;
    const loadEnd = result.startEpochMs + result.durationSec * 1000;

    const { totals } = result;
    t.diagnostic(
      `load: ${totals.scheduled} scheduled, ${totals.ok} ok, outcomes ${JSON.stringify(totals.outcomes)}, ` +
        `p99 ${totals.latency.p99Ms} ms, max ${totals.latency.maxMs} ms; ` +
        `outage under load ${Math.round(loadEnd - killedAt)} ms`,
    );
    assert.ok(loadEnd - killedAt >= OUTAGE_UNDER_LOAD_MS, "the load ran 60 s past the kill");
    assert.ok(totals.scheduled >= tenants.length * RATE_PER_TENANT_AND_NODE * 60, "the load ran at its rate");
    assert.equal(totals.errors, 0, `failed requests: ${JSON.stringify(totals.outcomes)}`);
    assert.equal(totals.ok, totals.scheduled);

    for (const dp of c.platform.dps) {
      const mine = samples.filter((s) => s.slot === dp.slot);
      t.diagnostic(
        `${dp.slot} config age (s since kill -> status ms / metric s): ` +
          mine
            .map((s) => `${Math.round(s.sinceKillMs / 1000)}->${s.statusAgeMs}/${s.metricAgeSec}`)
            .join(" "),
      );
      assert.ok(mine.length >= 10, `${dp.slot} was sampled through the outage`);
      assert.ok(
        mine.every((s) => s.ready),
        `${dp.slot} stayed ready`,
      );
      assert.ok(mine.every((s) => s.statusAgeMs !== null && s.statusAgeMs >= s.sinceKillMs - 100));
      assert.ok(
        mine.every((s) => s.metricAgeSec !== undefined && s.metricAgeSec * 1000 >= s.sinceKillMs - 1100),
      );
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.statusAgeMs! > mine[i - 1]!.statusAgeMs!);
      assert.ok(mine.at(-1)!.statusAgeMs! >= OUTAGE_UNDER_LOAD_MS - SAMPLE_EVERY_MS - 1000);
      assert.ok(
        mine.slice(2).every((s) => !s.connected),
        `${dp.slot} reports no control-plane connection`,
      );
    }
  });
});
