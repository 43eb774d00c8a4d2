/**
 * The walking skeleton end to end (issue 2): a control plane and two data-plane processes,
 * a real Postgres and an upstream. Configuration made through the admin API reaches traffic
 * on every node, and revoking the key shuts it out, within a bound a loaded 2-core machine
 * holds (10 s). How fast propagation really is (admin call to every node's ack, p99 ≤ 1 s) is
 * measured by the load harness: `npm run loadtest -- config-propagation`.
 */
import { egressAllowFor } from "../support/egress.ts";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Platform, startPlatform } from "../../bin/dev/platform.ts";
import { poll } from "../support/poll.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

/** wide: this test shows propagation happens; its speed is the config-propagation scenario's */
const PROPAGATION_LIMIT_MS = 10_000;

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

function startUpstream(seen: Seen[]): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function call(
  url: string,
  key: string,
): Promise<{ status: number; reason: string | null; body: string }> {
  const res = await fetch(url, { headers: { "x-api-key": key }, signal: AbortSignal.timeout(3000) });
  return { status: res.status, reason: res.headers.get("corral-reason"), body: await res.text() };
}

/** Polls until `check` holds; returns the elapsed ms, or fails naming the last observation. */
async function within(limitMs: number, check: () => Promise<{ ok: boolean; seen: string }>): Promise<number> {
  const start = performance.now();
  await poll(
    "the change to reach every node",
    async () => {
      const { ok, seen } = await check();
      if (!ok) throw new Error(seen);
      return true;
    },
    limitMs,
  );
  return performance.now() - start;
}

describe("walking skeleton: admin API -> snapshot -> every data plane -> upstream", {
  timeout: 120_000,
}, () => {
  let dir: string;
  let postgres: TestPostgres;
  let platform: Platform;
  let upstream: Server;
  const seen: Seen[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-e2e-"));
    [postgres, upstream] = await Promise.all([startPostgres(), startUpstream(seen)]);
    platform = await startPlatform({
      dir,
      ports: "free",
      dataPlanes: 2,
      pg: { url: postgres.url },
      demoUpstreams: false,
      stopGraceMs: 3000,
    });
    // the bounds below are about propagation: start the clock once every node serves a config
    await Promise.all(
      platform.dps.map((dp) =>
        poll(`${dp.slot} ready`, async () => (await fetch(`${dp.ops}/readyz`)).status === 200, 60_000),
      ),
    );
  });

  after(async () => {
    await platform?.stop();
    await postgres?.stop();
    await new Promise((r) => upstream?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a new tenant through each node, then refuses its revoked key, both within the propagation bound", async () => {
    const admin = platform.admin();
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    await admin.request("POST", "/admin/v1/tenants", {
      body: { id: "acme", name: "Acme", egressAllow: egressAllowFor(upstreamUrl) },
    });
    const up = await admin.request<{ id: string }>("POST", "/admin/v1/tenants/acme/upstreams", {
      body: { name: "api", targets: [upstreamUrl] },
    });
    await admin.request("POST", "/admin/v1/tenants/acme/routes", {
      body: { pathPrefix: "/api", upstreamId: up.id, timeoutMs: 2000 },
    });
    const { key, id: keyId } = await admin.request<{ key: string; id: string }>(
      "POST",
      "/admin/v1/tenants/acme/keys",
      {
        body: { scopes: ["invoke"] },
      },
    );

    // every node: 200 from the upstream, key stripped, tenant named
    const perNode = await Promise.all(
      platform.dps.map((dp) =>
        within(PROPAGATION_LIMIT_MS, async () => {
          const r = await call(`${dp.url}/api/orders?x=1`, key);
          return { ok: r.status === 200, seen: `${dp.slot}: ${r.status} ${r.reason}` };
        }),
      ),
    );
    assert.equal(perNode.length, 2);
    const reached = seen.filter((s) => s.path === "/api/orders?x=1");
    assert.ok(reached.length >= 2, "the upstream saw a request through each node");
    for (const s of reached) {
      assert.equal(s.headers["x-api-key"], undefined, "the tenant's key never reaches the upstream");
      assert.equal(s.headers["corral-tenant"], "acme");
    }

    // unknown key and unknown route are refused with their reasons
    const dp0 = platform.dps[0]!;
    const wrong = await call(`${dp0.url}/api/orders`, `${key.slice(0, -4)}AAAA`);
    assert.deepEqual([wrong.status, wrong.reason], [401, "unauthorized"]);
    const noRoute = await call(`${dp0.url}/elsewhere`, key);
    assert.deepEqual([noRoute.status, noRoute.reason], [404, "no_route"]);

    // revoke: every node answers 401 within the propagation bound
    await admin.request("DELETE", `/admin/v1/tenants/acme/keys/${keyId}`);
    await Promise.all(
      platform.dps.map((dp) =>
        within(PROPAGATION_LIMIT_MS, async () => {
          const r = await call(`${dp.url}/api/orders`, key);
          return {
            ok: r.status === 401 && r.reason === "unauthorized",
            seen: `${dp.slot}: ${r.status} ${r.reason}`,
          };
        }),
      ),
    );
  });

  it("suspending a tenant makes every node answer 403 within the propagation bound", async () => {
    const admin = platform.admin();
    const { key } = await admin.request<{ key: string }>("POST", "/admin/v1/tenants/acme/keys", {
      body: { scopes: ["invoke"] },
    });
    await Promise.all(
      platform.dps.map((dp) =>
        within(PROPAGATION_LIMIT_MS, async () => {
          const r = await call(`${dp.url}/api/orders`, key);
          return { ok: r.status === 200, seen: `${dp.slot}: ${r.status}` };
        }),
      ),
    );
    await admin.request("PATCH", "/admin/v1/tenants/acme", { body: { status: "suspended" } });
    await Promise.all(
      platform.dps.map((dp) =>
        within(PROPAGATION_LIMIT_MS, async () => {
          const r = await call(`${dp.url}/api/orders`, key);
          return { ok: r.status === 403, seen: `${dp.slot}: ${r.status} ${r.reason}` };
        }),
      ),
    );
  });
});
