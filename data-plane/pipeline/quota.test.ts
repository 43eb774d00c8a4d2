import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { Limits, type Quota } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { DemandCounter } from "../demand/demand-counter.ts";
import type { PlainKey } from "../model/plain-config.ts";
import { createAdmissionMetrics } from "../ops/admission-metrics.ts";
import type { TenantEntry } from "../router/live-config.ts";
import { NodeAdmission } from "./node-admission.ts";
import { quotaStage } from "./quota.ts";
import type { RequestContext } from "./stage.ts";

const HOUR = 3_600_000;

function node(clock: { now: number }) {
  const admission = new NodeAdmission({
    monotonic: () => clock.now,
    now: () => clock.now,
    random: () => 0.5,
    load: () => ({ inFlight: 0, eventLoopDelayMs: 0 }),
    demand: new DemandCounter(),
    metrics: createAdmissionMetrics(new Registry(), { eventLoopDelayMs: () => 0, shedPressure: () => 0 }),
  });
  return { admission, stage: quotaStage(admission) };
}

function tenant(
  quota: Quota | undefined,
  keys: PlainKey[] = [{ id: "k1", invoke: true }],
  shard = ["dp-0"],
): TenantEntry {
  return {
    id: "acme",
    status: "active",
    plan: "standard",
    limits: Limits.fromPartial({ quota }),
    shard,
    keys,
    routes: undefined as unknown as TenantEntry["routes"],
    checkedUpstreams: [],
  };
}

function run(stage: ReturnType<typeof quotaStage>, t: TenantEntry, keyId = "k1", responseHeaders = {}) {
  const ctx = {
    method: "GET",
    host: "",
    path: "/",
    url: "/",
    headers: {},
    remoteAddress: "127.0.0.1",
    proto: "http",
    receivedAt: 0,
    responseHeaders: { ...responseHeaders },
    onFinish: [],
    tenant: t,
    keyId,
  } satisfies RequestContext;
  return { rejection: stage.run(ctx), headers: ctx.responseHeaders as Record<string, string> };
}

test("a monthly quota with an offset: Retry-After runs to the shifted month end, and the next period starts afresh", () => {
  const clock = { now: Date.parse("2028-02-29T20:00:00Z") };
  const { stage } = node(clock);
  const t = tenant({ limit: 2, period: "month", offsetMs: 12 * HOUR }); // months from the 1st 12:00 UTC
  assert.equal(run(stage, t).rejection, undefined);
  const admitted = run(stage, t);
  assert.equal(admitted.headers.ratelimit, `"quota";r=0;t=${16 * 3600}`);
  assert.equal(admitted.headers["ratelimit-policy"], `"quota";q=2;w=${29 * 24 * 3600}`);
  const refused = run(stage, t).rejection as { code: string; headers: Record<string, string> };
  assert.equal(refused.code, "CORRAL_DP_QUOTA");
  assert.equal(refused.headers["retry-after"], String(16 * 3600), "until March 1st 12:00 UTC");
  clock.now = Date.parse("2028-03-01T12:00:00Z");
  assert.equal(run(stage, t).rejection, undefined, "a new period");
});

test("the quota item goes beside the bucket's; no quota, no item", () => {
  const { stage } = node({ now: Date.parse("2026-12-08T10:00:00Z") });
  const bucket = { ratelimit: '"default";r=4;t=1', "ratelimit-policy": '"default";q=10;w=1' };
  const { headers } = run(stage, tenant({ limit: 5, period: "hour", offsetMs: 0 }), "k1", bucket);
  assert.deepEqual(headers, {
    ratelimit: '"default";r=4;t=1, "quota";r=4;t=3600',
    "ratelimit-policy": '"default";q=10;w=1, "quota";q=5;w=3600',
  });
  assert.deepEqual(run(stage, tenant(undefined), "k1", bucket).headers, bucket);
  assert.deepEqual(
    run(stage, tenant({ limit: 0, period: "hour", offsetMs: 0 })).headers,
    {},
    "limit 0 is unset",
  );
});

test("a changed limit keeps the period's count", () => {
  const { stage } = node({ now: Date.parse("2026-12-08T10:00:00Z") });
  for (let i = 0; i < 3; i++)
    assert.equal(run(stage, tenant({ limit: 5, period: "day", offsetMs: 0 })).rejection, undefined);
  assert.ok(run(stage, tenant({ limit: 3, period: "day", offsetMs: 0 })).rejection, "3 used of the new 3");
  assert.equal(run(stage, tenant({ limit: 4, period: "day", offsetMs: 0 })).rejection, undefined);
});

test("a key's quota: the tighter one shows; a key id a store key cannot carry is counted on the node only", () => {
  const { admission, stage } = node({ now: Date.parse("2026-12-08T10:00:00Z") });
  const keys = [{ id: "odd.key", invoke: true, quota: { limit: 2, period: "day", offsetMs: 0 } }];
  const t = tenant({ limit: 100, period: "day", offsetMs: 0 }, keys);
  assert.match(run(stage, t, "odd.key").headers.ratelimit!, /^"quota";r=1;/);
  assert.ok(run(stage, t, "odd.key").rejection === undefined);
  const refused = run(stage, t, "odd.key").rejection as { detail: string };
  assert.match(refused.detail, /key's quota of 2/);
  const flushed = admission.quotas.beginFlush(Date.parse("2026-12-08T10:00:00Z"))!;
  assert.deepEqual(
    flushed.map((i) => [i.key, i.add]),
    [[`corral:quota:acme:t:${Date.parse("2026-12-08T00:00:00Z")}`, 2]],
    "the tenant's counter goes to the store, the odd key's does not",
  );
});

test("without the store, a member of a shard of k admits its share", () => {
  const { stage } = node({ now: Date.parse("2026-12-08T10:00:00Z") });
  const t = tenant({ limit: 9, period: "day", offsetMs: 0 }, undefined, ["dp-0", "dp-1", "dp-2"]);
  const outcomes = Array.from({ length: 5 }, () => run(stage, t).rejection === undefined);
  assert.deepEqual(outcomes, [true, true, true, false, false]);
});
