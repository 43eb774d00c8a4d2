/**
 * Usage metering end to end: a control plane, three data-plane processes and a real Postgres,
 * without Redis ("used" comes from the metering rows) and with it (from the nodes' quota
 * counters). A tenant served by all three nodes gets
 * traffic spread over them (some of it to a path without a route); the tenant API (REST and
 * gRPC) and the admin API report the same numbers, and the admitted count agrees with what the
 * upstream actually received (within 1 %), the refusals with what the client was told.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { TenantServiceClient } from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { egressAllowFor } from "../support/egress.ts";
import { poll } from "../support/poll.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { call } from "../tenant-api/support.ts";

const REQUESTS = 1500;
const NO_ROUTE = 60;
const CONCURRENCY = 16;

function countingUpstream(received: Map<string, number>): Promise<Server> {
  const server = createServer((req, res) => {
    const tenant = String(req.headers["corral-tenant"]);
    received.set(tenant, (received.get(tenant) ?? 0) + 1);
    res.end("ok");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Sends `n` requests round-robin over `urls`, `CONCURRENCY` at a time; statuses by count. */
async function send(urls: string[], key: string, n: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(urls[i % urls.length]!, { headers: { "x-api-key": key } });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

const within1pct = (actual: number, expected: number) => Math.abs(actual - expected) <= expected * 0.01;

for (const withRedis of [false, true])
  describe(`usage metering ${withRedis ? "with" : "without"} Redis: the APIs report what the upstream received`, {
    timeout: 180_000,
  }, () => {
    let dir: string;
    let postgres: TestPostgres;
    let redis: RedisServer | undefined;
    let platform: Platform;
    let upstream: Server;
    const received = new Map<string, number>();

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "corral-e2e-usage-"));
      [postgres, upstream] = await Promise.all([startPostgres(), countingUpstream(received)]);
      redis = withRedis ? await startRedis() : undefined;
      platform = await startPlatform({
        dir,
        ports: "free",
        dataPlanes: 3,
        pg: { url: postgres.url },
        demoUpstreams: false,
        stopGraceMs: 3000,
        extraEnv: redis ? { CORRAL_REDIS_URL: redis.url } : {},
      });
    });

    after(async () => {
      await platform?.stop();
      await postgres?.stop();
      await redis?.destroy();
      await new Promise((r) => upstream?.close(r));
      await rm(dir, { recursive: true, force: true });
    });

    it("tenant (REST, gRPC) and admin usage agree with the upstream's count (± 1 %)", async () => {
      const admin = platform.admin();
      const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
      // what is measured here is metering, not the shedder of a busy 2-core machine
      await admin.request("PUT", "/admin/v1/settings/admission", { body: { shedDisabled: true } });
      await admin.request("PUT", "/admin/v1/plans/metered", {
        body: {
          rate: 100_000,
          burst: 100_000,
          concurrency: 0,
          priority: "standard",
          shardSize: 3,
          quota: { limit: 1_000_000, period: "day" },
        },
      });
      const keys: Record<string, { manage: string }> = {};
      for (const id of ["meter", "quiet"]) {
        await admin.request("POST", "/admin/v1/tenants", {
          body: { id, name: id, plan: "metered", egressAllow: egressAllowFor(upstreamUrl) },
        });
        const up = await admin.request<{ id: string }>("POST", `/admin/v1/tenants/${id}/upstreams`, {
          body: { name: "api", targets: [upstreamUrl] },
        });
        await admin.request("POST", `/admin/v1/tenants/${id}/routes`, {
          body: { pathPrefix: "/api", upstreamId: up.id, timeoutMs: 5000 },
        });
        const { key } = await admin.request<{ key: string }>("POST", `/admin/v1/tenants/${id}/keys`, {
          body: { scopes: ["invoke", "manage"] },
        });
        keys[id] = { manage: key };
      }
      await platform.waitUntilServing("/api/warmup", keys.meter!.manage, 60_000);
      await platform.waitUntilServing("/api/warmup", keys.quiet!.manage, 60_000);

      const urls = platform.dps.map((dp) => `${dp.url}/api/orders`);
      const served = await send(urls, keys.meter!.manage, REQUESTS);
      const missing = await send(
        platform.dps.map((dp) => `${dp.url}/elsewhere`),
        keys.meter!.manage,
        NO_ROUTE,
      );
      assert.deepEqual([...served.keys()], [200], "every request admitted");
      assert.deepEqual([...missing.entries()], [[404, NO_ROUTE]]);
      const upstreamCount = received.get("meter")!;

      const adminUsage = async () =>
        (await admin.request<UsageBody>("GET", "/admin/v1/tenants/meter/usage?granularity=day")) as UsageBody;
      const report = await poll(
        "every node's counts reported",
        async () => {
          const u = await adminUsage();
          const admitted = u.history.reduce((n, b) => n + b.admitted, 0);
          const refused = u.history.reduce((n, b) => n + (b.refused.no_route ?? 0), 0);
          const used = u.quota?.used ?? 0;
          return (
            within1pct(admitted, upstreamCount) &&
            within1pct(used, upstreamCount) &&
            refused === NO_ROUTE &&
            u
          );
        },
        60_000,
      );
      const admitted = report.history.reduce((n, b) => n + b.admitted, 0);
      assert.ok(
        within1pct(admitted, upstreamCount),
        `admitted ${admitted}, upstream received ${upstreamCount}`,
      );
      assert.ok(within1pct(report.quota!.used, upstreamCount), `quota used ${report.quota!.used}`);
      assert.equal(report.quota!.source, withRedis ? "counters" : "metering");

      const rest = await fetch(`${platform.cpUrl}/v1/usage?granularity=day`, {
        headers: { "x-api-key": keys.meter!.manage },
      });
      const tenantView = (await rest.json()) as UsageBody;
      assert.deepEqual(tenantView.history, report.history);
      assert.deepEqual(tenantView.quota, report.quota);
      const grpc = new TenantServiceClient(platform.cp.grpc, credentials.createInsecure());
      try {
        const { response } = await call(
          grpc,
          (c) => c.getUsage,
          { from: "", to: "", granularity: "day", by: "" },
          { key: keys.meter!.manage },
        );
        assert.equal(
          response.history.reduce((n, b) => n + b.admitted, 0),
          admitted,
        );
        assert.equal(response.quota?.used, report.quota!.used);
      } finally {
        grpc.close();
      }

      const quiet = await fetch(`${platform.cpUrl}/v1/usage`, {
        headers: { "x-api-key": keys.quiet!.manage },
      });
      const quietView = (await quiet.json()) as UsageBody;
      const quietAdmitted = quietView.history.reduce((n, b) => n + b.admitted, 0);
      assert.equal(quietAdmitted, received.get("quiet") ?? 0, "the other tenant sees only its own requests");
      console.log(
        `usage e2e (${withRedis ? "Redis" : "no Redis"}): upstream ${upstreamCount}, admin admitted ${admitted}, quota used ${report.quota!.used}, ` +
          `no_route ${NO_ROUTE}; quiet tenant ${quietAdmitted}`,
      );
    });
  });

interface UsageBody {
  quota: { used: number; source: string } | null;
  history: { start: string; admitted: number; refused: Record<string, number> }[];
}
