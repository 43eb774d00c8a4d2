import assert from "node:assert/strict";
import { test } from "node:test";
import { CorralError } from "../errors.ts";
import { assertFleetFits, assertWithinQuotas, exceededQuota, type Quotas, resolveQuotas } from "./quotas.ts";

const plan: Quotas = { maxRoutes: 10, maxUpstreams: 5, maxKeys: 3, maxTargets: 20, maxConfigBytes: 4096 };
const usage = { routes: 10, upstreams: 5, keys: 3, targets: 20, configBytes: 4096 };

test("a tenant's overrides win over its plan's quotas; null and absent mean the plan's", () => {
  assert.deepEqual(resolveQuotas(plan, { maxKeys: 7, maxRoutes: null }), { ...plan, maxKeys: 7 });
  assert.deepEqual(resolveQuotas(plan, {}), plan);
  assert.deepEqual(resolveQuotas(plan, { maxConfigBytes: 0 }), { ...plan, maxConfigBytes: 0 });
});

test("usage at a quota passes; one past it names that quota", () => {
  assert.equal(exceededQuota(usage, plan), undefined);
  assert.deepEqual(exceededQuota({ ...usage, targets: 21 }, plan), {
    quota: "maxTargets",
    limit: 20,
    used: 21,
  });
  assert.deepEqual(exceededQuota({ ...usage, configBytes: 4097 }, plan), {
    quota: "maxConfigBytes",
    limit: 4096,
    used: 4097,
  });
  assert.throws(
    () => assertWithinQuotas("acme", { ...usage, keys: 4 }, plan),
    (e: unknown) =>
      e instanceof CorralError &&
      e.code === "CORRAL_QUOTA_EXCEEDED" &&
      e.status === 507 &&
      e.extensions.quota === "maxKeys" &&
      /acme/.test(e.message),
  );
});

test("the fleet fits while the tenants' bytes plus the reserve stay within the payload bound", () => {
  assert.doesNotThrow(() => assertFleetFits(900, 100, 1000));
  assert.throws(
    () => assertFleetFits(901, 100, 1000),
    (e: unknown) =>
      e instanceof CorralError &&
      e.code === "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED" &&
      e.extensions.needed === 1001 &&
      /CORRAL_SNAPSHOT_MAX_PAYLOAD/.test(e.message),
  );
});
