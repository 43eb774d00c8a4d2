import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { parsePrivateKey } from "../../proto/signing-keys.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { placementSeed } from "../../control-plane/fleet/placement-seed.ts";
import { createOperatorToken } from "../../control-plane/store/operator-tokens.ts";
import { type Harness, startHarness } from "../control-plane/harness.ts";
import { insertTenants, settledSnapshot } from "./support.ts";

const SEED = "placement-seed-for-tests-0123456789";
const ZONES = ["zone-a", "zone-b", "zone-c"];
const TENANTS = 500;
let h: Harness;
let snapshot: Snapshot;
let asViewer: Record<string, string>;

before(async () => {
  h = await startHarness({}, { CORRAL_PLACEMENT_SEED: SEED, CORRAL_PLACEMENT_STRICT: "true" });
  for (let i = 0; i < 12; i++) await h.api("PUT", `/admin/v1/slots/dp-${i}`, { zone: ZONES[i % 3] });
  await insertTenants(h, "bulk", TENANTS - 1);
  await h.api("POST", "/admin/v1/tenants", { id: "solo", name: "Solo", limits: { shardSize: 1 } });
  snapshot = await settledSnapshot(h);
  const viewer = await createOperatorToken(h.cp.pool, { name: "placement-viewer", role: "viewer" });
  asViewer = { authorization: `Bearer ${viewer.token}` };
});
after(() => h.close());

const zoneOf = (slot: string) => snapshot.slots.find((s) => s.name === slot)!.zone;

test("the published snapshot carries every tenant's shard, zone-spread, and strict mode", () => {
  assert.equal(snapshot.tenants.length, TENANTS);
  assert.equal(snapshot.slots.length, 12);
  assert.equal(snapshot.settings!.strictPlacement, true);
  for (const t of snapshot.tenants) {
    const k = t.id === "solo" ? 1 : 3;
    assert.equal(t.shard.length, k, t.id);
    assert.equal(new Set(t.shard.map(zoneOf)).size, k, `${t.id}: one member per zone`);
  }
});

test("GET /tenants/{id}/placement equals the shard in the published snapshot (viewer may read)", async () => {
  const sample = snapshot.tenants.filter((_, i) => i % 10 === 0 || i === TENANTS - 1);
  for (const t of sample) {
    const res = await h.api("GET", `/admin/v1/tenants/${t.id}/placement`, undefined, asViewer);
    assert.equal(res.status, 200);
    assert.equal(res.body.tenant, t.id);
    assert.deepEqual(
      res.body.shard.map((m: { slot: string }) => m.slot),
      t.shard,
      t.id,
    );
    assert.deepEqual(
      res.body.shard.map((m: { zone: string; live: boolean }) => [m.zone, m.live]),
      t.shard.map((s) => [zoneOf(s), false]),
    );
    assert.equal(res.body.k, t.shard.length);
    assert.equal(res.body.n, 12);
  }
  const seed = placementSeed(SEED, parsePrivateKey(h.env.CORRAL_SIGNING_KEY!));
  const derived = placementSeed("", parsePrivateKey(h.env.CORRAL_SIGNING_KEY!));
  const one = await h.api("GET", "/admin/v1/tenants/solo/placement");
  assert.equal(one.body.seedFingerprint, seed.fingerprint);
  assert.notEqual(seed.fingerprint, derived.fingerprint);
  assert.ok(!JSON.stringify(one.body).includes(SEED));
});

test("a tenant's placement is only under its own path: other paths are 404 or 400", async () => {
  const cases: Array<[string, number]> = [
    ["/admin/v1/tenants/no-such-tenant/placement", 404],
    ["/admin/v1/tenants/solo/placement/bulk-00001", 404],
    ["/admin/v1/tenants/solo/keys/placement", 404],
    ["/admin/v1/tenants/Solo/placement", 400],
    ["/admin/v1/tenants/solo%2Fbulk-00001/placement", 400],
  ];
  for (const [path, status] of cases) {
    const res = await h.api("GET", path);
    assert.equal(res.status, status, path);
    assert.ok(!JSON.stringify(res.body).includes('"shard"'), path);
  }
  const smuggled = await h.api("GET", "/admin/v1/tenants/solo/placement?tenant=bulk-00001");
  assert.equal(smuggled.body.tenant, "solo", "the path alone names the tenant");
  assert.equal(
    (await h.api("GET", "/admin/v1/tenants/solo/placement", undefined, { authorization: "" })).status,
    401,
  );
});

test("analysis: N, k distribution, slot loads and overlap match the snapshot and the theory", async () => {
  const res = await h.api("GET", "/admin/v1/placement/analysis", undefined, asViewer);
  assert.equal(res.status, 200);
  const a = res.body;
  assert.equal(a.n, 12);
  assert.deepEqual(
    a.zones,
    ZONES.map((zone) => ({ zone, slots: 4 })),
  );
  assert.equal(a.tenants, TENANTS);
  assert.deepEqual(a.shardSizes, [
    { k: 1, tenants: 1 },
    { k: 3, tenants: TENANTS - 1 },
  ]);
  const loads = new Map<string, number>();
  for (const t of snapshot.tenants) for (const s of t.shard) loads.set(s, (loads.get(s) ?? 0) + 1);
  assert.deepEqual(
    a.slots.map((s: { slot: string; tenants: number }) => [s.slot, s.tenants]),
    snapshot.slots.map((s) => [s.name, loads.get(s.name) ?? 0]),
  );
  const mean = (3 * (TENANTS - 1) + 1) / 12;
  assert.ok(Math.abs(a.slotLoad.mean - mean) < 1e-9);
  assert.ok(a.slotLoad.max <= mean * 1.25 && a.slotLoad.min >= mean * 0.75, JSON.stringify(a.slotLoad));

  const { overlap } = a;
  assert.equal(overlap.pairs, 20_000);
  assert.equal(overlap.sampled, true);
  const sum = (key: string) =>
    overlap.distribution.reduce((s: number, r: Record<string, number>) => s + r[key]!, 0);
  for (const key of ["fraction", "hypergeometric", "zoneSpread"])
    assert.ok(Math.abs(sum(key) - 1) < 1e-9, key);
  // theory is averaged pair by pair; the few pairs with the k = 1 tenant (~0.4 %) shift it slightly
  assert.ok(Math.abs(overlap.distribution[0].hypergeometric - 84 / 220) < 0.003, "C(9,3)/C(12,3)");
  assert.ok(Math.abs(overlap.fullOverlap.zoneSpread - 1 / 64) < 0.003, "one per zone: (1/4)^3");
  assert.ok(Math.abs(overlap.fullOverlap.hypergeometric - 1 / 220) < 0.003, "1/C(12,3)");
  for (const row of overlap.distribution) {
    const p = row.zoneSpread;
    const tolerance = 5 * Math.sqrt((p * (1 - p)) / overlap.pairs) + 0.002;
    assert.ok(Math.abs(row.fraction - p) <= tolerance, `overlap ${row.overlap}: ${row.fraction} vs ${p}`);
  }
});

test("analysis: the tenants that lose their whole shard when given slots die", async () => {
  const failed = ["dp-0", "dp-1", "dp-2"];
  const res = await h.api("GET", `/admin/v1/placement/analysis?failed=${failed.join(",")}`);
  assert.equal(res.status, 200);
  const expected = snapshot.tenants.filter((t) => t.shard.every((s) => failed.includes(s))).map((t) => t.id);
  assert.ok(expected.length > 0, "with 500 tenants some shard is exactly one of these slots per zone");
  assert.deepEqual(res.body.failure, {
    failedSlots: failed,
    tenantsLosingWholeShard: expected,
    count: expected.length,
    truncated: false,
  });
  const zoneDown = ["dp-0", "dp-3", "dp-6", "dp-9"];
  const zoneLoss = (await h.api("GET", `/admin/v1/placement/analysis?failed=${zoneDown.join(",")}`)).body;
  const soloDies = zoneDown.includes(snapshot.tenants.find((t) => t.id === "solo")!.shard[0]!);
  assert.equal(zoneLoss.failure.count, soloDies ? 1 : 0, "a whole zone down costs only k = 1 tenants");
});

test("analysis refuses unknown or malformed failed slots with 400", async () => {
  for (const [query, expected] of [
    ["failed=dp-0,dp-99", /querystring\/failed .*dp-99/],
    ["failed=dp-0,,dp-1", /querystring\/failed must match pattern/],
    ["failed=dp%200", /querystring\/failed must match pattern/],
    ["other=1", /additional properties/],
  ] as const) {
    const res = await h.api("GET", `/admin/v1/placement/analysis?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION");
    assert.match(res.body.detail, expected, query);
  }
});

test("the OpenAPI document lists the placement and limits routes", async () => {
  const doc = (await h.api("GET", "/admin/v1/openapi.json")).body;
  const present = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops as object).map((m) => `${m} ${path}`),
  );
  for (const op of [
    "get /admin/v1/slots",
    "get /admin/v1/slots/{name}",
    "put /admin/v1/slots/{name}",
    "delete /admin/v1/slots/{name}",
    "get /admin/v1/plans",
    "put /admin/v1/plans/{name}",
    "delete /admin/v1/plans/{name}",
    "get /admin/v1/settings/admission",
    "put /admin/v1/settings/admission",
    "get /admin/v1/tenants/{tenantId}/placement",
    "get /admin/v1/placement/analysis",
  ]) {
    assert.ok(present.includes(op), op);
  }
  assert.equal(doc.paths["/admin/v1/plans/{name}"].put["x-corral-role"], "admin");
  assert.equal(
    doc.paths["/admin/v1/plans/{name}"].put.requestBody.content["application/json"].schema
      .additionalProperties,
    false,
  );
});
