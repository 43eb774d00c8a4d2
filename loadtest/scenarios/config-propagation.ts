import { openBlobStore } from "../../runtime/blob-store/open-blob-store.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient } from "../../bin/admin/admin-client.ts";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { startPostgres } from "../../test/support/postgres.ts";
import { LoadtestError } from "../errors.ts";
import { runApplyBench } from "../propagation/apply-bench.ts";
import { VERIFY_MODES, type VerifyMode } from "../propagation/blob-check.ts";
import { measureCompile } from "../propagation/compile-size.ts";
import { assertOpenFiles } from "../propagation/fd-limit.ts";
import {
  applyMetrics,
  applyTable,
  compileMetrics,
  compileTable,
  roundsMetrics,
  roundsTable,
  rssMetrics,
} from "../propagation/propagation-report.ts";
import { type RoundResult, runRound, settleWholeFleet, waitFor } from "../propagation/propagation-round.ts";
import { seedTenantId, seedTenants } from "../propagation/seed-tenants.ts";
import { SimFleet } from "../propagation/sim-fleet.ts";
import { round } from "../propagation/stats.ts";
import { readProcStats } from "../sampler/proc-stats.ts";
import { defineScenario, type ScenarioContext } from "../scenario/types.ts";

/**
 * Config propagation (docs/design.md §3): one control plane (real process, real Postgres, filesystem
 * blob store) and `nodes` simulated data-plane nodes in worker threads speaking /sync/v1
 * (loadtest/propagation/). `tenants` tenants are inserted with SQL, one admin call publishes
 * them, the nodes connect and settle; then each round one admin call (PATCH a tenant) starts
 * a new version and every node's Announce and Ack are timed from just before that call.
 * `--verify=shared` (default): per worker thread one node fetches and checks each blob and the
 * others wait for it, as if every node ran on its own machine; `--verify=each`: every node
 * fetches and checks the whole blob itself, so this one machine does the whole fleet's work.
 * Also: the control plane's RSS idle and with the connections, compile time and blob size for
 * `sizeTenants` (in-process), and the data plane's apply of `applyTenants` (its own bench).
 */
const MIB = 1024 * 1024;

const params = {
  nodes: 1000,
  tenants: 10_000,
  rounds: 5,
  workers: 2,
  verify: "shared",
  checkConcurrency: 2,
  dialConcurrency: 20,
  capacityMiB: 8,
  roundTimeoutSec: 120,
  sizeTenants: "10000,100000",
  applyTenants: 100_000,
  applyPerTenant: 1,
  /** when set, the control plane writes a V8 CPU profile (--cpu-prof) into this folder as it exits */
  cpProfileDir: "",
};
type Params = typeof params;
type Ctx = ScenarioContext<Params>;

function checkParams(p: Params): VerifyMode {
  if (!VERIFY_MODES.includes(p.verify as VerifyMode))
    throw new LoadtestError(
      "CORRAL_LOADTEST_BAD_PARAM",
      `--verify must be one of ${VERIFY_MODES.join(", ")}`,
    );
  for (const name of [
    "nodes",
    "tenants",
    "rounds",
    "workers",
    "checkConcurrency",
    "dialConcurrency",
  ] as const)
    if (!Number.isInteger(p[name]) || p[name] < 1)
      throw new LoadtestError("CORRAL_LOADTEST_BAD_PARAM", `--${name} must be a positive integer`);
  return p.verify as VerifyMode;
}

/**
 * The admin client of the run: a compile after a membership change at 100,000 tenants keeps the
 * control plane busy for many seconds, longer than the client's default timeout.
 */
function adminOf(platform: Platform): AdminClient {
  return new AdminClient({ url: platform.cpUrl, token: platform.operatorToken, timeoutMs: 300_000 });
}

async function rssOf(pid: number | undefined): Promise<number> {
  return (pid === undefined ? undefined : await readProcStats(pid))?.rssBytes ?? Number.NaN;
}

async function startControlPlane(ctx: Ctx): Promise<Platform> {
  const postgres = await startPostgres();
  ctx.onCleanup(() => postgres.stop());
  const dir = await mkdtemp(join(tmpdir(), "corral-propagation-"));
  ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
  const platform = await startPlatform({
    dir,
    ports: "free",
    controlPlanes: 1,
    dataPlanes: 0,
    demoUpstreams: false,
    pg: { url: postgres.url },
    extraEnv: { CORRAL_SNAPSHOT_CAPACITY: String(Math.round(ctx.params.capacityMiB * MIB)) },
    // every simulated node registers its own slot
    cpEnv: {
      CORRAL_MAX_SLOTS: String(ctx.params.nodes + 16),
      ...(ctx.params.cpProfileDir
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${ctx.params.cpProfileDir}` }
        : {}),
    },
    stopGraceMs: 5000,
  });
  ctx.onCleanup(() => platform.stop());
  ctx.sampler.add({ name: "control-plane", pid: platform.cp.pid!, metricsUrl: `${platform.cp.url}/metrics` });
  if (postgres.pid) ctx.sampler.add({ name: "postgres", pid: postgres.pid });
  return platform;
}

/** Seeds the tenants and publishes them once (before any node connects). */
async function seedAndPublish(ctx: Ctx, platform: Platform): Promise<void> {
  const seedMs = await seedTenants(platform.pgUrl, ctx.params.tenants);
  ctx.log(`seeded ${ctx.params.tenants} tenants with SQL in ${Math.round(seedMs)} ms`);
  const admin = adminOf(platform);
  await admin.patch(`/admin/v1/tenants/${seedTenantId(1)}`, { name: "Propagation seed" });
  await waitFor(
    "the seeded tenants published",
    async () => {
      const { items } = await admin.get<{ items: Array<{ tenants: number }> }>(
        "/admin/v1/config/versions?limit=1",
      );
      return (items[0]?.tenants ?? 0) >= ctx.params.tenants;
    },
    600_000,
    100,
  );
}

async function startFleet(ctx: Ctx, platform: Platform, mode: VerifyMode): Promise<SimFleet> {
  const p = ctx.params;
  const started = performance.now();
  const fleet = await SimFleet.start({
    nodes: p.nodes,
    workers: p.workers,
    cpUrl: platform.cpUrl,
    nodeSecret: platform.nodeSecret,
    blobUrl: platform.blobUrl,
    verifyKey: platform.verifyKey,
    capacity: Math.round(p.capacityMiB * MIB),
    mode,
    checkConcurrency: p.checkConcurrency,
    zones: ["zone-a", "zone-b", "zone-c"],
    dialConcurrency: p.dialConcurrency,
  });
  ctx.onCleanup(() => fleet.close());
  ctx.log(`${p.nodes} simulated nodes connected in ${Math.round(performance.now() - started)} ms`);
  const blobs = await openBlobStore(platform.blobUrl, {});
  const capacity = Math.round(p.capacityMiB * MIB);
  const deps = { pgUrl: platform.pgUrl, blobs, capacity };
  const version = await settleWholeFleet(fleet, adminOf(platform), deps, 1_800_000, 6000);
  ctx.log(`every node acked version ${version}, compiled with every node's slot; fleet settled`);
  return fleet;
}

async function measureRounds(ctx: Ctx, platform: Platform, fleet: SimFleet): Promise<RoundResult[]> {
  const results: RoundResult[] = [];
  const chart = ctx.chart("admin call -> Ack per round", "ms");
  for (let r = 1; r <= ctx.params.rounds && !ctx.signal.aborted; r++) {
    const deps = { fleet, admin: adminOf(platform), cpUrl: platform.cpUrl, pgUrl: platform.pgUrl };
    const result = await runRound(deps, r, ctx.params.roundTimeoutSec * 1000);
    results.push(result);
    for (const [series, value] of [
      ["ack p50", result.ack.p50],
      ["ack p99", result.ack.p99],
      ["last ack", result.ack.max],
    ] as const)
      chart.point(series, value);
    ctx.log(
      `round ${r}: version ${result.version} published at ${round(result.publishedMs)} ms ` +
        `(CP compile ${round(result.cpCompileMs)} ms, publish ${round(result.cpPublishMs)} ms); ` +
        `ack p50 ${round(result.ack.p50)} p99 ${round(result.ack.p99)} last ${round(result.ack.max)} ms; ` +
        `versions ${result.published.map((v) => `${v.version} (${v.source})`).join(", ")}; ` +
        `CP phases ${Object.entries(result.cpPhasesMs)
          .map(([phase, ms]) => `${phase} ${round(ms)}`)
          .join(", ")} ms`,
    );
  }
  return results;
}

export default defineScenario({
  name: "config-propagation",
  description:
    "One CP, 1,000 simulated DP sync connections, 10,000 tenants: admin call -> last Ack over rounds; CP RSS; compile time and blob size; DP apply of 100k tenants",
  params,
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "propagation.p99_ms", description: "admin call -> Ack, p99 over every node and round", max: 1000 },
    { metric: "propagation.disconnects", description: "sync connections lost during the run", max: 0 },
    { metric: "propagation.nacks", description: "versions a simulated node refused", max: 0 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const mode = checkParams(p);
    await assertOpenFiles(p.nodes + 256, `--nodes=${p.nodes}`);
    const platform = await startControlPlane(ctx);
    await seedAndPublish(ctx, platform);
    const rss = { idle: await rssOf(platform.cp.pid), connected: 0, after: 0 };
    const fleet = await startFleet(ctx, platform, mode);
    rss.connected = await rssOf(platform.cp.pid);
    const rounds = await measureRounds(ctx, platform, fleet);
    rss.after = await rssOf(platform.cp.pid);
    const lost = { disconnects: fleet.closed.length, nacks: fleet.nacks.length };
    await fleet.close();
    await platform.stop();
    ctx.addTable(roundsTable(rounds, p.nodes));
    const metrics: Record<string, number> = {
      ...roundsMetrics(rounds),
      ...rssMetrics(rss, p.nodes),
      "propagation.disconnects": lost.disconnects,
      "propagation.nacks": lost.nacks,
    };
    const sizes = p.sizeTenants
      ? p.sizeTenants
          .split(",")
          .map(Number)
          .filter((n) => n > 0)
      : [];
    if (sizes.length > 0) {
      const figures = sizes.map((n) => measureCompile(n, p.nodes, Math.round(p.capacityMiB * MIB)));
      ctx.addTable(compileTable(figures));
      Object.assign(metrics, compileMetrics(figures));
    }
    if (p.applyTenants > 0) {
      ctx.log(`data-plane apply of ${p.applyTenants} tenants (its own bench, a child process)`);
      const apply = await runApplyBench(p.applyTenants, p.applyPerTenant);
      ctx.addTable(applyTable(apply));
      Object.assign(metrics, applyMetrics(apply));
    }
    return { metrics };
  },
});
