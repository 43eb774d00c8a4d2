/**
 * Usage metering and the usage APIs against a real control plane, Postgres and Redis, with a
 * node played by a sync client: the counts a node reports in its Status frames appear in the
 * tenant's history (REST GET /v1/usage, gRPC GetUsage, admin GET .../usage, all equal); a tenant
 * reads only its own usage; a node's bad, oversized or foreign reports change nothing; bad
 * queries are 400; the quota's "used" comes from the Redis counters when the CP has Redis, else
 * from the rows; retention prunes old rows.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { UsageCount } from "../../proto/gen/corral/sync/v1/sync.ts";
import { hourStart, USAGE_ENTRIES_PER_FRAME } from "../../proto/usage-report.ts";
import { quotaCounterKey } from "../../runtime/quota-keys.ts";
import { poll } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import { call, callError, corralCode, startWorld, type World } from "../tenant-api/support.ts";
import { connectSync, type SyncClient } from "./sync-client.ts";

let w: World;
let redis: RedisServer;
let dp0: SyncClient;
let alphaKey: string;
before(async () => {
  w = await startWorld();
  redis = await startRedis();
  dp0 = await node("dp-0");
  alphaKey = (await w.h.api("GET", "/admin/v1/tenants/alpha/keys")).body.items[0].id;
});
after(async () => {
  dp0?.ws.close();
  await w.close();
  await redis.destroy();
});

async function node(slot: string): Promise<SyncClient> {
  const c = await connectSync(w.h.cp.url, w.h.nodeCredential(slot));
  c.hello({ slot, node: slot });
  await c.next("welcome");
  return c;
}

const HOUR = hourStart(Date.now());
const entry = (over: Partial<UsageCount>): UsageCount => ({
  tenantId: "alpha",
  keyId: "",
  routeId: "",
  outcome: "admitted",
  hourStartMs: HOUR,
  count: 1,
  ...over,
});
const report = (c: SyncClient, usage: UsageCount[]) =>
  c.send({ status: { version: 1, configAgeMs: 0, inflight: 0, shed: 0, fetchError: "", usage } });

const adminUsage = async (tenant: string, query = "") =>
  (await w.h.api("GET", `/admin/v1/tenants/${tenant}/usage${query}`)).body;
const admitted = async (tenant: string) =>
  (await adminUsage(tenant)).history.reduce((n: number, b: { admitted: number }) => n + b.admitted, 0);

test("a node's reported counts appear in the tenant's history, the same through every API", async () => {
  report(dp0, [
    entry({ keyId: alphaKey, count: 30 }),
    entry({ keyId: alphaKey, outcome: "quota", count: 5 }),
    entry({ tenantId: "beta", count: 7 }),
  ]);
  report(dp0, [entry({ keyId: alphaKey, count: 12 })]);
  await poll("alpha's 42 admitted requests in its history", async () => (await admitted("alpha")) === 42);
  await poll("beta's 7", async () => (await admitted("beta")) === 7);

  const rest = await w.rest(w.alpha.manage, "GET", "/v1/usage");
  assert.equal(rest.status, 200);
  assert.deepEqual(rest.body.history, [
    { start: new Date(HOUR).toISOString(), admitted: 42, refused: { quota: 5 } },
  ]);
  assert.equal(rest.body.quota, null, "no quota on the standard plan");
  const { response } = await call(
    w.grpc,
    (c) => c.getUsage,
    { from: "", to: "", granularity: "", by: "" },
    { key: w.alpha.manage },
  );
  assert.deepEqual(JSON.parse(JSON.stringify(response.history)), rest.body.history);
  const admin = await adminUsage("alpha");
  for (const field of ["tenantId", "from", "to", "granularity", "quota", "history"])
    assert.deepEqual(admin[field], rest.body[field], field);
  assert.equal(admin.usage.keys, 2, "and what it holds against its resource quotas");

  const byKey = await w.rest(w.alpha.manage, "GET", "/v1/usage?by=key");
  assert.deepEqual(byKey.body.history, [
    { start: new Date(HOUR).toISOString(), keyId: alphaKey, admitted: 42, refused: { quota: 5 } },
  ]);
  const byRoute = await call(
    w.grpc,
    (c) => c.getUsage,
    { from: "", to: "", granularity: "", by: "route" },
    { key: w.alpha.manage },
  );
  assert.deepEqual(
    byRoute.response.history.map((b) => [b.routeId, b.keyId, b.admitted]),
    [["", undefined, 42]],
  );
  assert.equal((await w.rest(w.alpha.manage, "GET", "/v1/usage?by=tenant")).status, 400);
  const daily = await w.rest(w.alpha.manage, "GET", "/v1/usage?granularity=day");
  assert.equal(daily.body.history[0].admitted, 42);
  assert.equal(daily.body.history[0].start, new Date(HOUR - (HOUR % 86_400_000)).toISOString());
});

test("a tenant reads only its own usage, over REST and gRPC", async () => {
  const beta = await w.rest(w.beta.manage, "GET", "/v1/usage");
  assert.deepEqual(beta.body.tenantId, "beta");
  assert.deepEqual(
    beta.body.history.map((b: { admitted: number }) => b.admitted),
    [7],
  );
  for (const q of ["?tenantId=alpha", "?tenant=alpha"]) {
    const named = await w.rest(w.beta.manage, "GET", `/v1/usage${q}`);
    assert.deepEqual([named.status, named.body.code], [400, "CORRAL_TENANT_VALIDATION"]);
  }
  const grpc = await call(
    w.grpc,
    (c) => c.getUsage,
    { from: "", to: "", granularity: "", by: "" },
    { key: w.beta.manage },
  );
  assert.deepEqual(
    grpc.response.history.map((b) => b.admitted),
    [7],
  );
  assert.equal((await w.rest(w.beta.invoke, "GET", "/v1/usage")).status, 403, "invoke keys cannot read it");
  assert.equal((await w.rest(undefined, "GET", "/v1/usage")).status, 401);
  const noKey = await callError(
    call(w.grpc, (c) => c.getUsage, { from: "", to: "", granularity: "", by: "" }, {}),
  );
  assert.equal(noKey.code, status.UNAUTHENTICATED);
});

test("operators see the heaviest tenants of the period; tenants cannot give themselves quotas", async () => {
  const top = (await w.h.api("GET", "/admin/v1/usage/top?period=day&limit=5")).body;
  assert.equal(top.period, "day");
  assert.deepEqual(
    top.items.map((t: { tenantId: string; admitted: number }) => [t.tenantId, t.admitted]),
    [
      ["alpha", await admitted("alpha")],
      ["beta", 7],
    ],
  );
  assert.equal((await w.h.api("GET", "/admin/v1/usage/top?period=minute")).status, 400);
  assert.equal((await w.h.api("GET", "/admin/v1/usage/top?limit=5000")).status, 400);
  const ownQuota = await w.rest(w.alpha.manage, "POST", "/v1/keys", {
    scopes: ["invoke"],
    quota: { limit: 1, period: "day" },
  });
  assert.deepEqual([ownQuota.status, ownQuota.body.code], [400, "CORRAL_TENANT_VALIDATION"]);
  for (const path of ["/v1/tenant", "/v1/keys/000000000000"])
    assert.equal((await w.rest(w.alpha.manage, "PATCH", path, { limits: { quota: null } })).status, 404);
});

test("bad queries are 400 / INVALID_ARGUMENT naming the field", async () => {
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const bad = [
    `?from=${iso(HOUR)}&to=${iso(HOUR - 2 * 3_600_000)}`,
    `?from=${iso(HOUR - 40 * day)}&to=${iso(HOUR)}`,
    `?from=${iso(HOUR - 500 * day)}&to=${iso(HOUR)}&granularity=day`,
    "?granularity=minute",
    "?from=yesterday",
    `?to=${"9".repeat(50)}`,
  ];
  for (const q of bad) {
    const res = await w.rest(w.alpha.manage, "GET", `/v1/usage${q}`);
    assert.deepEqual([res.status, res.body.code], [400, "CORRAL_TENANT_VALIDATION"], q);
    const admin = await w.h.api("GET", `/admin/v1/tenants/alpha/usage${q}`);
    assert.deepEqual([admin.status, admin.body.code], [400, "CORRAL_ADMIN_VALIDATION"], q);
  }
  const err = await callError(
    call(
      w.grpc,
      (c) => c.getUsage,
      { from: iso(HOUR), to: iso(HOUR - day), granularity: "", by: "" },
      { key: w.alpha.manage },
    ),
  );
  assert.deepEqual([err.code, corralCode(err)], [status.INVALID_ARGUMENT, "CORRAL_TENANT_VALIDATION"]);
  assert.equal((await w.h.api("GET", "/admin/v1/tenants/nobody/usage")).status, 404);
});

test("a node's bad or foreign entries are refused one by one; an oversized report closes it", async () => {
  const before = await admitted("alpha");
  assert.equal((await w.h.api("PATCH", "/admin/v1/tenants/alpha", { limits: { shardSize: 1 } })).status, 200);
  const other = await node("dp-9");
  const shard = await poll("two slots, alpha's shard one of them", async () => {
    const p = (await w.rest(w.alpha.manage, "GET", "/v1/placement")).body;
    return p.n === 2 && p.shard.map((m: { slot: string }) => m.slot);
  });
  const outsider = shard.includes("dp-9") ? dp0 : other;
  const member = shard.includes("dp-9") ? other : dp0;
  report(outsider, [entry({ count: 1000 })]); // alpha's shard does not have this slot
  report(member, [
    entry({ hourStartMs: HOUR + 3_600_000, count: 1000 }), // the future
    entry({ hourStartMs: HOUR - 72 * 3_600_000, count: 1000 }), // too old
    entry({ hourStartMs: HOUR + 1, count: 1000 }), // not an hour
    entry({ outcome: "delete_everything", count: 1000 }),
    entry({ tenantId: "alpha'; DROP TABLE usage_hourly; --", count: 1000 }),
    entry({ routeId: "../../etc", count: 1000 }),
    entry({ count: 3_000_000_000 }),
    entry({ tenantId: "no-such-tenant", count: 1000 }),
    entry({ count: 1 }),
    entry({ keyId: "ffffffffffff", routeId: `rt_${"f".repeat(16)}`, count: 2 }), // not alpha's: counted as none
  ]);
  await poll("the good entries counted", async () => (await admitted("alpha")) === before + 3);
  const parts = (await w.rest(w.alpha.manage, "GET", "/v1/usage?by=key")).body.history;
  assert.deepEqual(
    parts.map((b: { keyId: string }) => b.keyId),
    ["", alphaKey],
    "a made-up key id does not become a row",
  );
  const results = ["bad_hour", "bad_outcome", "bad_id", "bad_count", "not_member"];
  await poll("every refusal counted", async () => {
    const metrics = await (await fetch(`${w.h.cp.url}/metrics`)).text();
    return results.every((r) =>
      new RegExp(`corral_usage_entries_total\\{result="${r}"\\} [1-9]`).test(metrics),
    );
  });

  const flood = await node("dp-8");
  report(
    flood,
    Array.from({ length: USAGE_ENTRIES_PER_FRAME + 1 }, () => entry({})),
  );
  const closed = await flood.closed;
  assert.equal(closed.reason, "CORRAL_SYNC_BAD_FRAME");
  other.ws.close();
  assert.equal(await admitted("alpha"), before + 3, "nothing of the oversized report was counted");
});

test("a quota's used part: from the hourly rows, then from the Redis counters, back to the rows when Redis fails", async () => {
  const put = await w.h.api("PATCH", "/admin/v1/tenants/alpha", {
    limits: { quota: { limit: 100, period: "day" } },
  });
  assert.equal(put.status, 200);
  const grpcTenant = await call(w.grpc, (c) => c.getTenant, {}, { key: w.alpha.manage });
  assert.deepEqual(grpcTenant.response.tenant?.limits?.quota, { limit: 100, period: "day", offset: "PT0S" });
  await w.h.api("PATCH", `/admin/v1/tenants/alpha/keys/${alphaKey}`, { quota: { limit: 9, period: "hour" } });
  const grpcKeys = await call(w.grpc, (c) => c.listKeys, {}, { key: w.alpha.manage });
  assert.deepEqual(grpcKeys.response.keys.find((k) => k.id === alphaKey)?.quota, {
    limit: 9,
    period: "hour",
    offset: "PT0S",
  });
  const metered = (await w.rest(w.alpha.manage, "GET", "/v1/usage")).body.quota;
  const dayStart = HOUR - (HOUR % 86_400_000);
  assert.deepEqual(metered, {
    limit: 100,
    used: await admitted("alpha"),
    remaining: 100 - (await admitted("alpha")),
    period: "day",
    offset: "PT0S",
    periodStart: new Date(dayStart).toISOString(),
    resetsAt: new Date(dayStart + 86_400_000).toISOString(),
    source: "metering",
  });

  await w.h.restart({}, { CORRAL_REDIS_URL: redis.url });
  const { Redis } = await import("ioredis");
  const client = new Redis(redis.url);
  await client.set(quotaCounterKey("alpha", { kind: "tenant" }, dayStart), "97");
  client.disconnect();
  const counted = await poll("used from the counters", async () => {
    const q = (await w.rest(w.alpha.manage, "GET", "/v1/usage")).body.quota;
    return q?.source === "counters" && q;
  });
  assert.deepEqual([counted.used, counted.remaining], [97, 3]);
  assert.deepEqual((await adminUsage("alpha")).quota, counted, "the admin API agrees");

  await redis.stop();
  const fallback = (await w.rest(w.alpha.manage, "GET", "/v1/usage")).body.quota;
  assert.deepEqual([fallback.source, fallback.used], ["metering", await admitted("alpha")]);
  await redis.start();
});

test("retention prunes rows older than CORRAL_USAGE_RETENTION_DAYS", async () => {
  const old = HOUR - 3 * 86_400_000;
  await w.h.cp.pool.query(
    "INSERT INTO usage_hourly (tenant_id, hour, outcome, count) VALUES ('beta', to_timestamp($1 / 1000.0), 'admitted', 5)",
    [old],
  );
  const rows = async () =>
    (await w.h.cp.pool.query("SELECT hour FROM usage_hourly WHERE tenant_id = 'beta' ORDER BY hour")).rows
      .length;
  assert.equal(await rows(), 2);
  await w.h.restart({}, { CORRAL_USAGE_RETENTION_DAYS: "2" });
  await poll("the 3-day-old row pruned at start", async () => (await rows()) === 1);
  assert.equal(await admitted("beta"), 7, "the recent row stays");
});

test("a history is bounded: a window with too many rows is 400, a narrower one answers", async () => {
  await w.h.cp.pool.query(
    `INSERT INTO usage_hourly (tenant_id, hour, key_id, outcome, count)
     SELECT 'beta', to_timestamp($1 / 1000.0) - h * interval '1 hour', lpad(to_hex(k), 12, '0'), 'admitted', 1
     FROM generate_series(1, 720) h, generate_series(1, 30) k`,
    [HOUR],
  );
  try {
    const from = new Date(HOUR - 30 * 86_400_000).toISOString();
    const split = await w.rest(w.beta.manage, "GET", `/v1/usage?by=key&from=${from}`);
    assert.deepEqual([split.status, split.body.code], [400, "CORRAL_TENANT_VALIDATION"]);
    assert.match(split.body.detail, /more than 20000 rows/);
    const whole = await w.rest(w.beta.manage, "GET", `/v1/usage?from=${from}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.body.history.length, 721);
  } finally {
    await w.h.cp.pool.query("DELETE FROM usage_hourly WHERE tenant_id = 'beta' AND key_id <> ''");
  }
});
