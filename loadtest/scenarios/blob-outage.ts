import { startS3Server } from "../../test/support/minio.ts";
import { startToxiproxy } from "../faults/toxiproxy.ts";
import { waitForVersion } from "../platform/convergence.ts";
import { runningNodes, waitServed } from "../platform/load-tenants.ts";
import { fetchStatus } from "../platform/node-watch.ts";
import { resolveShard } from "../platform/placement.ts";
import { createTenant } from "../platform/tenants.ts";
import { FLEET_PARAMS, NODES_ON_NEWEST_AT_END, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * The blob store goes away for the data planes (docs/design.md §3.3): snapshots live in an
 * S3-compatible store (MinIO); the nodes reach it through a private toxiproxy that the
 * scenario partitions, while the control plane still writes to it. During the outage a
 * tenant is added, so the control plane announces a version the nodes cannot fetch. The
 * nodes must keep serving every existing tenant without an error, report the failed
 * fetch in their status, and once the store is back apply the newest version within
 * `maxRecoverySec` and serve the new tenant.
 */
export default defineScenario({
  name: "blob-outage",
  description: "Partition the blob store from the DPs mid-run: they keep serving, report it, catch up after",
  params: {
    ...FLEET_PARAMS,
    beforeSec: 5,
    outageSec: 12,
    afterSec: 8,
    pollIntervalMs: 1000,
    maxRecoverySec: 10,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "main.error_rate", description: "no failed request for existing tenants", max: 0 },
    { metric: "blob.nodes_reporting_fetch_error", description: "nodes ready and reporting the failed fetch in /status at the end of the outage", min: (p) => p.dataPlanes },
    { metric: "blob.recovery_s", description: "heal to every node on the newest version, s", max: (p) => p.maxRecoverySec },
    { metric: "blob.new_tenant_served", description: "the tenant added during the outage is served after it", min: 1 },
    NODES_ON_NEWEST_AT_END,
  ],
  async run(ctx) {
    const p = ctx.params;
    const s3 = await startS3Server();
    ctx.onCleanup(() => s3.stop());
    if (s3.pid) ctx.sampler.add({ name: "minio", pid: s3.pid });
    const toxiproxy = await startToxiproxy({ timeline: ctx.timeline });
    ctx.onCleanup(() => toxiproxy.stop());
    const proxy = await toxiproxy.createProxy("blobs", new URL(s3.endpoint).host);
    const { CORRAL_S3_ENDPOINT, ...credentials } = s3.env;
    const session = await openFleet(ctx, {
      pollIntervalMs: p.pollIntervalMs,
      blobUrl: `s3://${s3.bucket}/corral`,
      extraEnv: credentials,
      cpEnv: { CORRAL_S3_ENDPOINT: CORRAL_S3_ENDPOINT! },
      dpEnv: { CORRAL_S3_ENDPOINT: `http://${proxy.listen}` },
    });
    const plan = { tenants: session.loads(p.rate, p.zipf), timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    const load = ctx.runLoad("main", { ...plan, durationSec: p.beforeSec + p.outageSec + p.afterSec });
    await new Promise((r) => setTimeout(r, p.beforeSec * 1000));
    const heal = await toxiproxy.partition("blobs");
    const late = await createTenant(session.rig.admin, {
      id: "late",
      plan: "loadtest",
      upstreamUrl: session.upstream.ready.url,
    });
    ctx.timeline.mark("tenant added during the outage", "config");
    await new Promise((r) => setTimeout(r, p.outageSec * 1000));
    const statuses = await Promise.all(session.rig.nodes().map((n) => fetchStatus(n.ops)));
    const reporting = statuses.filter((s) => s?.ready && s.fetchError);
    await heal();
    const healedAt = performance.now();
    const nodes = runningNodes(session.rig);
    const latest = (await session.finish(p.maxRecoverySec * 1000))["config.latest_version"]!;
    const recovered = await waitForVersion(nodes, latest, 0);
    const recoverySec = recovered.behind.length === 0 ? (performance.now() - healedAt) / 1000 : Number.NaN;
    const shard = await resolveShard(nodes, late.id, late.key);
    const served = await waitServed({ ...late, shard }, 5000).then(
      () => 1,
      () => 0,
    );
    await load;
    return {
      metrics: {
        ...(await session.finish()),
        "blob.nodes_reporting_fetch_error": reporting.length,
        "blob.recovery_s": recoverySec,
        "blob.new_tenant_served": served,
      },
    };
  },
});
