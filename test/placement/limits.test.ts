import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Harness, startHarness } from "../control-plane/harness.ts";
import { settledSnapshot, tableCounts } from "./support.ts";

let h: Harness;
let upstreamId: string;

before(async () => {
  h = await startHarness();
  for (const [i, zone] of ["zone-a", "zone-b", "zone-c"].entries()) {
    for (const j of [0, 1]) await h.api("PUT", `/admin/v1/slots/dp-${i * 2 + j}`, { zone });
  }
  await h.api("POST", "/admin/v1/tenants", { id: "holder", name: "Holder", egressAllow: ["127.0.0.1:1"] });
  upstreamId = (
    await h.api("POST", "/admin/v1/tenants/holder/upstreams", { name: "u", targets: ["http://127.0.0.1:1"] })
  ).body.id;
});
after(() => h.close());

const tenantIn = async (id: string) => (await settledSnapshot(h)).tenants.find((t) => t.id === id)!;

test("plans: list with tenant counts, create, replace, and their tenants follow", async () => {
  const list = await h.api("GET", "/admin/v1/plans");
  assert.deepEqual(
    list.body.items.map((p: { name: string; shardSize: number }) => [p.name, p.shardSize]),
    [
      ["enterprise", 5],
      ["free", 2],
      ["standard", 3],
    ],
  );
  assert.equal(list.body.items.find((p: { name: string }) => p.name === "standard").tenants, 1);
  const body = { rate: 50, burst: 75, concurrency: 20, priority: "critical", shardSize: 4 };
  const created = await h.api("PUT", "/admin/v1/plans/gold", body);
  assert.equal(created.status, 201);
  const defaultQuotas = {
    maxRoutes: 100,
    maxUpstreams: 100,
    maxKeys: 50,
    maxTargets: 500,
    maxConfigBytes: 262144,
  };
  assert.deepEqual(created.body, { name: "gold", ...body, quotas: defaultQuotas, quota: null, tenants: 0 });
  await h.api("POST", "/admin/v1/tenants", { id: "on-gold", name: "On gold", plan: "gold" });
  let limits = (await tenantIn("on-gold")).limits!;
  assert.deepEqual(
    [limits.rate, limits.burst, limits.concurrency, limits.priority],
    [50, 75, 20, "critical"],
  );
  const replaced = await h.api("PUT", "/admin/v1/plans/gold", { ...body, rate: 60, shardSize: 2 });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.tenants, 1);
  limits = (await tenantIn("on-gold")).limits!;
  assert.deepEqual([limits.rate, limits.shardSize], [60, 2]);
  assert.equal((await h.api("GET", "/admin/v1/plans/gold")).body.rate, 60);
  assert.equal((await h.api("GET", "/admin/v1/plans/tin")).status, 404);
});

test("a plan in use cannot be deleted (409); an unused one can", async () => {
  const inUse = await h.api("DELETE", "/admin/v1/plans/gold");
  assert.equal(inUse.status, 409);
  assert.equal(inUse.body.code, "CORRAL_ADMIN_IN_USE");
  assert.match(inUse.body.detail, /used by 1 tenant/);
  await h.api("PUT", "/admin/v1/plans/spare", {
    rate: 0,
    burst: 0,
    concurrency: 0,
    priority: "batch",
    shardSize: 1,
  });
  assert.equal((await h.api("DELETE", "/admin/v1/plans/spare")).status, 204);
  assert.equal((await h.api("DELETE", "/admin/v1/plans/spare")).status, 404);
});

test("shard sizes follow the plan and the tenant's override, capped by the fleet size", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "k-free", name: "x", plan: "free" });
  await h.api("POST", "/admin/v1/tenants", { id: "k-ent", name: "x", plan: "enterprise" });
  await h.api("POST", "/admin/v1/tenants", {
    id: "k-over",
    name: "x",
    plan: "free",
    limits: { shardSize: 4 },
  });
  await h.api("POST", "/admin/v1/tenants", { id: "k-big", name: "x", limits: { shardSize: 40 } });
  const snapshot = await settledSnapshot(h);
  const shard = (id: string) => snapshot.tenants.find((t) => t.id === id)!;
  assert.equal(snapshot.slots.length, 6);
  assert.deepEqual(
    ["k-free", "k-ent", "k-over", "k-big"].map((id) => [shard(id).shard.length, shard(id).limits!.shardSize]),
    [
      [2, 2],
      [5, 5],
      [4, 4],
      [6, 40],
    ],
  );
  const zones = new Set(shard("k-ent").shard.map((s) => snapshot.slots.find((x) => x.name === s)!.zone));
  assert.equal(zones.size, 3, "five members spread over all three zones");
  await h.api("PATCH", "/admin/v1/tenants/k-over", { limits: { shardSize: null } });
  assert.equal((await tenantIn("k-over")).shard.length, 2, "cleared override: the plan's k again");
  await h.api("PATCH", "/admin/v1/tenants/k-free", { plan: "enterprise" });
  assert.equal((await tenantIn("k-free")).shard.length, 5);
  const placement = await h.api("GET", "/admin/v1/tenants/k-big/placement");
  assert.deepEqual([placement.body.k, placement.body.configuredK, placement.body.n], [6, 40, 6]);
});

test("shadow mode and kill switch per tenant, and route buckets, travel in the snapshot", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "switches", name: "x", limits: { shadow: true } });
  let t = await tenantIn("switches");
  assert.deepEqual([t.limits!.shadow, t.limits!.disabled], [true, false]);
  const patched = await h.api("PATCH", "/admin/v1/tenants/switches", {
    limits: { shadow: null, disabled: true },
  });
  assert.deepEqual(patched.body.limits, { disabled: true });
  t = await tenantIn("switches");
  assert.deepEqual([t.limits!.shadow, t.limits!.disabled], [false, true]);

  const route = await h.api("POST", "/admin/v1/tenants/holder/routes", {
    pathPrefix: "/limited",
    upstreamId,
    limits: { rate: 5, burst: 10 },
  });
  assert.equal(route.status, 201);
  assert.deepEqual(route.body.limits, { rate: 5, burst: 10 });
  const plain = await h.api("POST", "/admin/v1/tenants/holder/routes", { pathPrefix: "/open", upstreamId });
  assert.equal(plain.body.limits, null);
  const routes = (await tenantIn("holder")).routes;
  const limited = routes.find((r) => r.id === route.body.id)!;
  assert.deepEqual([limited.limits!.rate, limited.limits!.burst], [5, 10]);
  assert.equal(routes.find((r) => r.id === plain.body.id)!.limits, undefined);
});

test("admission settings: defaults until set, PUT replaces, the snapshot carries them", async () => {
  const defaults = await h.api("GET", "/admin/v1/settings/admission");
  assert.deepEqual(defaults.body, {
    maxInflight: 0,
    maxEventLoopDelayMs: 0,
    shedShadow: false,
    shedDisabled: false,
    rateShadow: false,
    rateDisabled: false,
    quotaShadow: false,
    quotaDisabled: false,
    updatedAt: null,
  });
  const put = await h.api("PUT", "/admin/v1/settings/admission", {
    maxInflight: 800,
    shedShadow: true,
    rateDisabled: true,
  });
  assert.equal(put.status, 200);
  assert.ok(put.body.updatedAt);
  const settings = (await settledSnapshot(h)).settings!;
  assert.equal(settings.strictPlacement, false);
  assert.deepEqual(settings.admission, {
    maxInflight: 800,
    maxEventLoopDelayMs: 0,
    shedShadow: true,
    shedDisabled: false,
    rateShadow: false,
    rateDisabled: true,
    quotaShadow: false,
    quotaDisabled: false,
  });
  await h.api("PUT", "/admin/v1/settings/admission", { maxEventLoopDelayMs: 200 });
  const again = (await h.api("GET", "/admin/v1/settings/admission")).body;
  assert.deepEqual([again.maxInflight, again.maxEventLoopDelayMs, again.shedShadow], [0, 200, false]);
});

test("nonsense limits get 400 naming the field, and change nothing", async () => {
  await h.api("PUT", "/admin/v1/plans/zero", {
    rate: 0,
    burst: 0,
    concurrency: 0,
    priority: "batch",
    shardSize: 1,
  });
  const ok = await h.api("POST", "/admin/v1/tenants", {
    id: "uncovered",
    name: "x",
    plan: "zero",
    limits: { burst: 0.5 },
  });
  assert.equal(ok.status, 201, "a burst below 1 is fine while the rate is 0");
  await h.cp.publisher.idle();
  const plan = { rate: 10, burst: 20, concurrency: 5, priority: "standard", shardSize: 3 };
  const raw = (text: string) => text;
  const cases: Array<[string, string, unknown, RegExp]> = [
    ["PUT", "/plans/gold", { ...plan, rate: -1 }, /body\/rate must be >= 0/],
    ["PUT", "/plans/gold", { ...plan, rate: 1_000_001 }, /body\/rate must be <= 1000000/],
    ["PUT", "/plans/gold", { ...plan, rate: "10" }, /body\/rate must be number/],
    [
      "PUT",
      "/plans/gold",
      raw(JSON.stringify(plan).replace('"rate":10', '"rate":1e400')),
      /body\/rate must be number/,
    ],
    ["PUT", "/plans/gold", { ...plan, burst: 10_000_001 }, /body\/burst must be <= 10000000/],
    ["PUT", "/plans/gold", { ...plan, burst: 0 }, /body\/burst must be >= 1/],
    ["PUT", "/plans/gold", { ...plan, burst: 0.5 }, /body\/burst must be >= 1/],
    ["PUT", "/plans/gold", { ...plan, concurrency: 1.5 }, /body\/concurrency must be integer/],
    ["PUT", "/plans/gold", { ...plan, concurrency: 100_001 }, /body\/concurrency must be <= 100000/],
    ["PUT", "/plans/gold", { ...plan, concurrency: -1 }, /body\/concurrency must be >= 0/],
    ["PUT", "/plans/gold", { ...plan, shardSize: 0 }, /body\/shardSize must be >= 1/],
    ["PUT", "/plans/gold", { ...plan, shardSize: 65 }, /body\/shardSize must be <= 64/],
    ["PUT", "/plans/gold", { ...plan, priority: "urgent" }, /body\/priority must be equal to one of/],
    ["PUT", "/plans/gold", { ...plan, shardSize: undefined }, /must have required property 'shardSize'/],
    ["PUT", "/plans/gold", { ...plan, weight: 1 }, /additional properties \(weight\)/],
    ["PUT", "/plans/Gold%21", plan, /params\/name must match pattern/],
    ["PUT", "/plans/zero", { ...plan, rate: 10 }, /body\/rate would leave tenants on plan zero .*uncovered/],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { rate: 2e6 } },
      /body\/limits\/rate must be <= 1000000/,
    ],
    ["POST", "/tenants", { id: "t1", name: "x", limits: { burst: -1 } }, /body\/limits\/burst must be >= 0/],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { concurrency: 1e6 } },
      /body\/limits\/concurrency must be <= 100000/,
    ],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { shardSize: 0 } },
      /body\/limits\/shardSize must be >= 1/,
    ],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { shardSize: 65 } },
      /body\/limits\/shardSize must be <= 64/,
    ],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { priority: "vip" } },
      /body\/limits\/priority must be equal to one of/,
    ],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", limits: { shadow: "yes" } },
      /body\/limits\/shadow must be boolean/,
    ],
    ["POST", "/tenants", { id: "t1", name: "x", limits: { speed: 1 } }, /additional properties \(speed\)/],
    [
      "POST",
      "/tenants",
      { id: "t1", name: "x", plan: "zero", limits: { rate: 5 } },
      /body\/limits\/burst must be at least 1/,
    ],
    ["PATCH", "/tenants/holder", { limits: { burst: 0.5 } }, /body\/limits\/burst must be at least 1/],
    ["PATCH", "/tenants/uncovered", { limits: { rate: 3 } }, /body\/limits\/burst must be at least 1/],
    ["PATCH", "/tenants/uncovered", { plan: "standard" }, /body\/limits\/burst must be at least 1/],
    [
      "POST",
      "/tenants/holder/routes",
      { pathPrefix: "/r", upstreamId: "", limits: { rate: 1, burst: 1 } },
      /body\/upstreamId/,
    ],
    [
      "POST",
      "/tenants/holder/routes",
      { pathPrefix: "/r", upstreamId: "UP", limits: { rate: 0, burst: 1 } },
      /body\/limits\/rate must be > 0/,
    ],
    [
      "POST",
      "/tenants/holder/routes",
      { pathPrefix: "/r", upstreamId: "UP", limits: { rate: 5 } },
      /body\/limits must have required property 'burst'/,
    ],
    [
      "POST",
      "/tenants/holder/routes",
      { pathPrefix: "/r", upstreamId: "UP", limits: { rate: 5, burst: 0.5 } },
      /body\/limits\/burst must be >= 1/,
    ],
    [
      "POST",
      "/tenants/holder/routes",
      { pathPrefix: "/r", upstreamId: "UP", limits: { rate: 2e6, burst: 5 } },
      /body\/limits\/rate must be <= 1000000/,
    ],
    ["PUT", "/settings/admission", { maxInflight: -1 }, /body\/maxInflight must be >= 0/],
    ["PUT", "/settings/admission", { maxInflight: 1.5 }, /body\/maxInflight must be integer/],
    ["PUT", "/settings/admission", { maxInflight: 2e6 }, /body\/maxInflight must be <= 1000000/],
    [
      "PUT",
      "/settings/admission",
      { maxEventLoopDelayMs: 60_001 },
      /body\/maxEventLoopDelayMs must be <= 60000/,
    ],
    ["PUT", "/settings/admission", { shedShadow: "true" }, /body\/shedShadow must be boolean/],
    ["PUT", "/settings/admission", { shed: false }, /additional properties \(shed\)/],
  ];
  const before = await tableCounts(h);
  const version = (await settledSnapshot(h)).version;
  for (const [method, path, body, expected] of cases) {
    const concrete =
      typeof body === "object"
        ? JSON.parse(JSON.stringify(body).replaceAll('"UP"', `"${upstreamId}"`))
        : body;
    const res = await h.api(method, `/admin/v1${path}`, concrete);
    const what = `${method} ${path} ${typeof body === "string" ? body : JSON.stringify(body)}`;
    assert.equal(res.status, 400, what);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION", what);
    assert.equal(res.headers.get("content-type"), "application/problem+json; charset=utf-8", what);
    assert.match(res.body.detail, expected, what);
  }
  assert.deepEqual(await tableCounts(h), before);
  assert.equal((await settledSnapshot(h)).version, version, "nothing was published");
});
