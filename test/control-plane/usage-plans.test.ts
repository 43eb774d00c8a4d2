/**
 * Usage plans on a real control plane and Postgres: a plan's period quota, the tenant's override
 * (a quota, "none" or back to the plan's) and a key's own quota go into the published snapshot
 * (Limits.quota, ApiKey.quota); offsets are ISO 8601 durations, checked against the period;
 * bad input is 400 and changes nothing; a plan's quota change publishes like any change.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import { runAdmin } from "../../bin/admin/admin-cli.ts";
import { LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { poll } from "../support/poll.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const capacity = () => Number(h.env.CORRAL_SNAPSHOT_CAPACITY);
async function latest() {
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  return decodeSnapshot(await h.blobs.get(pointer.key, capacity()), h.publicKey, capacity());
}
/** The snapshot once its tenant `id` passes `ok`. */
const published = (id: string, ok: (t: NonNullable<ReturnType<typeof find>>) => boolean) =>
  poll(`tenant ${id} as expected in the snapshot`, async () => {
    const t = find(await latest(), id);
    return t && ok(t) ? t : undefined;
  });
const find = (s: Awaited<ReturnType<typeof latest>>, id: string) => s.tenants.find((t) => t.id === id);

const PLAN = { rate: 100, burst: 200, concurrency: 0, priority: "standard", shardSize: 1 };

test("a plan's quota, a tenant's override and a key's quota reach the snapshot", async () => {
  const put = await h.api("PUT", "/admin/v1/plans/metered", {
    ...PLAN,
    quota: { limit: 1000, period: "month", offset: "P1DT2H" },
  });
  assert.equal(put.status, 201);
  assert.deepEqual(put.body.quota, { limit: 1000, period: "month", offset: "P1DT2H" });
  assert.equal(
    (await h.api("POST", "/admin/v1/tenants", { id: "m1", name: "m1", plan: "metered" })).status,
    201,
  );
  const key = await h.api("POST", "/admin/v1/tenants/m1/keys", { scopes: ["invoke"] });
  let t = await published("m1", (t) => t.limits?.quota !== undefined);
  assert.deepEqual(t.limits!.quota, { limit: 1000, period: "month", offsetMs: 26 * 3_600_000 });

  const patched = await h.api("PATCH", "/admin/v1/tenants/m1", {
    limits: { quota: { limit: 50, period: "minute" } },
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.limits.quota, { limit: 50, period: "minute", offset: "PT0S" });
  t = await published("m1", (t) => t.limits?.quota?.limit === 50);
  assert.equal(t.limits!.quota!.period, "minute");

  const keyQuota = await h.api("PATCH", `/admin/v1/tenants/m1/keys/${key.body.id}`, {
    quota: { limit: 7, period: "hour", offset: "PT30M" },
  });
  assert.equal(keyQuota.status, 200);
  assert.deepEqual(keyQuota.body.quota, { limit: 7, period: "hour", offset: "PT30M" });
  t = await published("m1", (t) => t.keys[0]?.quota !== undefined);
  assert.deepEqual(t.keys[0]!.quota, { limit: 7, period: "hour", offsetMs: 1_800_000 });

  assert.equal((await h.api("PATCH", "/admin/v1/tenants/m1", { limits: { quota: null } })).status, 200);
  t = await published("m1", (t) => t.limits?.quota === undefined);
  assert.equal((await h.api("GET", "/admin/v1/tenants/m1")).body.limits.quota, null, "explicitly none");

  assert.equal((await h.api("PATCH", "/admin/v1/tenants/m1", { limits: { quota: "plan" } })).status, 200);
  t = await published("m1", (t) => t.limits?.quota?.limit === 1000);
  assert.equal((await h.api("GET", "/admin/v1/tenants/m1")).body.limits.quota, undefined, "the plan's again");
});

test("changing a plan's quota publishes to its tenants; a PUT without quota keeps it", async () => {
  assert.equal(
    (await h.api("PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 5000, period: "day" } }))
      .status,
    200,
  );
  await published("m1", (t) => t.limits?.quota?.limit === 5000);
  const kept = await h.api("PUT", "/admin/v1/plans/metered", { ...PLAN, rate: 90 });
  assert.deepEqual(kept.body.quota, { limit: 5000, period: "day", offset: "PT0S" });
  const none = await h.api("PUT", "/admin/v1/plans/metered", { ...PLAN, quota: null });
  assert.equal(none.body.quota, null);
  await published("m1", (t) => t.limits?.quota === undefined);
});

test("bad quotas are 400 naming the field and change nothing", async () => {
  const before = (await h.api("GET", "/admin/v1/plans/metered")).body;
  const bad: [string, string, unknown][] = [
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "hour", offset: "PT1H" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "month", offset: "P28D" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "day", offset: "P1M" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "day", offset: "-PT1H" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 0, period: "day" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 1e13, period: "day" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "year" } }],
    ["PUT", "/admin/v1/plans/metered", { ...PLAN, quota: { limit: 10, period: "day", extra: 1 } }],
    ["PATCH", "/admin/v1/tenants/m1", { limits: { quota: { limit: 10, period: "week", offset: "P7D" } } }],
    ["PATCH", "/admin/v1/tenants/m1", { limits: { quota: "planx" } }],
    [
      "PATCH",
      "/admin/v1/tenants/m1/keys/000000000000",
      { quota: { limit: 1, period: "day", offset: "x".repeat(33) } },
    ],
  ];
  for (const [method, path, body] of bad) {
    const res = await h.api(method, path, body);
    assert.deepEqual([res.status, res.body.code], [400, "CORRAL_ADMIN_VALIDATION"], JSON.stringify(body));
  }
  assert.deepEqual((await h.api("GET", "/admin/v1/plans/metered")).body, before);
  const unknownKey = await h.api("PATCH", "/admin/v1/tenants/m1/keys/000000000000", { quota: null });
  assert.equal(unknownKey.status, 404);
});

test("corral admin puts a tenant on a plan with a monthly quota and reads its usage", async () => {
  const run = async (...argv: string[]) => {
    let out = "";
    let err = "";
    const io = {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
      env: { CORRAL_ADMIN_URL: h.cp.url, CORRAL_ADMIN_TOKEN: h.adminToken },
      cwd: tmpdir(),
    };
    const code = await runAdmin(argv, io);
    return { code, out: out ? JSON.parse(out) : undefined, err };
  };
  const created = await run(
    "plans",
    "set",
    "monthly",
    "--rate",
    "50",
    "--burst",
    "100",
    "--concurrency",
    "0",
    "--priority",
    "standard",
    "--shard-size",
    "1",
    "--quota",
    "1000/month@PT2H",
  );
  assert.equal(created.code, 0, created.err);
  assert.deepEqual(created.out.quota, { limit: 1000, period: "month", offset: "PT2H" });
  const raised = await run("plans", "set", "monthly", "--quota", "2000/month");
  assert.deepEqual([raised.out.rate, raised.out.quota.limit], [50, 2000], "other limits kept");
  assert.equal((await run("tenants", "create", "cli-co", "--plan", "monthly")).code, 0);
  const usage = await run("tenants", "usage", "cli-co", "--granularity", "day");
  assert.equal(usage.code, 0, usage.err);
  assert.deepEqual([usage.out.quota.limit, usage.out.quota.used, usage.out.granularity], [2000, 0, "day"]);
  const own = await run("tenants", "quota", "cli-co", "--quota", "none");
  assert.equal(own.out.limits.quota, null);
  assert.equal((await run("tenants", "quota", "cli-co", "--quota", "plan")).out.limits.quota, undefined);
  const bad = await run("plans", "set", "monthly", "--quota", "lots/month");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /LIMIT\/PERIOD/);
  const top = await run("usage", "top", "--period", "month");
  assert.deepEqual([top.code, top.out.period], [0, "month"]);
});

test("the fleet's quota shadow mode and kill switch travel in the snapshot's admission settings", async () => {
  const put = await h.api("PUT", "/admin/v1/settings/admission", { quotaShadow: true, quotaDisabled: true });
  assert.deepEqual([put.status, put.body.quotaShadow, put.body.quotaDisabled], [200, true, true]);
  await poll("the switches in the snapshot", async () => {
    const a = (await latest()).settings?.admission;
    return a?.quotaShadow === true && a.quotaDisabled === true;
  });
  assert.equal((await h.api("PUT", "/admin/v1/settings/admission", {})).body.quotaShadow, false);
});
