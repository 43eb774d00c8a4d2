import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { REQUEST_ERRORS } from "../errors.ts";
import { type AdmissionDecision, isAdmit } from "./decision.ts";
import { dualBucketSpecs } from "./dual-bucket.ts";
import { RouteLimiter } from "./route-limiter.ts";
import { TenantLimiter } from "./tenant-limiter.ts";

const T0 = 1_700_000_000_000;
const admitted = (d: AdmissionDecision) => isAdmit(d);

function countAdmitted(
  limiter: TenantLimiter,
  limits: Parameters<TenantLimiter["admit"]>[1],
  times: number[],
) {
  return times.filter((t) => admitted(limiter.admit("acme", limits, t))).length;
}

test("a clump of `burst` passes after idling, then the sustained rate holds", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 10, burst: 30 };
  assert.equal(countAdmitted(limiter, limits, Array(50).fill(T0)), 30);
  const paced = Array.from({ length: 1000 }, (_, i) => T0 + (i + 1) * 10);
  assert.equal(countAdmitted(limiter, limits, paced), 100, "10 s at 100 req/s offered -> 10 req/s admitted");
});

test("a small burst limits clumps while evenly paced traffic at the rate passes", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 100, burst: 5 };
  assert.equal(countAdmitted(limiter, limits, Array(20).fill(T0)), 5);
  const paced = Array.from({ length: 500 }, (_, i) => T0 + 1000 + i * 10);
  assert.equal(countAdmitted(limiter, limits, paced), 500);
});

test("each node enforces rate/k, or the share the rebalancer sets", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 30, burst: 3, shardSize: 3 };
  const times = Array.from({ length: 2000 }, (_, i) => T0 + i * 5);
  const evenShare = countAdmitted(limiter, limits, times);
  assert.ok(Math.abs(evenShare - 100) <= 2, `about 10 req/s for 10 s, got ${evenShare}`);
  limiter.setShare("acme", 0.5);
  const later = times.map((t) => t + 20_000);
  const bigger = countAdmitted(limiter, limits, later);
  assert.ok(Math.abs(bigger - 150) <= 3, `about 15 req/s for 10 s, got ${bigger}`);
  assert.throws(() => limiter.setShare("acme", 0), /share/);
  assert.throws(() => limiter.setShare("acme", 1.5), /share/);
});

test("a rejection is a 429 with Retry-After, RateLimit and RateLimit-Policy", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 2, burst: 4 };
  const first = limiter.admit("acme", limits, T0);
  assert.deepEqual(first, {
    admit: true,
    headers: { ratelimit: '"default";r=3;t=1', "ratelimit-policy": '"default";q=4;w=2' },
  });
  for (let i = 0; i < 3; i++) limiter.admit("acme", limits, T0);
  const denied = limiter.admit("acme", limits, T0);
  assert.equal(isAdmit(denied), false);
  if (isAdmit(denied)) return;
  assert.equal(denied.code, "CORRAL_DP_QUOTA");
  const spec = REQUEST_ERRORS[denied.code];
  assert.deepEqual([spec.status, spec.grpc, spec.reason], [429, 8, "quota"]);
  assert.deepEqual(denied.headers, {
    ratelimit: '"default";r=0;t=2',
    "ratelimit-policy": '"default";q=4;w=2',
    "retry-after": "1",
  });
});

test("shadow mode counts would-be rejections and admits without headers", () => {
  const limiter = new TenantLimiter({ mode: { shadow: true } });
  const limits = { rate: 1, burst: 1 };
  const decisions = [0, 1, 2].map(() => limiter.admit("acme", limits, T0));
  assert.deepEqual(decisions, [
    { admit: true },
    { admit: true, shadowed: ["quota"] },
    { admit: true, shadowed: ["quota"] },
  ]);
  assert.deepEqual(limiter.stats(), { admitted: 1, rejected: 0, shadowRejected: 2 });
  const perTenant = new TenantLimiter();
  perTenant.admit("acme", limits, T0);
  assert.deepEqual(perTenant.admit("acme", { ...limits, shadow: true }, T0), {
    admit: true,
    shadowed: ["quota"],
  });
});

test("the kill switch (fleet-wide or per tenant) turns the limiter off; rate 0 means unlimited", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 1, burst: 1 };
  limiter.admit("acme", limits, T0);
  assert.equal(isAdmit(limiter.admit("acme", limits, T0)), false);
  assert.deepEqual(limiter.admit("acme", { ...limits, disabled: true }, T0), { admit: true });
  limiter.setMode({ disabled: true });
  assert.deepEqual(limiter.admit("acme", limits, T0), { admit: true });
  limiter.setMode({});
  assert.equal(isAdmit(limiter.admit("acme", limits, T0)), false);
  assert.equal(countAdmitted(limiter, { rate: 0, burst: 0 }, Array(1000).fill(T0)), 1000);
});

test("limit changes apply on the next request without minting tokens", () => {
  const limiter = new TenantLimiter();
  assert.equal(countAdmitted(limiter, { rate: 1, burst: 10 }, Array(10).fill(T0)), 10);
  assert.equal(
    countAdmitted(limiter, { rate: 1000, burst: 1000 }, [T0]),
    0,
    "a raised limit does not refill",
  );
  assert.equal(countAdmitted(limiter, { rate: 1000, burst: 1000 }, [T0 + 10]), 1);
});

test("tenants are limited independently; idle full buckets are swept", () => {
  const limiter = new TenantLimiter();
  const limits = { rate: 1, burst: 1 };
  assert.equal(isAdmit(limiter.admit("a", limits, T0)), true);
  assert.equal(isAdmit(limiter.admit("b", limits, T0)), true);
  assert.equal(isAdmit(limiter.admit("a", limits, T0)), false);
  assert.equal(limiter.sweep(T0 + 500), 0);
  assert.equal(limiter.sweep(T0 + 1000), 2);
  assert.equal(limiter.size, 0);
});

test("nonsense limits are refused", () => {
  const limiter = new TenantLimiter();
  assert.throws(() => limiter.admit("a", { rate: -1, burst: 1 }, T0), /rate/);
  assert.throws(() => limiter.admit("a", { rate: 1, burst: Number.NaN }, T0), /burst/);
  assert.throws(() => limiter.admit("a", { rate: 1, burst: 1, shardSize: 0 }, T0), /shard size/);
});

test("routes are limited by the same buckets, keyed by route", () => {
  const limiter = new RouteLimiter();
  const limits = { rate: 5, burst: 2 };
  assert.equal(isAdmit(limiter.admit("r1", limits, T0)), true);
  assert.equal(isAdmit(limiter.admit("r1", limits, T0)), true);
  const denied = limiter.admit("r1", limits, T0);
  assert.equal(isAdmit(denied), false);
  assert.match(isAdmit(denied) ? "" : (denied.detail ?? ""), /route r1/);
  assert.equal(isAdmit(limiter.admit("r2", limits, T0)), true);
});

test("property: admitted requests never exceed sustained capacity + share * rate * elapsed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 400 }),
      (rate, burst, k, gaps) => {
        const limiter = new TenantLimiter();
        const limits = { rate, burst, shardSize: k };
        let now = T0;
        let count = 0;
        for (const gap of gaps) {
          now += gap;
          if (isAdmit(limiter.admit("t", limits, now))) count++;
        }
        const { sustained } = dualBucketSpecs(rate, burst, 1 / k);
        const bound = sustained.capacity + ((rate / k) * (now - T0)) / 1000;
        assert.ok(count <= bound + 1e-6, `${count} > ${bound}`);
      },
    ),
  );
});
