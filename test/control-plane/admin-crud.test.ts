import assert from "node:assert/strict";
import { egressAllowFor } from "../support/egress.ts";
import { after, before, test } from "node:test";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const PROBLEM = "application/problem+json; charset=utf-8";

test("tenants: create, get, patch, list, delete", async () => {
  const created = await h.api("POST", "/admin/v1/tenants", { id: "acme", name: "Acme" });
  assert.equal(created.status, 201);
  assert.deepEqual(
    { ...created.body, createdAt: undefined, updatedAt: undefined },
    {
      id: "acme",
      name: "Acme",
      plan: "standard",
      status: "active",
      limits: {},
      egressAllow: [],
      createdAt: undefined,
      updatedAt: undefined,
    },
  );
  assert.deepEqual((await h.api("GET", "/admin/v1/tenants/acme")).body, created.body);

  const egress = await h.api("PATCH", "/admin/v1/tenants/acme", {
    egressAllow: ["2130706433:3000", "Api.Internal"],
  });
  assert.deepEqual(egress.body.egressAllow, ["127.0.0.1:3000", "api.internal"], "stored in canonical form");
  const badEgress = await h.api("PATCH", "/admin/v1/tenants/acme", {
    egressAllow: ["ok.example", "10.0.0.0/40"],
  });
  assert.equal(badEgress.status, 400);
  assert.equal(badEgress.body.errors[0].path, "body/egressAllow/1");
  assert.deepEqual((await h.api("GET", "/admin/v1/tenants/acme")).body.egressAllow, [
    "127.0.0.1:3000",
    "api.internal",
  ]);

  const patched = await h.api("PATCH", "/admin/v1/tenants/acme", {
    name: "Acme Corp",
    plan: "enterprise",
    status: "suspended",
    limits: { rate: 5, shardSize: 2 },
  });
  assert.equal(patched.status, 200);
  assert.equal(patched.body.name, "Acme Corp");
  assert.equal(patched.body.plan, "enterprise");
  assert.equal(patched.body.status, "suspended");
  assert.deepEqual(patched.body.limits, { rate: 5, shardSize: 2 });
  assert.ok(patched.body.updatedAt > created.body.updatedAt);

  const cleared = await h.api("PATCH", "/admin/v1/tenants/acme", { limits: { rate: null } });
  assert.deepEqual(cleared.body.limits, { shardSize: 2 });

  const duplicate = await h.api("POST", "/admin/v1/tenants", { id: "acme", name: "Again" });
  assert.equal(duplicate.status, 409);
  assert.equal(duplicate.body.code, "CORRAL_ADMIN_CONFLICT");
  assert.equal(duplicate.headers.get("content-type"), PROBLEM);

  const unknownPlan = await h.api("POST", "/admin/v1/tenants", { id: "other", name: "Other", plan: "gold" });
  assert.equal(unknownPlan.status, 400);
  assert.match(unknownPlan.body.detail, /plan "gold" does not exist/);

  assert.equal((await h.api("DELETE", "/admin/v1/tenants/acme")).status, 204);
  const gone = await h.api("GET", "/admin/v1/tenants/acme");
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, "CORRAL_ADMIN_NOT_FOUND");
  assert.equal((await h.api("DELETE", "/admin/v1/tenants/acme")).status, 404);
  assert.equal((await h.api("PATCH", "/admin/v1/tenants/acme", { name: "x" })).status, 404);
});

test("tenants: keyset pagination walks every tenant once, in id order", async () => {
  const ids = Array.from({ length: 7 }, (_, i) => `page-${String(i).padStart(2, "0")}`);
  for (const id of [...ids].reverse())
    assert.equal((await h.api("POST", "/admin/v1/tenants", { id, name: id })).status, 201);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor ? `&cursor=${cursor}` : "";
    const page = await h.api("GET", `/admin/v1/tenants?limit=3${query}`);
    assert.equal(page.status, 200);
    assert.ok(page.body.items.length <= 3);
    seen.push(...page.body.items.map((t: { id: string }) => t.id));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor);
  assert.deepEqual(
    seen.filter((id) => id.startsWith("page-")),
    ids,
  );
  assert.equal(pages, Math.ceil(seen.length / 3));
  const all = await h.api("GET", "/admin/v1/tenants?limit=200");
  assert.equal(all.body.nextCursor, null);
  for (const bad of ["limit=0", "limit=201", "limit=abc", "cursor=Li4vZXRj", "cursor=%00", "other=1"]) {
    const res = await h.api("GET", `/admin/v1/tenants?${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION", bad);
  }
});

test("tenants: q finds ids and names containing it, any case, and pages like the full list", async () => {
  for (const [id, name] of [
    ["find-alpha", "Alpha Co"],
    ["find-beta", "Beta ALPHAworks"],
    ["find-gamma", "Gamma"],
  ])
    assert.equal((await h.api("POST", "/admin/v1/tenants", { id, name })).status, 201);
  const ids = async (query: string) =>
    (await h.api("GET", `/admin/v1/tenants?${query}`)).body.items.map((t: { id: string }) => t.id);
  assert.deepEqual(await ids("q=alpha"), ["find-alpha", "find-beta"]);
  assert.deepEqual(await ids("q=GAMM"), ["find-gamma"]);
  assert.deepEqual(await ids("q=%25"), [], "% is text, not a pattern");
  const first = await h.api("GET", "/admin/v1/tenants?q=alpha&limit=1");
  assert.deepEqual(
    first.body.items.map((t: { id: string }) => t.id),
    ["find-alpha"],
  );
  assert.deepEqual(await ids(`q=alpha&limit=1&cursor=${first.body.nextCursor}`), ["find-beta"]);
  for (const bad of ["q=", `q=${"x".repeat(65)}`]) {
    const res = await h.api("GET", `/admin/v1/tenants?${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION", bad);
  }
});

test("keys: issued once in clear, listed without secrets, revoked idempotently", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "keys-co", name: "Keys" });
  const issued = await h.api("POST", "/admin/v1/tenants/keys-co/keys", {
    name: "ci",
    scopes: ["manage", "invoke"],
  });
  assert.equal(issued.status, 201);
  assert.match(issued.body.key, /^crl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(issued.body.scopes, ["invoke", "manage"]);
  const defaults = await h.api("POST", "/admin/v1/tenants/keys-co/keys", {});
  assert.deepEqual(defaults.body.scopes, ["invoke"]);

  const list = await h.api("GET", "/admin/v1/tenants/keys-co/keys");
  assert.equal(list.body.items.length, 2);
  assert.ok(!JSON.stringify(list.body).includes(issued.body.key), "the key is never listed");
  assert.ok(!JSON.stringify(list.body).includes("hash"));
  assert.deepEqual(Object.keys(list.body.items[0]).sort(), [
    "createdAt",
    "id",
    "name",
    "quota",
    "revokedAt",
    "scopes",
    "tenantId",
  ]);

  const stored = await h.cp.pool.query("SELECT hash FROM api_keys WHERE id = $1", [issued.body.id]);
  assert.equal(stored.rows[0].hash.length, 32);
  assert.ok(!stored.rows[0].hash.toString("latin1").includes(issued.body.key));

  assert.equal((await h.api("DELETE", `/admin/v1/tenants/keys-co/keys/${issued.body.id}`)).status, 204);
  assert.equal((await h.api("DELETE", `/admin/v1/tenants/keys-co/keys/${issued.body.id}`)).status, 204);
  const after = await h.api("GET", "/admin/v1/tenants/keys-co/keys");
  assert.ok(after.body.items.find((k: { id: string }) => k.id === issued.body.id).revokedAt);
  assert.equal((await h.api("DELETE", "/admin/v1/tenants/keys-co/keys/000000000000")).status, 404);
  assert.equal((await h.api("GET", "/admin/v1/tenants/nobody/keys")).status, 404);
  assert.equal((await h.api("POST", "/admin/v1/tenants/nobody/keys", {})).status, 404);
});

test("upstreams and routes: create, list, get, delete; an upstream in use cannot go", async () => {
  await h.api("POST", "/admin/v1/tenants", {
    id: "shop",
    name: "Shop",
    egressAllow: egressAllowFor("127.0.0.1:9001", "127.0.0.1:9002", "x:1"),
  });
  const up = await h.api("POST", "/admin/v1/tenants/shop/upstreams", {
    name: "catalog",
    targets: ["http://127.0.0.1:9001/", "127.0.0.1:9002"],
    connectTimeoutMs: 250,
  });
  assert.equal(up.status, 201);
  assert.deepEqual(up.body.targets, ["http://127.0.0.1:9001", "127.0.0.1:9002"]);
  assert.equal(up.body.connectTimeoutMs, 250);
  assert.equal(
    (await h.api("POST", "/admin/v1/tenants/shop/upstreams", { name: "catalog", targets: ["x:1"] })).status,
    409,
  );

  const route = await h.api("POST", "/admin/v1/tenants/shop/routes", {
    pathPrefix: "/catalog",
    hosts: ["shop.example.com"],
    methods: ["GET", "POST"],
    upstreamId: up.body.id,
    stripPrefix: true,
  });
  assert.equal(route.status, 201);
  assert.equal(route.body.timeoutMs, 15000);
  assert.equal(route.body.protocol, "http");
  assert.equal(route.body.stripPrefix, true);
  // streaming settings: unset ones are 0 (the node's default), set ones kept, bounds enforced
  assert.equal(route.body.websocket, false);
  assert.equal(route.body.websocketMaxConnections, 0);
  const live = await h.api("POST", "/admin/v1/tenants/shop/routes", {
    pathPrefix: "/live",
    upstreamId: up.body.id,
    websocket: true,
    websocketIdleTimeoutMs: 60_000,
    websocketMaxConnections: 50,
    websocketMaxMessageBytes: 65_536,
    streamIdleTimeoutMs: 120_000,
  });
  assert.equal(live.status, 201);
  assert.deepEqual(
    [live.body.websocket, live.body.websocketIdleTimeoutMs, live.body.websocketMaxConnections],
    [true, 60_000, 50],
  );
  assert.deepEqual([live.body.websocketMaxMessageBytes, live.body.streamIdleTimeoutMs], [65_536, 120_000]);
  for (const bad of [
    { websocketMaxMessageBytes: 64 * 1024 * 1024 },
    { websocketMaxConnections: 0 },
    { websocketIdleTimeoutMs: 10 },
    { streamIdleTimeoutMs: 7_200_000 },
  ]) {
    const refused = await h.api("POST", "/admin/v1/tenants/shop/routes", {
      pathPrefix: "/bad",
      upstreamId: up.body.id,
      ...bad,
    });
    assert.equal(refused.status, 400, JSON.stringify(bad));
  }
  assert.equal((await h.api("DELETE", `/admin/v1/tenants/shop/routes/${live.body.id}`)).status, 204);
  assert.deepEqual((await h.api("GET", `/admin/v1/tenants/shop/routes/${route.body.id}`)).body, route.body);
  assert.deepEqual((await h.api("GET", "/admin/v1/tenants/shop/routes")).body.items, [route.body]);
  assert.deepEqual((await h.api("GET", "/admin/v1/tenants/shop/upstreams")).body.items, [up.body]);

  const missing = await h.api("POST", "/admin/v1/tenants/shop/routes", {
    pathPrefix: "/x",
    upstreamId: "up_0000000000000000",
  });
  assert.equal(missing.status, 400);
  assert.match(missing.body.detail, /upstream up_0000000000000000 does not exist in tenant shop/);

  const inUse = await h.api("DELETE", `/admin/v1/tenants/shop/upstreams/${up.body.id}`);
  assert.equal(inUse.status, 409);
  assert.equal(inUse.body.code, "CORRAL_ADMIN_IN_USE");
  assert.equal((await h.api("DELETE", `/admin/v1/tenants/shop/routes/${route.body.id}`)).status, 204);
  assert.equal((await h.api("GET", `/admin/v1/tenants/shop/routes/${route.body.id}`)).status, 404);
  assert.equal((await h.api("DELETE", `/admin/v1/tenants/shop/upstreams/${up.body.id}`)).status, 204);
  assert.equal((await h.api("GET", `/admin/v1/tenants/shop/upstreams/${up.body.id}`)).status, 404);
});

test("deleting a tenant removes its keys, routes and upstreams", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "doomed", name: "Doomed", egressAllow: ["127.0.0.1:1"] });
  const up = await h.api("POST", "/admin/v1/tenants/doomed/upstreams", {
    name: "a",
    targets: ["http://127.0.0.1:1"],
  });
  await h.api("POST", "/admin/v1/tenants/doomed/routes", { pathPrefix: "/", upstreamId: up.body.id });
  await h.api("POST", "/admin/v1/tenants/doomed/keys", {});
  assert.equal((await h.api("DELETE", "/admin/v1/tenants/doomed")).status, 204);
  for (const table of ["api_keys", "routes", "upstreams"]) {
    const { rows } = await h.cp.pool.query(
      `SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = 'doomed'`,
    );
    assert.equal(rows[0].n, 0, table);
  }
});

test("ops endpoints: /healthz, /readyz and /metrics answer without a token", async () => {
  const health = await fetch(`${h.cp.url}/healthz`);
  assert.equal(health.status, 200);
  const ready = await fetch(`${h.cp.url}/readyz`);
  assert.deepEqual([ready.status, await ready.json()], [200, { status: "ready" }]);
  const metrics = await (await fetch(`${h.cp.url}/metrics`)).text();
  assert.match(
    metrics,
    /^corral_http_requests_total\{method="POST",route="\/admin\/v1\/tenants",status="201"\} \d+$/m,
  );
  assert.match(metrics, /^corral_snapshot_usage_ratio \d/m);
  assert.match(metrics, /^corral_process_cpu_seconds_total /m);
  const names = [...metrics.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
  assert.ok(
    names.every((n) => n.startsWith("corral_")),
    names.filter((n) => !n.startsWith("corral_")).join(),
  );
  const unknown = await fetch(`${h.cp.url}/nope`);
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { code: string }).code, "CORRAL_ADMIN_NOT_FOUND");
});

test("with the database gone the admin API answers 503 problem+json, /readyz fails, /healthz stays up", async () => {
  await h.pg.stop();
  const res = await h.api("GET", "/admin/v1/tenants");
  assert.equal(res.status, 503);
  assert.equal(res.body.code, "CORRAL_CP_UNAVAILABLE");
  const ready = await fetch(`${h.cp.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { code: string }).code, "CORRAL_CP_NOT_READY");
  assert.equal((await fetch(`${h.cp.url}/healthz`)).status, 200);
});
