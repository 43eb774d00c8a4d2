/**
 * Per-tenant quotas against a real control plane and Postgres: plans carry them, operators
 * override them per tenant, every growing change is checked in its own transaction (the
 * tenant's row locked, so concurrent creates cannot both pass), the refusal is 507
 * CORRAL_QUOTA_EXCEEDED naming the quota over REST and RESOURCE_EXHAUSTED over gRPC, and
 * shrinking changes always go through. GET .../usage reports usage against quotas.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { call, callError, corralCode, startWorld, type World } from "../tenant-api/support.ts";

let w: World;
before(async () => {
  w = await startWorld();
});
after(() => w.close());

const usage = async (tenant: string) => (await w.h.api("GET", `/admin/v1/tenants/${tenant}/usage`)).body;
const setQuotas = (tenant: string, quotas: Record<string, number | null>) =>
  w.h.api("PATCH", `/admin/v1/tenants/${tenant}`, { quotas });

test("plans carry default quotas, and PUT changes only the quotas it names", async () => {
  const free = (await w.h.api("GET", "/admin/v1/plans/free")).body;
  assert.deepEqual(free.quotas, {
    maxRoutes: 20,
    maxUpstreams: 20,
    maxKeys: 10,
    maxTargets: 100,
    maxConfigBytes: 65536,
  });
  const { quotas: _q, tenants: _t, name: _n, ...limits } = free;
  const put = await w.h.api("PUT", "/admin/v1/plans/free", { ...limits, quotas: { maxKeys: 12 } });
  assert.equal(put.status, 200);
  assert.deepEqual(put.body.quotas, { ...free.quotas, maxKeys: 12 });
  const bad = await w.h.api("PUT", "/admin/v1/plans/free", { ...limits, quotas: { maxKeys: -1 } });
  assert.deepEqual([bad.status, bad.body.code], [400, "CORRAL_ADMIN_VALIDATION"]);
});

test("usage reports what the tenant holds against its effective quotas", async () => {
  const u = await usage("alpha");
  assert.deepEqual([u.tenantId, u.usage.keys, u.usage.routes, u.usage.upstreams], ["alpha", 2, 0, 0]);
  assert.ok(u.usage.configBytes > 0);
  assert.equal(u.quotas.maxKeys, 50, "the standard plan's");
  assert.equal((await setQuotas("alpha", { maxKeys: 7 })).status, 200);
  assert.equal((await usage("alpha")).quotas.maxKeys, 7, "the tenant's override");
  assert.equal((await setQuotas("alpha", { maxKeys: null })).status, 200);
  assert.equal((await usage("alpha")).quotas.maxKeys, 50, "override cleared");
  assert.equal((await w.h.api("GET", "/admin/v1/tenants/nobody/usage")).status, 404);
});

test("concurrent creates cannot both pass a quota; the refusal names it and commits nothing", async () => {
  assert.equal((await setQuotas("beta", { maxKeys: 4 })).status, 200); // beta holds 2
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      w.rest(w.beta.manage, "POST", "/v1/keys", { name: `k${i}`, scopes: ["invoke"] }),
    ),
  );
  const created = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status !== 201);
  assert.equal(created.length, 2, results.map((r) => r.status).join(","));
  for (const r of refused) {
    assert.equal(r.status, 507);
    assert.equal(r.body.code, "CORRAL_QUOTA_EXCEEDED");
    assert.deepEqual([r.body.quota, r.body.limit, r.body.used], ["maxKeys", 4, 5]);
  }
  assert.equal((await usage("beta")).usage.keys, 4);

  // revoking frees room again
  assert.equal((await w.h.api("DELETE", `/admin/v1/tenants/beta/keys/${created[0]!.body.id}`)).status, 204);
  assert.equal((await w.rest(w.beta.manage, "POST", "/v1/keys", { name: "again" })).status, 201);
});

test("targets and compiled bytes are quotas too; gRPC answers RESOURCE_EXHAUSTED", async () => {
  assert.equal((await setQuotas("beta", { maxTargets: 3 })).status, 200);
  const four = [
    "http://t1.example.com:1",
    "http://t2.example.com:1",
    "http://t3.example.com:1",
    "http://t4.example.com:1",
  ];
  const tooMany = await w.rest(w.beta.manage, "POST", "/v1/upstreams", { name: "wide", targets: four });
  assert.deepEqual(
    [tooMany.status, tooMany.body.code, tooMany.body.quota],
    [507, "CORRAL_QUOTA_EXCEEDED", "maxTargets"],
  );
  const err = await callError(
    call(
      w.grpc,
      (x) => x.createUpstream,
      {
        clientToken: "",
        name: "wide",
        targets: four,
        weights: [],
        healthCheck: undefined,
        outlier: undefined,
        retryBudget: undefined,
      },
      {
        key: w.beta.manage,
      },
    ),
  );
  assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  assert.equal(corralCode(err), "CORRAL_QUOTA_EXCEEDED");

  const { configBytes } = (await usage("beta")).usage;
  assert.equal(
    (await setQuotas("beta", { maxTargets: null, maxConfigBytes: configBytes + 100 })).status,
    200,
  );
  const long = await w.rest(w.beta.manage, "POST", "/v1/upstreams", {
    name: "long",
    targets: [`http://t1.example.com:1/${"p".repeat(200)}`],
  });
  assert.deepEqual([long.status, long.body.quota], [507, "maxConfigBytes"]);
  assert.equal((await usage("beta")).usage.upstreams, 0, "nothing committed");
});

test("below a lowered quota, shrinking changes still go through and publish", async () => {
  const up = await w.rest(w.alpha.manage, "POST", "/v1/upstreams", {
    name: "one",
    targets: ["http://t9.example.com:1"],
  });
  assert.equal(up.status, 201);
  assert.equal((await setQuotas("alpha", { maxUpstreams: 0, maxKeys: 0 })).status, 200);
  const grow = await w.rest(w.alpha.manage, "POST", "/v1/upstreams", {
    name: "two",
    targets: ["http://t9.example.com:2"],
  });
  assert.deepEqual([grow.status, grow.body.quota], [507, "maxUpstreams"]);
  const before = await w.h.api("GET", "/admin/v1/config/versions?limit=1");
  assert.equal((await w.rest(w.alpha.manage, "DELETE", `/v1/upstreams/${up.body.id}`)).status, 204);
  await w.h.cp.publisher.idle();
  const after = await w.h.api("GET", "/admin/v1/config/versions?limit=1");
  assert.ok(after.body.items[0].version > before.body.items[0].version);
  assert.equal((await usage("alpha")).usage.upstreams, 0);
});

test("a tenant cannot set its own quotas", async () => {
  for (const [method, path] of [
    ["PATCH", "/v1/tenant"],
    ["PUT", "/v1/tenant/quotas"],
  ] as const) {
    const res = await w.rest(w.alpha.manage, method, path, { quotas: { maxKeys: 1000 } });
    assert.ok(res.status === 404 || res.status === 405, `${method} ${path}: ${res.status}`);
  }
  assert.equal((await w.rest(w.alpha.manage, "GET", "/admin/v1/tenants/alpha/usage")).status, 401);
});
